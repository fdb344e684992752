package dev.checkmate.relay.examples.schnorr;

/** The peer did not send the next protocol message in time. */
final class StepTimeoutException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  StepTimeoutException(String message) {
    super(message);
  }
}
