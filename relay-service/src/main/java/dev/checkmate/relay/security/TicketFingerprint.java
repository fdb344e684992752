package dev.checkmate.relay.security;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * What logs may say about a ticket: the first 8 hex digits of its SHA-256. Enough to correlate log
 * lines of one ticket; useless for joining (a ticket is a bearer secret and is never logged).
 */
public final class TicketFingerprint {
  private TicketFingerprint() {}

  public static String of(String ticket) {
    if (ticket == null || ticket.isEmpty()) {
      return "none";
    }
    try {
      byte[] d = MessageDigest.getInstance("SHA-256").digest(ticket.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(d, 0, 4);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
