package dev.checkmate.relay.client.e2e;

import dev.checkmate.relay.client.Role;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Builds {@code testvectors/e2e-v1.json} from fixed inputs with the real implementation.
 * {@link E2eVectorsTest} regenerates and compares; to rewrite the file after a deliberate protocol
 * change run {@code main} with the file path (and bump the protocol version).
 */
final class E2eVectors {
  static final Path FILE = Path.of("..", "testvectors", "e2e-v1.json");

  private E2eVectors() {}

  public static void main(String[] args) throws IOException {
    Path out = args.length > 0 ? Path.of(args[0]) : FILE;
    Files.writeString(out, MiniJson.write(generate()), StandardCharsets.UTF_8);
    System.out.println("wrote " + out.toAbsolutePath().normalize());
  }

  static Map<String, Object> generate() {
    Map<String, Object> root = new LinkedHashMap<>();
    root.put("protocol", "CheckMate-E2E-v1");
    root.put("spec", "docs/e2e-protocol.md");
    root.put("encoding", "byte strings are lowercase hex; session ids are UTF-8 text;"
        + " counters are decimal; 'check' names E2eException.Check");
    root.put("x25519_rfc7748", x25519Vectors());
    root.put("hkdf_sha256_rfc5869", hkdfVectors());
    root.put("handshakes", List.of(
        handshake("with-pairing-secret",
            "Pairing secret from the invitation; private keys are RFC 7748 section 6.1 Alice"
                + " (prover) and Bob (verifier), so shared_secret is the RFC's K.",
            "q3Zt1xS0cVnQm2hJ8rYbLw",
            "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
            "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb",
            "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"),
        handshake("without-pairing-secret",
            "No pairing secret: users compare the SAS. Private keys are"
                + " SHA-256('CheckMate-E2E-v1 test prover') and SHA-256('CheckMate-E2E-v1 test verifier').",
            "Xk9mR2pL7vQwT4nB0sYcZa",
            Hex.encode(Wire.sha256(Wire.ascii("CheckMate-E2E-v1 test prover"))),
            Hex.encode(Wire.sha256(Wire.ascii("CheckMate-E2E-v1 test verifier"))),
            null)));
    return root;
  }

  // ---------------------------------------------------------------- known answers

  private static List<Object> x25519Vectors() {
    List<Object> l = new ArrayList<>();
    l.add(x25519("RFC 7748 section 5.2, vector 1",
        "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
        "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
        "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552"));
    l.add(x25519("RFC 7748 section 5.2, vector 2 (input u has the top bit set: mask it)",
        "4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
        "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
        "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957"));
    String nine = "0900000000000000000000000000000000000000000000000000000000000000";
    l.add(x25519("RFC 7748 section 6.1, Alice's public key",
        "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a", nine,
        "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"));
    l.add(x25519("RFC 7748 section 6.1, Bob's public key",
        "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb", nine,
        "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"));
    l.add(x25519("RFC 7748 section 6.1, shared secret K = X25519(a, Bob's public key)",
        "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
        "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f",
        "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"));
    l.add(x25519("RFC 7748 section 6.1, shared secret K = X25519(b, Alice's public key)",
        "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb",
        "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a",
        "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"));
    Map<String, Object> it1 = new LinkedHashMap<>();
    it1.put("name", "RFC 7748 section 5.2, iterated: k = u = 09 00..00; repeat k, u = X25519(k, u), k");
    it1.put("iterations", 1L);
    it1.put("output", "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079");
    Map<String, Object> it1000 = new LinkedHashMap<>(it1);
    it1000.put("iterations", 1000L);
    it1000.put("output", "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51");
    l.add(it1);
    l.add(it1000);
    return l;
  }

  private static Map<String, Object> x25519(String name, String scalar, String u, String out) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("name", name);
    m.put("scalar", scalar);
    m.put("u", u);
    m.put("output", out);
    return m;
  }

  private static List<Object> hkdfVectors() {
    List<Object> l = new ArrayList<>();
    l.add(hkdf("RFC 5869 A.1 (basic)", "0b".repeat(22), "000102030405060708090a0b0c",
        "f0f1f2f3f4f5f6f7f8f9", 42,
        "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"));
    l.add(hkdf("RFC 5869 A.2 (longer inputs and outputs)", range(0x00, 0x4f), range(0x60, 0xaf),
        range(0xb0, 0xff), 82,
        "06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244",
        "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c"
            + "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71"
            + "cc30c58179ec3e87c14c01d5c1f3434f1d87"));
    l.add(hkdf("RFC 5869 A.3 (zero-length salt and info; salt = 32 zero bytes)", "0b".repeat(22),
        "", "", 42,
        "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04",
        "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"));
    return l;
  }

  private static String range(int from, int to) {
    byte[] b = new byte[to - from + 1];
    for (int i = 0; i < b.length; i++) {
      b[i] = (byte) (from + i);
    }
    return Hex.encode(b);
  }

  private static Map<String, Object> hkdf(String name, String ikm, String salt, String info,
      int len, String prk, String okm) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("name", name);
    m.put("ikm", ikm);
    m.put("salt", salt);
    m.put("info", info);
    m.put("length", (long) len);
    m.put("prk", prk);
    m.put("okm", okm);
    return m;
  }

  // ---------------------------------------------------------------- protocol runs

  /** Frames sent in this order; both sides run the real implementation. */
  private static final Object[][] SCRIPT = {
      {Role.PROVER, "hello verifier"},
      {Role.PROVER, ""},
      {Role.VERIFIER, "{\"challenge\":\"4f2a\",\"nonce\":1}"},
      {Role.PROVER, null}, // 200 bytes 00..c7: several AES blocks
      {Role.VERIFIER, "bye"},
  };

  private static Map<String, Object> handshake(String name, String description, String sessionId,
      String proverKey, String verifierKey, String pairingSecretHex) {
    Optional<byte[]> secret = Optional.ofNullable(pairingSecretHex).map(Hex::decode);
    E2eHandshake p = E2eHandshake.startWithPrivateKey(sessionId, Role.PROVER, secret.map(byte[]::clone),
        Hex.decode(proverKey));
    E2eHandshake v = E2eHandshake.startWithPrivateKey(sessionId, Role.VERIFIER, secret.map(byte[]::clone),
        Hex.decode(verifierKey));
    byte[] pCommit = p.localCommitment();
    byte[] vCommit = v.localCommitment();
    byte[] pHello = p.acceptPeerCommitment(vCommit);
    byte[] vHello = v.acceptPeerCommitment(pCommit);
    E2eHandshake.Completion pc = p.completeWithSchedule(vHello);
    E2eHandshake.Completion vc = v.completeWithSchedule(pHello);
    E2eChannel pch = pc.channel;
    E2eChannel vch = vc.channel;
    byte[] pConfirm = pch.localConfirmation();
    byte[] vConfirm = vch.localConfirmation();
    pch.verifyPeerConfirmation(vConfirm);
    vch.verifyPeerConfirmation(pConfirm);
    KeySchedule ks = pc.schedule;
    if (!Arrays.equals(ks.prk, vc.schedule.prk)
        || !pch.shortAuthenticationString().equals(vch.shortAuthenticationString())) {
      throw new AssertionError("sides disagree");
    }

    Map<String, Object> m = new LinkedHashMap<>();
    m.put("name", name);
    m.put("description", description);
    Map<String, Object> in = new LinkedHashMap<>();
    in.put("session_id", sessionId);
    in.put("pairing_secret", pairingSecretHex);
    in.put("prover_private_key", proverKey);
    in.put("verifier_private_key", verifierKey);
    m.put("inputs", in);

    Map<String, Object> prover = new LinkedHashMap<>();
    prover.put("public_key", Hex.encode(Arrays.copyOfRange(pHello, 4, 36)));
    prover.put("hello", Hex.encode(pHello));
    prover.put("commit", Hex.encode(pCommit));
    prover.put("confirm", Hex.encode(pConfirm));
    Map<String, Object> verifier = new LinkedHashMap<>();
    verifier.put("public_key", Hex.encode(Arrays.copyOfRange(vHello, 4, 36)));
    verifier.put("hello", Hex.encode(vHello));
    verifier.put("commit", Hex.encode(vCommit));
    verifier.put("confirm", Hex.encode(vConfirm));
    m.put("prover", prover);
    m.put("verifier", verifier);

    Map<String, Object> keys = new LinkedHashMap<>();
    keys.put("transcript_hash", Hex.encode(ks.transcriptHash));
    keys.put("shared_secret", Hex.encode(ks.sharedSecret));
    keys.put("hkdf_salt", pairingSecretHex == null ? "00".repeat(32) : pairingSecretHex);
    keys.put("prk", Hex.encode(ks.prk));
    keys.put("key_prover_to_verifier", Hex.encode(ks.keyProverToVerifier));
    keys.put("key_verifier_to_prover", Hex.encode(ks.keyVerifierToProver));
    keys.put("confirm_key_prover", Hex.encode(ks.confirmKeyProver));
    keys.put("confirm_key_verifier", Hex.encode(ks.confirmKeyVerifier));
    keys.put("sas_bytes", Hex.encode(ks.sasBytes));
    keys.put("sas", pch.shortAuthenticationString());
    m.put("derived", keys);

    List<Object> frames = new ArrayList<>();
    List<byte[]> proverFrames = new ArrayList<>();
    long pn = 0;
    long vn = 0;
    for (Object[] step : SCRIPT) {
      Role sender = (Role) step[0];
      byte[] pt = step[1] == null ? Hex.decode(range(0x00, 0xc7))
          : ((String) step[1]).getBytes(StandardCharsets.UTF_8);
      E2eChannel from = sender == Role.PROVER ? pch : vch;
      E2eChannel to = sender == Role.PROVER ? vch : pch;
      long counter = sender == Role.PROVER ? ++pn : ++vn;
      byte[] payload = from.seal(pt);
      if (!Arrays.equals(to.open(payload), pt)) {
        throw new AssertionError("round trip failed");
      }
      if (sender == Role.PROVER) {
        proverFrames.add(payload);
      }
      Map<String, Object> f = new LinkedHashMap<>();
      f.put("sender", sender.name());
      f.put("counter", counter);
      f.put("plaintext", Hex.encode(pt));
      f.put("nonce", Hex.encode(E2eChannel.nonce(counter)));
      f.put("aad", Hex.encode(Wire.concat(Arrays.copyOfRange(payload, 0, 12), ks.transcriptHash)));
      f.put("payload", Hex.encode(payload));
      frames.add(f);
    }
    m.put("frames", frames);
    m.put("rejections", rejections(pCommit, pHello, pConfirm, vConfirm, proverFrames));
    return m;
  }

  /**
   * Messages the VERIFIER must refuse. The verifier runs its handshake from the inputs; the
   * prover's messages are the ones above except those given here; the first replaced message must
   * fail with {@code check}. "data" frames are delivered in order after the handshake.
   */
  private static List<Object> rejections(byte[] commit, byte[] hello, byte[] confirm,
      byte[] verifierConfirm, List<byte[]> frames) {
    List<Object> l = new ArrayList<>();
    l.add(rejection("COMMIT of protocol version 2", "commit", set(commit, 0, 0x02),
        "UNSUPPORTED_VERSION"));
    l.add(rejection("COMMIT claiming the VERIFIER role", "commit", set(commit, 2, 0x02),
        "ROLE_MISMATCH"));
    l.add(rejection("COMMIT with the other pairing mode", "commit", set(commit, 3, commit[3] ^ 1),
        "PAIRING_MODE_MISMATCH"));
    l.add(rejection("COMMIT one byte short", "commit", Arrays.copyOf(commit, 35), "MALFORMED"));
    l.add(rejection("HELLO sent where the COMMIT belongs", "commit", hello, "UNEXPECTED_MESSAGE"));
    l.add(rejection("HELLO that does not match its COMMIT", "hello", set(hello, 4, hello[4] ^ 1),
        "COMMITMENT_MISMATCH"));
    byte[] p = X25519.encodeU(X25519.P);
    byte[] topBit = hello.clone();
    topBit[35] |= (byte) 0x80;
    byte[] zero = new byte[32];
    byte[] one = new byte[32];
    one[0] = 1;
    l.add(committed("HELLO with non-canonical key u = p (COMMIT matches)", hello, p,
        "INVALID_PUBLIC_KEY"));
    l.add(committed("HELLO with the top bit of the key set (COMMIT matches)", hello,
        Arrays.copyOfRange(topBit, 4, 36), "INVALID_PUBLIC_KEY"));
    l.add(committed("HELLO with small-order key u = 0 (COMMIT matches)", hello, zero,
        "INVALID_PUBLIC_KEY"));
    l.add(committed("HELLO with small-order key u = 1 (COMMIT matches)", hello, one,
        "INVALID_PUBLIC_KEY"));
    l.add(rejection("CONFIRM with one MAC bit flipped", "confirm", set(confirm, 35, confirm[35] ^ 1),
        "KEY_CONFIRMATION_FAILED"));
    l.add(rejection("the verifier's own CONFIRM reflected back", "confirm", verifierConfirm,
        "ROLE_MISMATCH"));
    l.add(data("DATA frame 1 with one ciphertext bit flipped", "AUTHENTICATION_FAILED",
        set(frames.get(0), 12, frames.get(0)[12] ^ 1)));
    l.add(data("DATA frame 1 with one tag bit flipped", "AUTHENTICATION_FAILED",
        set(frames.get(0), frames.get(0).length - 1, frames.get(0)[frames.get(0).length - 1] ^ 1)));
    l.add(data("DATA frame 1 with a reserved flag set", "MALFORMED",
        set(frames.get(0), 3, 0x02)));
    l.add(data("DATA frame 1 claiming the VERIFIER as sender", "ROLE_MISMATCH",
        set(frames.get(0), 2, 0x02)));
    l.add(data("DATA frame 1 with its counter rewritten to 2", "COUNTER_MISMATCH",
        set(frames.get(0), 11, 0x02)));
    l.add(data("DATA frame 2 relabelled as counter 1", "AUTHENTICATION_FAILED",
        set(frames.get(1), 11, 0x01)));
    l.add(data("DATA frame 1 truncated below header + tag", "MALFORMED",
        Arrays.copyOf(frames.get(0), 27)));
    l.add(data("DATA frame 1 replayed", "COUNTER_MISMATCH", frames.get(0), frames.get(0)));
    l.add(data("DATA frame 2 dropped", "COUNTER_MISMATCH", frames.get(0), frames.get(2)));
    l.add(data("DATA frames 2 and 3 reordered", "COUNTER_MISMATCH", frames.get(0), frames.get(2),
        frames.get(1)));
    return l;
  }

  private static byte[] set(byte[] msg, int index, int value) {
    byte[] b = msg.clone();
    b[index] = (byte) value;
    return b;
  }

  private static Map<String, Object> rejection(String description, String step, byte[] msg,
      String check) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("description", description);
    m.put("receiver", "VERIFIER");
    m.put(step, Hex.encode(msg));
    m.put("check", check);
    return m;
  }

  /** A HELLO carrying {@code key}, with a COMMIT that matches it. */
  private static Map<String, Object> committed(String description, byte[] hello, byte[] key,
      String check) {
    byte[] h = Wire.concat(Arrays.copyOf(hello, 4), key);
    byte[] c = Wire.concat(new byte[] {hello[0], 0x01, hello[2], hello[3]},
        E2eHandshake.commitmentOf(h));
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("description", description);
    m.put("receiver", "VERIFIER");
    m.put("commit", Hex.encode(c));
    m.put("hello", Hex.encode(h));
    m.put("check", check);
    return m;
  }

  private static Map<String, Object> data(String description, String check, byte[]... frames) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("description", description);
    m.put("receiver", "VERIFIER");
    List<Object> l = new ArrayList<>();
    for (byte[] f : frames) {
      l.add(Hex.encode(f));
    }
    m.put("data", l);
    m.put("check", check);
    return m;
  }
}
