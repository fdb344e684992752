package dev.checkmate.relay.client;

/**
 * Base of every error the SDK reports: the relay refused or ended something, or the relay could
 * not be reached. Unchecked, like gRPC's own {@code StatusRuntimeException}, so that protocol code
 * written against {@link RelaySession} stays readable; catch the subtypes you can act on.
 *
 * <p>{@link #code()} is the status the relay closed the call with and {@link #reason()} its
 * description (or the SessionEnded message), i.e. the relay's own words on what to do.
 */
public class RelayException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final StatusCode code;
  private final String reason;

  RelayException(StatusCode code, String reason, Throwable cause) {
    super(code + (reason == null || reason.isEmpty() ? "" : ": " + reason), cause);
    this.code = code;
    this.reason = reason == null ? "" : reason;
  }

  /** The status of the relay's answer (gRPC's names); {@code OK} for a session terminated cleanly. */
  public StatusCode code() {
    return code;
  }

  /** The relay's human-readable reason (status description or SessionEnded message); may be empty. */
  public String reason() {
    return reason;
  }
}
