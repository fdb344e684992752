package dev.checkmate.relay.client;


/**
 * A relay limit refused the call (RESOURCE_EXHAUSTED) before any session end was announced, e.g.
 * too many streams from this address. A session that ends because a participant broke a frame
 * size or rate limit is reported as {@link SessionEndedException} with {@link
 * EndReason#LIMIT_EXCEEDED}, since it carries who broke it.
 */
public class LimitExceededException extends RelayException {
  private static final long serialVersionUID = 1L;

  LimitExceededException(String reason, Throwable cause) {
    super(StatusCode.RESOURCE_EXHAUSTED, reason, cause);
  }
}
