package dev.checkmate.relay.ticket;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.math.BigInteger;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The Ed25519 seam against RFC 8032 §7.1's known answers, for every implementation (the relay's
 * BouncyCastle and the JDK's, which are independent code), plus what a verifier must refuse.
 */
class Ed25519Test {
  private static final HexFormat HEX = HexFormat.of();
  /** The order of the prime-order subgroup, L = 2^252 + 27742317777372353535851937790883648493. */
  private static final BigInteger L = BigInteger.TWO.pow(252).add(new BigInteger("27742317777372353535851937790883648493"));

  record Vector(String name, String secretKey, String publicKey, String message, String signature) {}

  /** RFC 8032 §7.1 TEST 1, 2, 3, 1024 (message below) and SHA(abc). */
  static final List<Vector> RFC8032 = List.of(
      new Vector("TEST 1",
          "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
          "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
          "",
          "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"),
      new Vector("TEST 2",
          "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
          "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
          "72",
          "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"),
      new Vector("TEST 3",
          "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
          "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
          "af82",
          "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"),
      new Vector("TEST 1024",
          "f5e5767cf153319517630f226876b86c8160cc583bc013744c6bf255f5cc0ee5",
          "278117fc144c72340f67d0f2316e8386ceffbf2b2428c9c51fef7c597f1d426e",
          Rfc8032Test1024.MESSAGE,
          "0aab4c900501b3e24d7cdf4663326a3a87df5e4843b2cbdb67cbf6e460fec350aa5371b1508f9f4528ecea23c436d94b5e8fcd4f681e30a6ac00a9704a188a03"),
      new Vector("TEST SHA(abc)",
          "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
          "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
          "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
          "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704"));

  static Stream<Ed25519> implementations() {
    return Stream.of(Ed25519.bouncyCastle(), Ed25519.jdk());
  }

  static Stream<org.junit.jupiter.params.provider.Arguments> vectors() {
    return implementations().flatMap(impl -> RFC8032.stream().map(v -> org.junit.jupiter.params.provider.Arguments.of(impl.name(), impl, v)));
  }

  @ParameterizedTest(name = "{0}: {2}")
  @MethodSource("vectors")
  void signsAndVerifiesExactlyAsRfc8032Says(String name, Ed25519 impl, Vector v) {
    byte[] sk = HEX.parseHex(v.secretKey());
    byte[] pk = HEX.parseHex(v.publicKey());
    byte[] msg = HEX.parseHex(v.message());
    byte[] sig = HEX.parseHex(v.signature());
    Ed25519.Signer signer = impl.signer(sk);
    assertThat(signer.publicKey()).isEqualTo(pk);
    assertThat(signer.sign(msg, 0, msg.length)).isEqualTo(sig);
    assertThat(impl.verifier(pk).verify(msg, 0, msg.length, sig)).isTrue();
  }

  @ParameterizedTest(name = "{0}: {2}")
  @MethodSource("vectors")
  void refusesEveryTamperedSignatureMessageAndKey(String name, Ed25519 impl, Vector v) {
    byte[] pk = HEX.parseHex(v.publicKey());
    byte[] msg = HEX.parseHex(v.message());
    byte[] sig = HEX.parseHex(v.signature());
    Ed25519.Verifier verifier = impl.verifier(pk);
    for (int i = 0; i < sig.length; i++) {
      byte[] bad = sig.clone();
      bad[i] ^= (byte) (1 << (i % 8));
      assertThat(verifier.verify(msg, 0, msg.length, bad)).as("signature bit flipped in byte %d", i).isFalse();
    }
    if (msg.length > 0) {
      byte[] bad = msg.clone();
      bad[bad.length - 1] ^= 1;
      assertThat(verifier.verify(bad, 0, bad.length, sig)).as("message changed").isFalse();
    }
    byte[] longer = Arrays.copyOf(msg, msg.length + 1);
    assertThat(verifier.verify(longer, 0, longer.length, sig)).as("message extended").isFalse();
    Vector other = RFC8032.get((RFC8032.indexOf(v) + 1) % RFC8032.size());
    assertThat(impl.verifier(HEX.parseHex(other.publicKey())).verify(msg, 0, msg.length, sig)).as("another key").isFalse();
    assertThat(verifier.verify(msg, 0, msg.length, Arrays.copyOf(sig, 63))).as("short signature").isFalse();
    assertThat(verifier.verify(msg, 0, msg.length, Arrays.copyOf(sig, 65))).as("long signature").isFalse();
    assertThat(verifier.verify(msg, 0, msg.length, null)).as("no signature").isFalse();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("implementations")
  void refusesAMalleatedSignatureWhoseScalarIsNotReduced(Ed25519 impl) {
    // S + L verifies under the group law but is not the canonical encoding (RFC 8032 §5.1.7 step 1).
    Vector v = RFC8032.get(1);
    byte[] sig = HEX.parseHex(v.signature());
    byte[] s = Arrays.copyOfRange(sig, 32, 64);
    BigInteger bumped = littleEndian(s).add(L);
    assertThat(bumped.bitLength()).isLessThanOrEqualTo(256);
    byte[] malleated = sig.clone();
    System.arraycopy(toLittleEndian(bumped), 0, malleated, 32, 32);
    byte[] msg = HEX.parseHex(v.message());
    assertThat(impl.verifier(HEX.parseHex(v.publicKey())).verify(msg, 0, msg.length, malleated)).isFalse();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("implementations")
  void refusesSmallOrderAndMalformedPublicKeys(Ed25519 impl) {
    List<String> bad = List.of(
        "0100000000000000000000000000000000000000000000000000000000000000", // the identity: any (R = SB, S) would verify
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // order 2
        "0000000000000000000000000000000000000000000000000000000000000080", // order 4
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05", // order 8
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"); // y = p: not canonical
    for (String hex : bad) {
      assertThatThrownBy(() -> impl.verifier(HEX.parseHex(hex))).as(hex).isInstanceOf(IllegalArgumentException.class);
    }
    assertThatThrownBy(() -> impl.verifier(new byte[31])).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> impl.signer(new byte[33])).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> impl.signer(null)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void implementationsAgreeOnRandomKeysAndMessagesAtAnyOffset() {
    SecureRandom random = new SecureRandom();
    for (int i = 0; i < 50; i++) {
      byte[] seed = new byte[32];
      random.nextBytes(seed);
      byte[] buf = new byte[random.nextInt(600) + 8];
      random.nextBytes(buf);
      int off = random.nextInt(8);
      int len = buf.length - off - random.nextInt(buf.length - off);
      Ed25519.Signer bc = Ed25519.bouncyCastle().signer(seed);
      Ed25519.Signer jdk = Ed25519.jdk().signer(seed);
      assertThat(bc.publicKey()).isEqualTo(jdk.publicKey());
      byte[] sig = bc.sign(buf, off, len);
      assertThat(jdk.sign(buf, off, len)).isEqualTo(sig); // deterministic: the same bytes
      assertThat(Ed25519.jdk().verifier(bc.publicKey()).verify(buf, off, len, sig)).isTrue();
      assertThat(Ed25519.bouncyCastle().verifier(jdk.publicKey()).verify(Arrays.copyOfRange(buf, off, off + len), 0, len, sig)).isTrue();
    }
  }

  @Test
  void theSha512OfAbcVectorReallyIsTheHashOfAbc() throws Exception {
    // Guards the transcription of the SHA(abc) vector's message.
    assertThat(HEX.formatHex(MessageDigest.getInstance("SHA-512").digest("abc".getBytes(java.nio.charset.StandardCharsets.US_ASCII))))
        .isEqualTo(RFC8032.get(4).message());
  }

  private static BigInteger littleEndian(byte[] le) {
    byte[] be = new byte[le.length];
    for (int i = 0; i < le.length; i++) {
      be[i] = le[le.length - 1 - i];
    }
    return new BigInteger(1, be);
  }

  private static byte[] toLittleEndian(BigInteger v) {
    byte[] be = v.toByteArray();
    byte[] le = new byte[32];
    for (int i = 0; i < Math.min(32, be.length); i++) {
      le[i] = be[be.length - 1 - i];
    }
    return le;
  }
}
