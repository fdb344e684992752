package dev.checkmate.relay.error;

/** A refusal the relay reports to a client: one {@link RelayError} plus a message a person can act on. */
public final class RelayException extends Exception {
  private final RelayError error;

  public RelayException(RelayError error, String message) {
    super(message, null, false, false);
    this.error = error;
  }

  public RelayError error() {
    return error;
  }
}
