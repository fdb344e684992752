package dev.checkmate.relay.client.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import dev.checkmate.relay.client.Role;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The published vectors (testvectors/e2e-v1.json) are exactly what the implementation produces. */
class E2eVectorsTest {
  private static Map<String, Object> file;

  @BeforeAll
  @SuppressWarnings("unchecked")
  static void load() throws Exception {
    assertThat(E2eVectors.FILE).as("run tests from the client-sdk module directory").exists();
    file = (Map<String, Object>) MiniJson.parse(Files.readString(E2eVectors.FILE, StandardCharsets.UTF_8));
  }

  @Test
  void fileEqualsRegeneratedVectors() {
    Object regenerated = MiniJson.parse(MiniJson.write(E2eVectors.generate()));
    // Field by field first, for a readable diff...
    for (Map.Entry<String, Object> e : ((Map<String, Object>) regenerated).entrySet()) {
      assertThat(file.get(e.getKey())).as("vectors field %s", e.getKey()).isEqualTo(e.getValue());
    }
    // ...then the whole tree (no extra fields in the file).
    assertThat((Object) file).isEqualTo(regenerated);
  }

  @Test
  void everyHandshakeReplaysFromItsInputsOnly() {
    for (Map<String, Object> hs : list(file.get("handshakes"))) {
      Map<String, Object> in = map(hs.get("inputs"));
      Map<String, Object> prover = map(hs.get("prover"));
      Map<String, Object> verifier = map(hs.get("verifier"));
      Map<String, Object> derived = map(hs.get("derived"));
      String sid = (String) in.get("session_id");
      Optional<byte[]> secret = Optional.ofNullable((String) in.get("pairing_secret")).map(Hex::decode);

      E2eHandshake p = E2eHandshake.startWithPrivateKey(sid, Role.PROVER, secret,
          hex(in, "prover_private_key"));
      E2eHandshake v = E2eHandshake.startWithPrivateKey(sid, Role.VERIFIER, secret,
          hex(in, "verifier_private_key"));
      assertThat(p.localCommitment()).isEqualTo(hex(prover, "commit"));
      assertThat(v.localCommitment()).isEqualTo(hex(verifier, "commit"));
      assertThat(p.acceptPeerCommitment(hex(verifier, "commit"))).isEqualTo(hex(prover, "hello"));
      assertThat(v.acceptPeerCommitment(hex(prover, "commit"))).isEqualTo(hex(verifier, "hello"));
      E2eChannel pch = p.complete(hex(verifier, "hello"));
      E2eChannel vch = v.complete(hex(prover, "hello"));
      assertThat(pch.transcriptHash()).isEqualTo(hex(derived, "transcript_hash"));
      assertThat(pch.localConfirmation()).isEqualTo(hex(prover, "confirm"));
      assertThat(vch.localConfirmation()).isEqualTo(hex(verifier, "confirm"));
      pch.verifyPeerConfirmation(hex(verifier, "confirm"));
      vch.verifyPeerConfirmation(hex(prover, "confirm"));
      assertThat(pch.shortAuthenticationString()).isEqualTo(derived.get("sas"))
          .isEqualTo(vch.shortAuthenticationString());

      for (Map<String, Object> f : list(hs.get("frames"))) {
        boolean fromProver = "PROVER".equals(f.get("sender"));
        byte[] pt = hex(f, "plaintext");
        byte[] payload = hex(f, "payload");
        assertThat((fromProver ? pch : vch).seal(pt)).isEqualTo(payload);
        assertThat((fromProver ? vch : pch).open(payload)).isEqualTo(pt);
        // The layout in the spec, checked with raw AES-GCM: payload = header || ct || tag.
        byte[] key = hex(derived, fromProver ? "key_prover_to_verifier" : "key_verifier_to_prover");
        assertThat(rawGcmOpen(key, hex(f, "nonce"), hex(f, "aad"), payload)).isEqualTo(pt);
        assertThat(java.util.Arrays.copyOfRange(hex(f, "aad"), 0, 12))
            .isEqualTo(java.util.Arrays.copyOfRange(payload, 0, 12));
      }
    }
  }

  @Test
  void derivedValuesFollowTheSpecifiedKeySchedule() throws Exception {
    for (Map<String, Object> hs : list(file.get("handshakes"))) {
      Map<String, Object> in = map(hs.get("inputs"));
      Map<String, Object> d = map(hs.get("derived"));
      byte[] sid = ((String) in.get("session_id")).getBytes(StandardCharsets.UTF_8);
      byte[] ph = hex(map(hs.get("prover")), "hello");
      byte[] vh = hex(map(hs.get("verifier")), "hello");
      // Independent recomputation from the spec's formulas.
      byte[] th = Wire.sha256("CheckMate-E2E-v1 transcript".getBytes(StandardCharsets.US_ASCII),
          new byte[] {(byte) (sid.length >> 8), (byte) sid.length}, sid, ph, vh);
      assertThat(th).isEqualTo(hex(d, "transcript_hash"));
      byte[] shared = X25519.scalarMult(hex(in, "prover_private_key"), java.util.Arrays.copyOfRange(vh, 4, 36));
      assertThat(shared).isEqualTo(hex(d, "shared_secret"));
      byte[] prk = Hkdf.hmac(hex(d, "hkdf_salt"), shared);
      assertThat(prk).isEqualTo(hex(d, "prk"));
      assertThat(expand(prk, "key prover to verifier", th, 32)).isEqualTo(hex(d, "key_prover_to_verifier"));
      assertThat(expand(prk, "key verifier to prover", th, 32)).isEqualTo(hex(d, "key_verifier_to_prover"));
      assertThat(expand(prk, "confirm prover", th, 32)).isEqualTo(hex(d, "confirm_key_prover"));
      assertThat(expand(prk, "confirm verifier", th, 32)).isEqualTo(hex(d, "confirm_key_verifier"));
      byte[] sas = expand(prk, "sas", th, 4);
      assertThat(sas).isEqualTo(hex(d, "sas_bytes"));
      long n = ((sas[0] & 0xffL) << 24) | ((sas[1] & 0xffL) << 16) | ((sas[2] & 0xffL) << 8) | (sas[3] & 0xffL);
      assertThat(d.get("sas")).isEqualTo(String.format("%06d", n % 1_000_000));
      byte[] label = "CheckMate-E2E-v1 confirm".getBytes(StandardCharsets.US_ASCII);
      assertThat(java.util.Arrays.copyOfRange(hex(map(hs.get("prover")), "confirm"), 4, 36))
          .isEqualTo(Hkdf.hmac(hex(d, "confirm_key_prover"), label, th));
      assertThat(java.util.Arrays.copyOfRange(hex(map(hs.get("verifier")), "confirm"), 4, 36))
          .isEqualTo(Hkdf.hmac(hex(d, "confirm_key_verifier"), label, th));
      byte[] commitLabel = "CheckMate-E2E-v1 commit".getBytes(StandardCharsets.US_ASCII);
      assertThat(java.util.Arrays.copyOfRange(hex(map(hs.get("prover")), "commit"), 4, 36))
          .isEqualTo(Wire.sha256(commitLabel, ph));
    }
  }

  @Test
  void rejectionsFailWithTheNamedCheck() {
    for (Map<String, Object> hs : list(file.get("handshakes"))) {
      Map<String, Object> in = map(hs.get("inputs"));
      Map<String, Object> prover = map(hs.get("prover"));
      for (Map<String, Object> r : list(hs.get("rejections"))) {
        assertThat(r.get("receiver")).isEqualTo("VERIFIER");
        Optional<byte[]> secret = Optional.ofNullable((String) in.get("pairing_secret")).map(Hex::decode);
        E2eHandshake v = E2eHandshake.startWithPrivateKey((String) in.get("session_id"),
            Role.VERIFIER, secret, hex(in, "verifier_private_key"));
        String check = (String) r.get("check");
        String what = hs.get("name") + ": " + r.get("description");
        try {
          v.acceptPeerCommitment(hex(r.containsKey("commit") ? r : prover, "commit"));
          E2eChannel ch = v.complete(hex(r.containsKey("hello") ? r : prover, "hello"));
          ch.localConfirmation();
          ch.verifyPeerConfirmation(hex(r.containsKey("confirm") ? r : prover, "confirm"));
          for (Object frame : r.containsKey("data") ? (List<?>) r.get("data") : List.of()) {
            ch.open(Hex.decode((String) frame));
          }
          fail("not rejected: " + what);
        } catch (E2eException e) {
          assertThat(e.check().name()).as(what + " (" + e.getMessage() + ")").isEqualTo(check);
        }
      }
    }
  }

  @Test
  void rejectionsOfDataLeaveTheChannelFailed() {
    Map<String, Object> hs = list(file.get("handshakes")).get(0);
    Map<String, Object> in = map(hs.get("inputs"));
    Map<String, Object> prover = map(hs.get("prover"));
    E2eHandshake v = E2eHandshake.startWithPrivateKey((String) in.get("session_id"), Role.VERIFIER,
        Optional.of(hex(in, "pairing_secret")), hex(in, "verifier_private_key"));
    v.acceptPeerCommitment(hex(prover, "commit"));
    E2eChannel ch = v.complete(hex(prover, "hello"));
    ch.verifyPeerConfirmation(hex(prover, "confirm"));
    List<Map<String, Object>> frames = list(hs.get("frames"));
    byte[] first = hex(frames.get(0), "payload");
    byte[] tampered = first.clone();
    tampered[20] ^= 0x40;
    assertThatThrownBy(() -> ch.open(tampered)).isInstanceOf(E2eException.class);
    // The genuine frame no longer helps: a tampered stream ends the session.
    assertThatThrownBy(() -> ch.open(first))
        .isInstanceOfSatisfying(E2eException.class, e -> assertThat(e.check()).isEqualTo(E2eException.Check.CLOSED));
  }

  private static byte[] rawGcmOpen(byte[] key, byte[] nonce, byte[] aad, byte[] payload) {
    try {
      Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
      c.init(Cipher.DECRYPT_MODE, new SecretKeySpec(key, "AES"), new GCMParameterSpec(128, nonce));
      c.updateAAD(aad);
      return c.doFinal(payload, 12, payload.length - 12);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  private static byte[] expand(byte[] prk, String label, byte[] th, int len) {
    return Hkdf.expand(prk, Wire.concat(("CheckMate-E2E-v1 " + label).getBytes(StandardCharsets.US_ASCII), th), len);
  }

  static byte[] hex(Map<String, Object> m, String key) {
    Object v = m.get(key);
    assertThat(v).as("vector field %s", key).isInstanceOf(String.class);
    return Hex.decode((String) v);
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> map(Object o) {
    return (Map<String, Object>) o;
  }

  @SuppressWarnings("unchecked")
  static List<Map<String, Object>> list(Object o) {
    return (List<Map<String, Object>>) o;
  }

  static Map<String, Object> vectors() throws Exception {
    if (file == null) {
      load();
    }
    return file;
  }
}
