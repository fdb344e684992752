package dev.checkmate.relay.telemetry;

import dev.checkmate.relay.proto.v1.EndReason;
import dev.checkmate.relay.proto.v1.Role;

/** The bounded label values of the metric contract (otel/check_configs.py BOUNDED_LABELS). */
final class Labels {
  static final String[] TRANSPORTS = {"grpc", "websocket", "grpc_web"};
  static final String[] OUTCOMES = {"paired", "peer_never_joined", "expired", "idle", "rejected", "terminated", "error", "shutdown"};

  private Labels() {}

  /** Index into {@link #TRANSPORTS}; an unknown transport counts as the last slot + 1 ("other", never exported). */
  static int transport(String transport) {
    if (transport == null) {
      return TRANSPORTS.length;
    }
    return switch (transport) {
      case "grpc" -> 0;
      case "websocket" -> 1;
      case "grpc_web" -> 2;
      default -> TRANSPORTS.length;
    };
  }

  /** How a session ended, as the {@code outcome} label and the {@code relay.session.outcome} span attribute. */
  static String outcome(EndReason reason) {
    return switch (reason) {
      case TERMINATED -> "terminated";
      case PEER_NEVER_JOINED -> "peer_never_joined";
      case IDLE_TIMEOUT -> "idle";
      case LIFETIME_EXCEEDED -> "expired";
      case RELAY_SHUTDOWN -> "shutdown";
      // The relay cut a participant off for breaking a size or rate limit.
      case LIMIT_EXCEEDED -> "rejected";
      default -> "error"; // PROTOCOL_ERROR, and anything unknown
    };
  }

  static String role(Role role) {
    return role == Role.PROVER ? "prover" : role == Role.VERIFIER ? "verifier" : "unspecified";
  }
}
