package dev.checkmate.relay.cluster;

import com.google.protobuf.ByteString;
import dev.checkmate.relay.proto.cluster.v1.SealedTicket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import javax.crypto.Cipher;
import javax.crypto.Mac;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * What a session's key (the {@code sk} claim its tickets share) lets relay nodes do, with standard
 * JDK primitives only: prove to each other that they hold a ticket of the session (HMAC-SHA256
 * over the statement), and seal a ticket for the one node and binding it is sent to (AES-256-GCM,
 * the statement as additional data). The two keys are derived with HKDF-Expand (RFC 5869; the
 * session key is already uniformly random, so it is the pseudorandom key) under distinct labels.
 * Statements are encoded unambiguously (each field length-prefixed).
 *
 * <p>A node that holds no ticket of a session cannot produce a proof for it, cannot open a ticket
 * sealed for it, and learns nothing from either.
 */
final class SessionKeys {
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final int TAG_BITS = 128;

  private final SecretKeySpec proofKey;
  private final SecretKeySpec sealKey;

  private SessionKeys(byte[] sessionKey) {
    this.proofKey = new SecretKeySpec(expand(sessionKey, "checkmate-relay cluster v1 proof"), "HmacSHA256");
    this.sealKey = new SecretKeySpec(expand(sessionKey, "checkmate-relay cluster v1 seal"), "AES");
  }

  /** Keys for a session, or null for a ticket without a session key. */
  static SessionKeys of(byte[] sessionKey) {
    return sessionKey == null || sessionKey.length != 32 ? null : new SessionKeys(sessionKey);
  }

  /** HMAC-SHA256 of the statement. */
  byte[] proof(String... statement) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(proofKey);
      return mac.doFinal(encode(statement));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Constant-time check of a proof. */
  boolean verify(ByteString proof, String... statement) {
    return proof.size() == 32 && MessageDigest.isEqual(proof.toByteArray(), proof(statement));
  }

  /** Seals a ticket: only a holder of the session's key, with the same statement, can open it. */
  SealedTicket seal(String ticket, String... statement) {
    byte[] iv = new byte[12];
    RANDOM.nextBytes(iv);
    try {
      Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
      c.init(Cipher.ENCRYPT_MODE, sealKey, new GCMParameterSpec(TAG_BITS, iv));
      c.updateAAD(encode(statement));
      byte[] ct = c.doFinal(ticket.getBytes(StandardCharsets.UTF_8));
      return SealedTicket.newBuilder().setIv(ByteString.copyFrom(iv)).setCiphertext(ByteString.copyFrom(ct)).build();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The ticket, or null if the sealed ticket is missing, forged, or sealed for another statement or session. */
  String open(SealedTicket sealed, String... statement) {
    if (sealed.getIv().size() != 12 || sealed.getCiphertext().size() < 16 || sealed.getCiphertext().size() > 8192) {
      return null;
    }
    try {
      Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
      c.init(Cipher.DECRYPT_MODE, sealKey, new GCMParameterSpec(TAG_BITS, sealed.getIv().toByteArray()));
      c.updateAAD(encode(statement));
      return new String(c.doFinal(sealed.getCiphertext().toByteArray()), StandardCharsets.UTF_8);
    } catch (GeneralSecurityException e) {
      return null;
    }
  }

  /** HKDF-Expand with a single output block: T(1) = HMAC(prk, info || 0x01). */
  private static byte[] expand(byte[] prk, String info) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(prk, "HmacSHA256"));
      mac.update(info.getBytes(StandardCharsets.UTF_8));
      mac.update((byte) 1);
      return mac.doFinal();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  private static byte[] encode(String... fields) {
    byte[][] parts = new byte[fields.length][];
    int n = 0;
    for (int i = 0; i < fields.length; i++) {
      parts[i] = fields[i].getBytes(StandardCharsets.UTF_8);
      n += 4 + parts[i].length;
    }
    ByteBuffer b = ByteBuffer.allocate(n);
    for (byte[] p : parts) {
      b.putInt(p.length).put(p);
    }
    return b.array();
  }

  static byte[] random(int bytes) {
    byte[] b = new byte[bytes];
    RANDOM.nextBytes(b);
    return b;
  }

  /** Bytes as a statement field. */
  static String hex(ByteString b) {
    return java.util.HexFormat.of().formatHex(b.toByteArray());
  }

  static String hex(byte[] b) {
    return java.util.HexFormat.of().formatHex(b);
  }
}
