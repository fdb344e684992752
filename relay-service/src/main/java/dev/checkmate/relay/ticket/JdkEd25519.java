package dev.checkmate.relay.ticket;

import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.interfaces.EdECPublicKey;
import java.security.spec.EdECPoint;
import java.security.spec.EdECPublicKeySpec;
import java.security.spec.NamedParameterSpec;

/**
 * {@link Ed25519} on the JDK's {@code Signature.getInstance("Ed25519")} (SunEC). Not used by the
 * relay: it is the independent implementation the known-answer tests check BouncyCastle against,
 * and the baseline the benchmark prints (~8× slower here). Public keys are validated by
 * {@link Ed25519Base}, as for every implementation.
 */
final class JdkEd25519 extends Ed25519Base {
  static final JdkEd25519 INSTANCE = new JdkEd25519();

  private JdkEd25519() {}

  @Override
  protected Signer newSigner(byte[] seed) {
    KeyPair pair = fromSeed(seed);
    PrivateKey key = pair.getPrivate();
    return new KnownKeySigner(encode((EdECPublicKey) pair.getPublic())) {
      @Override
      public byte[] sign(byte[] message, int offset, int length) {
        try {
          Signature s = Signature.getInstance("Ed25519");
          s.initSign(key);
          s.update(message, offset, length);
          return s.sign();
        } catch (GeneralSecurityException e) {
          throw new IllegalStateException("JDK Ed25519 signing failed", e);
        }
      }
    };
  }

  @Override
  protected SignatureCheck newCheck(byte[] pk) {
    PublicKey key = decode(pk);
    return (message, offset, length, signature) -> {
      try {
        Signature s = Signature.getInstance("Ed25519");
        s.initVerify(key);
        s.update(message, offset, length);
        return s.verify(signature);
      } catch (java.security.SignatureException e) {
        return false; // e.g. an unencodable R
      } catch (GeneralSecurityException e) {
        throw new IllegalStateException("JDK Ed25519 verification failed", e);
      }
    };
  }

  @Override
  public String name() {
    return "JDK SunEC";
  }

  /** The JDK derives a key pair only from a SecureRandom: hand it the seed as its "random" bytes. */
  private static KeyPair fromSeed(byte[] seed) {
    SecureRandom fixed = new SecureRandom() {
      @Override
      public void nextBytes(byte[] bytes) {
        if (bytes.length != seed.length) {
          throw new IllegalStateException("unexpected seed request of " + bytes.length + " bytes");
        }
        System.arraycopy(seed, 0, bytes, 0, seed.length);
      }
    };
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("Ed25519");
      g.initialize(NamedParameterSpec.ED25519, fixed);
      return g.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("this JDK lacks Ed25519", e);
    }
  }

  /** RFC 8032 §5.1.2: y little-endian, the x parity in the top bit. */
  static byte[] encode(EdECPublicKey key) {
    EdECPoint p = key.getPoint();
    byte[] be = p.getY().toByteArray();
    byte[] out = new byte[PUBLIC_KEY_BYTES];
    for (int i = 0; i < Math.min(be.length, PUBLIC_KEY_BYTES); i++) {
      out[i] = be[be.length - 1 - i];
    }
    if (p.isXOdd()) {
      out[PUBLIC_KEY_BYTES - 1] |= (byte) 0x80;
    }
    return out;
  }

  private static PublicKey decode(byte[] pk) {
    boolean xOdd = (pk[PUBLIC_KEY_BYTES - 1] & 0x80) != 0;
    byte[] be = new byte[PUBLIC_KEY_BYTES];
    for (int i = 0; i < PUBLIC_KEY_BYTES; i++) {
      be[i] = pk[PUBLIC_KEY_BYTES - 1 - i];
    }
    be[0] &= 0x7f;
    try {
      return KeyFactory.getInstance("Ed25519").generatePublic(
          new EdECPublicKeySpec(NamedParameterSpec.ED25519, new EdECPoint(xOdd, new BigInteger(1, be))));
    } catch (GeneralSecurityException e) {
      throw new IllegalArgumentException("not a valid Ed25519 public key", e);
    }
  }
}
