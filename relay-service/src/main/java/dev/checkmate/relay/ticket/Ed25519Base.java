package dev.checkmate.relay.ticket;

/**
 * What every {@link Ed25519} implementation does the same way: argument checks, defensive copies,
 * and public key validation (one rule for all: canonical, on the curve, in the prime-order
 * subgroup, as BouncyCastle's {@code validatePublicKeyFull} decides). Subclasses supply only the
 * signature arithmetic.
 */
abstract class Ed25519Base implements Ed25519 {
  /** Checks a 64-byte signature of a message slice under one key. */
  interface SignatureCheck {
    boolean verify(byte[] message, int offset, int length, byte[] signature);
  }

  /** Signs with {@code seed} (32 bytes, a private copy); the returned signer's publicKey() must be {@code publicKey}. */
  protected abstract Signer newSigner(byte[] seed);

  /** Checks signatures under {@code publicKey} (32 bytes, validated, a private copy). */
  protected abstract SignatureCheck newCheck(byte[] publicKey);

  @Override
  public final Signer signer(byte[] seed) {
    if (seed == null || seed.length != SEED_BYTES) {
      throw new IllegalArgumentException("an Ed25519 private key is " + SEED_BYTES + " bytes");
    }
    return newSigner(seed.clone());
  }

  @Override
  public final Verifier verifier(byte[] publicKey) {
    if (publicKey == null || publicKey.length != PUBLIC_KEY_BYTES) {
      throw new IllegalArgumentException("an Ed25519 public key is " + PUBLIC_KEY_BYTES + " bytes");
    }
    byte[] pk = publicKey.clone();
    if (!org.bouncycastle.math.ec.rfc8032.Ed25519.validatePublicKeyFull(pk, 0)) {
      throw new IllegalArgumentException("not a valid Ed25519 public key (not canonical, not on the curve, or of small order)");
    }
    SignatureCheck check = newCheck(pk);
    return new Verifier() {
      @Override
      public byte[] publicKey() {
        return pk.clone();
      }

      @Override
      public boolean verify(byte[] message, int offset, int length, byte[] signature) {
        return signature != null && signature.length == SIGNATURE_BYTES && check.verify(message, offset, length, signature);
      }
    };
  }

  /** A signer whose public key is known. */
  abstract static class KnownKeySigner implements Signer {
    private final byte[] publicKey;

    KnownKeySigner(byte[] publicKey) {
      this.publicKey = publicKey;
    }

    @Override
    public final byte[] publicKey() {
      return publicKey.clone();
    }

    @Override
    public String toString() {
      return "Ed25519 signer"; // never the key
    }
  }
}
