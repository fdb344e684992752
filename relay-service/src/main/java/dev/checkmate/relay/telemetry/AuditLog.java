package dev.checkmate.relay.telemetry;

import java.net.InetAddress;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Structured audit lines on the logger {@code relay.audit}: one per connection attempt, join,
 * rejection, created session and session end. Fields are SLF4J key-value pairs (JSON fields with
 * RELAY_LOG_FORMAT=json). Never a ticket, an API key or a payload: only the session id, bounded
 * labels, the remote address and durations.
 */
final class AuditLog {
  static final Logger LOG = LoggerFactory.getLogger("relay.audit");

  private AuditLog() {}

  static void connection(String transport, InetAddress remote) {
    LOG.atInfo().setMessage("connection")
        .addKeyValue("event", "connection")
        .addKeyValue("transport", transport)
        .addKeyValue("remote", address(remote))
        .log();
  }

  static void joined(String sessionId, String sessionHash, String role, String transport, InetAddress remote) {
    LOG.atInfo().setMessage("join")
        .addKeyValue("event", "join")
        .addKeyValue("session_id", sessionId)
        .addKeyValue("session_hash", sessionHash)
        .addKeyValue("role", role)
        .addKeyValue("transport", transport)
        .addKeyValue("remote", address(remote))
        .log();
  }

  static void rejected(String reason, String operation, String transport, InetAddress remote) {
    LOG.atInfo().setMessage("rejection")
        .addKeyValue("event", "rejection")
        .addKeyValue("reason", reason)
        .addKeyValue("operation", operation)
        .addKeyValue("transport", transport)
        .addKeyValue("remote", address(remote))
        .log();
  }

  static void sessionCreated(String sessionId, String sessionHash, InetAddress remote) {
    LOG.atInfo().setMessage("session_created")
        .addKeyValue("event", "session_created")
        .addKeyValue("session_id", sessionId)
        .addKeyValue("session_hash", sessionHash)
        .addKeyValue("remote", address(remote))
        .log();
  }

  static void sessionEnded(String sessionId, String sessionHash, String outcome, boolean paired, long durationMillis) {
    LOG.atInfo().setMessage("session_end")
        .addKeyValue("event", "session_end")
        .addKeyValue("session_id", sessionId)
        .addKeyValue("session_hash", sessionHash)
        .addKeyValue("outcome", outcome)
        .addKeyValue("paired", paired)
        .addKeyValue("duration_ms", durationMillis)
        .log();
  }

  private static String address(InetAddress remote) {
    return remote == null ? "unknown" : remote.getHostAddress();
  }
}
