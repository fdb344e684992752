package dev.checkmate.relay.client.e2e;

import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.InvalidKeyException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.interfaces.XECPublicKey;
import java.security.spec.NamedParameterSpec;
import java.security.spec.XECPrivateKeySpec;
import java.security.spec.XECPublicKeySpec;
import javax.crypto.KeyAgreement;

/** RFC 7748 X25519 on the JDK's XDH provider, with RFC 7748 byte encodings (little-endian u). */
final class X25519 {
  static final int KEY_LEN = 32;
  /** p = 2^255 - 19. */
  static final BigInteger P = BigInteger.ONE.shiftLeft(255).subtract(BigInteger.valueOf(19));

  private X25519() {}

  /** A fresh ephemeral key pair from the JDK's default SecureRandom. */
  static KeyPair generate() {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("X25519");
      g.initialize(NamedParameterSpec.X25519, new SecureRandom());
      return g.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("X25519 unavailable", e);
    }
  }

  /** The private key for a raw 32-byte scalar (clamped by the provider, as RFC 7748 says). */
  static PrivateKey privateKey(byte[] scalar) {
    if (scalar.length != KEY_LEN) {
      throw new IllegalArgumentException("X25519 private key must be 32 bytes");
    }
    try {
      return KeyFactory.getInstance("XDH")
          .generatePrivate(new XECPrivateKeySpec(NamedParameterSpec.X25519, scalar.clone()));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("X25519 unavailable", e);
    }
  }

  /** The 32-byte RFC 7748 encoding of a public key. */
  static byte[] encode(PublicKey key) {
    return encodeU(((XECPublicKey) key).getU());
  }

  /** X25519(k, 9): the public key of a private key, by multiplying the base point u = 9. */
  static byte[] publicKey(PrivateKey key) throws InvalidKeyException {
    return agree(key, BigInteger.valueOf(9));
  }

  /**
   * X25519(k, u) for any 32-byte u, decoded as RFC 7748 section 5 says (the top bit is masked,
   * non-canonical values are reduced mod p). Used for known-answer tests; the protocol itself
   * accepts only canonical keys, see {@link #isCanonical(byte[])}.
   */
  static byte[] scalarMult(byte[] scalar, byte[] u) throws InvalidKeyException {
    return agree(privateKey(scalar), decodeU(u));
  }

  /** The shared secret of {@code key} and the peer's encoded public key. */
  static byte[] agree(PrivateKey key, byte[] peerPublic) throws InvalidKeyException {
    return agree(key, decodeU(peerPublic));
  }

  /** True when {@code u} is 32 bytes, has the top bit clear and is below p. */
  static boolean isCanonical(byte[] u) {
    return u.length == KEY_LEN && (u[31] & 0x80) == 0 && decodeU(u).compareTo(P) < 0;
  }

  private static byte[] agree(PrivateKey key, BigInteger u) throws InvalidKeyException {
    try {
      PublicKey peer = KeyFactory.getInstance("XDH")
          .generatePublic(new XECPublicKeySpec(NamedParameterSpec.X25519, u.mod(P)));
      KeyAgreement ka = KeyAgreement.getInstance("XDH");
      ka.init(key);
      ka.doPhase(peer, true);
      byte[] secret = ka.generateSecret();
      int acc = 0;
      for (byte b : secret) {
        acc |= b;
      }
      if (acc == 0) {
        // RFC 7748 section 6.1: an all-zero output means a small-order peer key.
        throw new InvalidKeyException("Point has small order");
      }
      return secret;
    } catch (InvalidKeyException e) {
      throw e;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("X25519 unavailable", e);
    }
  }

  static BigInteger decodeU(byte[] u) {
    if (u.length != KEY_LEN) {
      throw new IllegalArgumentException("X25519 u-coordinate must be 32 bytes");
    }
    byte[] be = new byte[KEY_LEN];
    for (int i = 0; i < KEY_LEN; i++) {
      be[i] = u[KEY_LEN - 1 - i];
    }
    be[0] &= 0x7f;
    return new BigInteger(1, be);
  }

  static byte[] encodeU(BigInteger u) {
    byte[] be = u.toByteArray();
    byte[] le = new byte[KEY_LEN];
    for (int i = 0; i < KEY_LEN && i < be.length; i++) {
      le[i] = be[be.length - 1 - i];
    }
    return le;
  }
}
