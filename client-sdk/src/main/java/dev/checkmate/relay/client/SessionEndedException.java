package dev.checkmate.relay.client;


/**
 * The session is over. Either the relay announced the end (SessionEnded: {@link #endReason()},
 * {@link #endedBy()} and the relay's message in {@link #reason()}; for {@link
 * EndReason#TERMINATED} the reason is the text the terminating participant gave), or a join was
 * refused with FAILED_PRECONDITION because the session had already ended ({@link
 * EndReason#UNKNOWN}). Tickets of an ended session are dead; create a new session.
 */
public class SessionEndedException extends RelayException {
  private static final long serialVersionUID = 1L;

  private final EndReason endReason;
  private final Role endedBy;

  SessionEndedException(
      StatusCode code, EndReason endReason, Role endedBy, String reason, Throwable cause) {
    super(code, reason, cause);
    this.endReason = endReason;
    this.endedBy = endedBy;
  }

  /** Why the session ended. */
  public EndReason endReason() {
    return endReason;
  }

  /**
   * Who ended it, for {@link EndReason#TERMINATED}, {@link EndReason#LIMIT_EXCEEDED} and {@link
   * EndReason#PROTOCOL_ERROR}; {@code null} when a timer or the relay ended it.
   */
  public Role endedBy() {
    return endedBy;
  }

  @Override
  public String getMessage() {
    return "session ended: " + endReason + (endedBy == null ? "" : " by " + endedBy)
        + (reason().isEmpty() ? "" : " (" + reason() + ")") + " [" + code() + "]";
  }
}
