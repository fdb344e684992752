package dev.checkmate.relay.client;

/**
 * Why the relay ended a session; mirrors {@code relay.v1.EndReason}. Carried by
 * {@link SessionEndedException#endReason()}.
 */
public enum EndReason {
  /** A participant ended the session; see {@link SessionEndedException#endedBy()} and the reason text. */
  TERMINATED,
  /** The join deadline passed without both participants present. */
  PEER_NEVER_JOINED,
  /** No frame in either direction for the relay's idle timeout. */
  IDLE_TIMEOUT,
  /** The session reached its maximum lifetime (its tickets' expiry). */
  LIFETIME_EXCEEDED,
  /** The relay is draining; create a new session or reconnect elsewhere. */
  RELAY_SHUTDOWN,
  /** A participant broke a size or rate limit. */
  LIMIT_EXCEEDED,
  /** A participant sent something the protocol forbids. */
  PROTOCOL_ERROR,
  /** The relay ended the session for a reason this SDK version does not know, or the session
   *  ended without telling why (e.g. FAILED_PRECONDITION on join: the session had already ended). */
  UNKNOWN;

  static EndReason fromProto(dev.checkmate.relay.proto.v1.EndReason reason) {
    switch (reason) {
      case TERMINATED:
        return TERMINATED;
      case PEER_NEVER_JOINED:
        return PEER_NEVER_JOINED;
      case IDLE_TIMEOUT:
        return IDLE_TIMEOUT;
      case LIFETIME_EXCEEDED:
        return LIFETIME_EXCEEDED;
      case RELAY_SHUTDOWN:
        return RELAY_SHUTDOWN;
      case LIMIT_EXCEEDED:
        return LIMIT_EXCEEDED;
      case PROTOCOL_ERROR:
        return PROTOCOL_ERROR;
      default:
        return UNKNOWN;
    }
  }
}
