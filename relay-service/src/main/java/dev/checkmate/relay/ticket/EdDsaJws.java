package dev.checkmate.relay.ticket;

import io.jsonwebtoken.security.InvalidKeyException;
import io.jsonwebtoken.security.SecureDigestAlgorithm;
import io.jsonwebtoken.security.SecureRequest;
import io.jsonwebtoken.security.SignatureException;
import io.jsonwebtoken.security.VerifySecureDigestRequest;
import java.io.IOException;
import java.io.InputStream;
import java.security.PrivateKey;
import java.security.PublicKey;

/**
 * JWS algorithm {@code EdDSA} (RFC 8037, Ed25519 only) for jjwt, computed through the
 * {@link Ed25519} seam. jjwt keeps everything else: compact serialization, header and claims,
 * base64url, expiry/not-before/audience/issuer checks. Only the signature primitive changes.
 *
 * <p>jjwt hands keys around as {@link java.security.Key}s; {@link SigningHandle} and
 * {@link VerifyingHandle} carry a seam {@link Ed25519.Signer}/{@link Ed25519.Verifier}, whose
 * per-key work (public key derivation, point decoding and validation) was done once at load.
 * Any other key type is refused.
 */
final class EdDsaJws implements SecureDigestAlgorithm<PrivateKey, PublicKey> {
  /** The JWS {@code alg} header value of Ed25519 signatures (RFC 8037 §3.1). */
  static final String ID = "EdDSA";
  static final EdDsaJws INSTANCE = new EdDsaJws();

  private EdDsaJws() {}

  @Override
  public String getId() {
    return ID;
  }

  @Override
  public byte[] digest(SecureRequest<InputStream, PrivateKey> request) {
    if (!(request.getKey() instanceof SigningHandle key)) {
      throw new InvalidKeyException("EdDSA tickets are signed with an Ed25519 seam key only");
    }
    byte[] input = readAll(request.getPayload());
    return key.signer.sign(input, 0, input.length);
  }

  @Override
  public boolean verify(VerifySecureDigestRequest<PublicKey> request) {
    if (!(request.getKey() instanceof VerifyingHandle key)) {
      throw new InvalidKeyException("EdDSA tickets are verified with an Ed25519 seam key only");
    }
    byte[] input = readAll(request.getPayload());
    return key.verifier.verify(input, 0, input.length, request.getDigest());
  }

  private static byte[] readAll(InputStream in) {
    try {
      return in.readAllBytes();
    } catch (IOException e) {
      throw new SignatureException("cannot read the JWS signing input", e);
    }
  }

  /** A signing key as jjwt sees it. Not exportable: no encoding, and toString never shows the key. */
  static final class SigningHandle implements PrivateKey {
    private static final long serialVersionUID = 1L;
    final transient Ed25519.Signer signer;

    SigningHandle(Ed25519.Signer signer) {
      this.signer = signer;
    }

    @Override
    public String getAlgorithm() {
      return "Ed25519";
    }

    @Override
    public String getFormat() {
      return null;
    }

    @Override
    public byte[] getEncoded() {
      return null;
    }

    @Override
    public String toString() {
      return "Ed25519 signing key";
    }
  }

  /** A verification key as jjwt sees it (its X.509 encoding is the standard one, RFC 8410). */
  static final class VerifyingHandle implements PublicKey {
    private static final long serialVersionUID = 1L;
    private static final byte[] X509_PREFIX = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};
    final transient Ed25519.Verifier verifier;

    VerifyingHandle(Ed25519.Verifier verifier) {
      this.verifier = verifier;
    }

    @Override
    public String getAlgorithm() {
      return "Ed25519";
    }

    @Override
    public String getFormat() {
      return "X.509";
    }

    @Override
    public byte[] getEncoded() {
      byte[] raw = verifier.publicKey();
      byte[] out = new byte[X509_PREFIX.length + raw.length];
      System.arraycopy(X509_PREFIX, 0, out, 0, X509_PREFIX.length);
      System.arraycopy(raw, 0, out, X509_PREFIX.length, raw.length);
      return out;
    }
  }
}
