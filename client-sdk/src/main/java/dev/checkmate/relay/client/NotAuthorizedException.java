package dev.checkmate.relay.client;


/**
 * The caller may not do this (PERMISSION_DENIED), typically {@link RelayClient#createSession}
 * without a valid issuer key against a relay that requires one.
 */
public class NotAuthorizedException extends RelayException {
  private static final long serialVersionUID = 1L;

  NotAuthorizedException(String reason, Throwable cause) {
    super(StatusCode.PERMISSION_DENIED, reason, cause);
  }
}
