package dev.checkmate.relay.ticket;

/**
 * The Ed25519 signature primitive (RFC 8032, pure Ed25519), and nothing else: no key formats, no
 * JWS. Everything that signs or verifies with Ed25519 goes through this seam, so the
 * implementation can change in one place and is held to the RFC's known answers
 * ({@code Ed25519Test} runs them against every implementation).
 *
 * <p>Keys are raw RFC 8032 encodings: a 32-byte private key (the seed) and a 32-byte public key.
 * A {@link Signer} and a {@link Verifier} do their per-key work once (public key derivation,
 * point decompression and validation), so each signature costs only the signature. Both are
 * immutable and thread-safe.
 *
 * <pre>{@code
 * Ed25519.Signer signer = Ed25519.standard().signer(seed);
 * byte[] sig = signer.sign(message, 0, message.length);
 * boolean ok = Ed25519.standard().verifier(signer.publicKey()).verify(message, 0, message.length, sig);
 * }</pre>
 */
public interface Ed25519 {
  int SEED_BYTES = 32;
  int PUBLIC_KEY_BYTES = 32;
  int SIGNATURE_BYTES = 64;

  /** Signs with one private key. */
  interface Signer {
    /** The 32-byte public key of this signer. */
    byte[] publicKey();

    /** The 64-byte signature of {@code message[offset, offset + length)}. */
    byte[] sign(byte[] message, int offset, int length);
  }

  /** Verifies signatures of one public key. */
  interface Verifier {
    /** The 32-byte public key this verifier checks against. */
    byte[] publicKey();

    /**
     * True only if {@code signature} is a valid, canonical RFC 8032 signature of
     * {@code message[offset, offset + length)} under this key. Never throws for bad input:
     * a signature of the wrong length, or with S ≥ L, or an unencodable R, is simply false.
     */
    boolean verify(byte[] message, int offset, int length, byte[] signature);
  }

  /**
   * A signer for a 32-byte RFC 8032 private key.
   *
   * @throws IllegalArgumentException if {@code seed} is not 32 bytes
   */
  Signer signer(byte[] seed);

  /**
   * A verifier for a 32-byte RFC 8032 public key. The key is validated once, here: it must be a
   * canonical encoding of a point on the curve of the prime-order subgroup, not of small order.
   *
   * @throws IllegalArgumentException if it is not such a key
   */
  Verifier verifier(byte[] publicKey);

  /** A short name of the implementation, for benchmark output. */
  String name();

  /** The implementation the relay uses: BouncyCastle's {@code org.bouncycastle.math.ec.rfc8032.Ed25519}. */
  static Ed25519 standard() {
    return BouncyCastleEd25519.INSTANCE;
  }

  /** BouncyCastle's RFC 8032 code (about 8× faster than the JDK's here). */
  static Ed25519 bouncyCastle() {
    return BouncyCastleEd25519.INSTANCE;
  }

  /** The JDK's {@code Signature.getInstance("Ed25519")}: the reference the others are tested against, and a benchmark baseline. */
  static Ed25519 jdk() {
    return JdkEd25519.INSTANCE;
  }
}
