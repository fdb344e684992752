package dev.checkmate.relay.client.e2e;

import static dev.checkmate.relay.client.e2e.E2eVectorsTest.hex;
import static dev.checkmate.relay.client.e2e.E2eVectorsTest.list;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.security.InvalidKeyException;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** RFC 7748 (X25519) and RFC 5869 (HKDF-SHA256) known answers, read from the published vectors. */
class E2eKnownAnswerTest {

  @Test
  void x25519MatchesRfc7748() throws Exception {
    int checked = 0;
    for (Map<String, Object> v : list(E2eVectorsTest.vectors().get("x25519_rfc7748"))) {
      if (v.containsKey("iterations")) {
        byte[] k = new byte[32];
        k[0] = 9;
        byte[] u = k.clone();
        long n = (Long) v.get("iterations");
        for (long i = 0; i < n; i++) {
          byte[] r = X25519.scalarMult(k, u);
          u = k;
          k = r;
        }
        assertThat(Hex.encode(k)).as((String) v.get("name") + " x" + n).isEqualTo(v.get("output"));
      } else {
        assertThat(X25519.scalarMult(hex(v, "scalar"), hex(v, "u")))
            .as((String) v.get("name")).isEqualTo(hex(v, "output"));
      }
      checked++;
    }
    assertThat(checked).isEqualTo(8);
  }

  @Test
  void x25519RejectsSmallOrderPoints() {
    byte[] scalar = new byte[32];
    scalar[0] = 0x42;
    byte[] zero = new byte[32];
    byte[] one = new byte[32];
    one[0] = 1;
    assertThatThrownBy(() -> X25519.scalarMult(scalar, zero)).isInstanceOf(InvalidKeyException.class);
    assertThatThrownBy(() -> X25519.scalarMult(scalar, one)).isInstanceOf(InvalidKeyException.class);
  }

  @Test
  void x25519CanonicalCheck() {
    byte[] p = X25519.encodeU(X25519.P);
    assertThat(Hex.encode(p)).isEqualTo("ed" + "ff".repeat(30) + "7f");
    assertThat(X25519.isCanonical(p)).isFalse();
    byte[] pMinus1 = p.clone();
    pMinus1[0] = (byte) 0xec;
    assertThat(X25519.isCanonical(pMinus1)).isTrue();
    byte[] top = new byte[32];
    top[31] = (byte) 0x80;
    assertThat(X25519.isCanonical(top)).isFalse();
  }

  @Test
  void hkdfMatchesRfc5869() throws Exception {
    int checked = 0;
    for (Map<String, Object> v : list(E2eVectorsTest.vectors().get("hkdf_sha256_rfc5869"))) {
      byte[] prk = Hkdf.extract(hex(v, "salt"), hex(v, "ikm"));
      assertThat(prk).as((String) v.get("name") + " PRK").isEqualTo(hex(v, "prk"));
      int len = ((Long) v.get("length")).intValue();
      assertThat(Hkdf.expand(prk, hex(v, "info"), len)).as((String) v.get("name") + " OKM")
          .isEqualTo(hex(v, "okm"));
      assertThat(Hkdf.derive(hex(v, "salt"), hex(v, "ikm"), hex(v, "info"), len)).isEqualTo(hex(v, "okm"));
      checked++;
    }
    assertThat(checked).isEqualTo(3);
  }

  @Test
  void hkdfRfcConstantsAreTheRfcs() {
    // Guard against a regenerated file silently changing the RFC answers.
    assertThat(Hex.encode(Hkdf.extract(Hex.decode("000102030405060708090a0b0c"), Hex.decode("0b".repeat(22)))))
        .isEqualTo("077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5");
    assertThat(Hex.encode(Hkdf.derive(new byte[0], Hex.decode("0b".repeat(22)), new byte[0], 42)))
        .isEqualTo("8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");
    assertThatThrownBy(() -> Hkdf.expand(new byte[32], new byte[0], 255 * 32 + 1))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
