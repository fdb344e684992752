package dev.checkmate.relay.client;


/**
 * The relay did not accept the ticket (UNAUTHENTICATED): forged, expired, not yet valid, or signed
 * by a key the relay does not know. Retrying with the same ticket will not help; get a new one.
 */
public class TicketRejectedException extends RelayException {
  private static final long serialVersionUID = 1L;

  TicketRejectedException(String reason, Throwable cause) {
    super(StatusCode.UNAUTHENTICATED, reason, cause);
  }
}
