package dev.checkmate.relay.client;


/**
 * Another live stream already holds this ticket's role (ALREADY_EXISTS). Only the very same ticket
 * may take a role over (a reconnect); a different ticket for the same role is refused.
 */
public class RoleTakenException extends RelayException {
  private static final long serialVersionUID = 1L;

  RoleTakenException(String reason, Throwable cause) {
    super(StatusCode.ALREADY_EXISTS, reason, cause);
  }
}
