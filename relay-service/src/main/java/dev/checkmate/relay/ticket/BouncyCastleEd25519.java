package dev.checkmate.relay.ticket;

/**
 * {@link Ed25519} on BouncyCastle's low-level RFC 8032 code (no JCA provider, no key objects):
 * the public key is derived once per signer, and a verifier's point is decoded once per key, so a
 * signature costs one fixed-base scalar multiplication to make and one double-scalar
 * multiplication to check.
 */
final class BouncyCastleEd25519 extends Ed25519Base {
  static final BouncyCastleEd25519 INSTANCE = new BouncyCastleEd25519();

  private BouncyCastleEd25519() {
    // Builds the fixed-base tables now rather than inside the first signature.
    org.bouncycastle.math.ec.rfc8032.Ed25519.precompute();
  }

  @Override
  protected Signer newSigner(byte[] sk) {
    byte[] pk = new byte[PUBLIC_KEY_BYTES];
    org.bouncycastle.math.ec.rfc8032.Ed25519.generatePublicKey(sk, 0, pk, 0);
    return new KnownKeySigner(pk) {
      @Override
      public byte[] sign(byte[] message, int offset, int length) {
        byte[] sig = new byte[SIGNATURE_BYTES];
        org.bouncycastle.math.ec.rfc8032.Ed25519.sign(sk, 0, pk, 0, message, offset, length, sig, 0);
        return sig;
      }
    };
  }

  @Override
  protected SignatureCheck newCheck(byte[] pk) {
    org.bouncycastle.math.ec.rfc8032.Ed25519.PublicPoint point =
        org.bouncycastle.math.ec.rfc8032.Ed25519.validatePublicKeyFullExport(pk, 0);
    if (point == null) {
      throw new IllegalArgumentException("not a valid Ed25519 public key");
    }
    return (message, offset, length, signature) ->
        org.bouncycastle.math.ec.rfc8032.Ed25519.verify(signature, 0, point, message, offset, length);
  }

  @Override
  public String name() {
    return "BouncyCastle rfc8032";
  }
}
