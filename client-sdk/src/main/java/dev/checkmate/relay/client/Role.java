package dev.checkmate.relay.client;

/** The two participants of a relay session. A ticket names exactly one of them. */
public enum Role {
  /** The participant that proves a statement. */
  PROVER,
  /** The participant that checks the proof. */
  VERIFIER;

  static Role fromProto(dev.checkmate.relay.proto.v1.Role role) {
    switch (role) {
      case PROVER:
        return PROVER;
      case VERIFIER:
        return VERIFIER;
      default:
        // ROLE_UNSPECIFIED (timers) or a value from a newer relay: there is no participant to name.
        return null;
    }
  }
}
