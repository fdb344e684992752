package dev.checkmate.relay.client;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads the session id out of a join ticket, only to route the stream (gRPC metadata {@code
 * x-session-id}, used by Envoy's consistent hashing). The signature is not checked here: the relay
 * verifies every ticket, and a client has no key to verify it with anyway.
 */
final class Tickets {
  // Session ids are base64url, so a plain JSON string without escapes is all we need to match.
  private static final Pattern SID = Pattern.compile("\"sid\"\\s*:\\s*\"([A-Za-z0-9_\\-]+)\"");

  private Tickets() {}

  /** The {@code sid} claim, or empty when the ticket is not a readable JWT (the relay will say why). */
  static Optional<String> sessionId(String ticket) {
    if (ticket == null) {
      return Optional.empty();
    }
    String[] parts = ticket.split("\\.", -1);
    if (parts.length != 3) {
      return Optional.empty();
    }
    try {
      String payload =
          new String(Base64.getUrlDecoder().decode(stripPadding(parts[1])), StandardCharsets.UTF_8);
      Matcher m = SID.matcher(payload);
      return m.find() ? Optional.of(m.group(1)) : Optional.empty();
    } catch (IllegalArgumentException e) {
      return Optional.empty();
    }
  }

  private static String stripPadding(String s) {
    int end = s.length();
    while (end > 0 && s.charAt(end - 1) == '=') {
      end--;
    }
    return s.substring(0, end);
  }
}
