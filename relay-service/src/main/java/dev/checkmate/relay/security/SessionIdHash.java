package dev.checkmate.relay.security;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * How a session id appears in everything the relay writes about it — logs, audit records, span
 * attributes: the first 8 bytes of its SHA-256, in hex. Session ids are not secret, but they are
 * routing keys and correlate a session across systems; the hash still lets an operator find all
 * records of one session (hash the id they have) without spreading the id itself.
 */
public final class SessionIdHash {
  private SessionIdHash() {}

  public static String of(String sessionId) {
    try {
      byte[] d = MessageDigest.getInstance("SHA-256").digest(sessionId.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(d, 0, 8);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
