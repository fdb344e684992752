package dev.checkmate.relay.cluster;

import dev.checkmate.relay.proto.v1.Role;

/** NATS subjects of the relay cluster; everything lives under {@code relay.v1.>}. */
final class Subjects {
  static final String ROOT = "relay.v1.";

  private Subjects() {}

  static String home(String sessionId) {
    return ROOT + "home." + sessionId;
  }

  static String up(String sessionId, Role role) {
    return ROOT + "s." + sessionId + "." + roleName(role) + ".up";
  }

  static String down(String sessionId, Role role) {
    return ROOT + "s." + sessionId + "." + roleName(role) + ".down";
  }

  static String roleName(Role role) {
    return role == Role.PROVER ? "prover" : "verifier";
  }

  /** Session ids are base64url (A-Z a-z 0-9 - _): one valid NATS token, no wildcards or dots. */
  static boolean validSessionId(String sessionId) {
    return !sessionId.isEmpty() && sessionId.length() <= 128 && sessionId.matches("[A-Za-z0-9_-]+");
  }
}
