package dev.checkmate.relay.client;


/**
 * The relay could not be reached or is shutting down (UNAVAILABLE): connection refused, TLS
 * handshake failed (e.g. an untrusted certificate), or the relay is draining. Reconnecting, possibly
 * to another relay, may help.
 */
public class RelayUnavailableException extends RelayException {
  private static final long serialVersionUID = 1L;

  RelayUnavailableException(String reason, Throwable cause) {
    super(StatusCode.UNAVAILABLE, reason, cause);
  }
}
