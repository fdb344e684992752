package dev.checkmate.relay.client;

import dev.checkmate.relay.client.e2e.E2eException;

/**
 * End-to-end encryption failed (code DATA_LOSS): a handshake message or frame that reached this
 * client was forged, tampered with, replayed, dropped, reordered, or bound to other keys (a wrong
 * pairing secret, or a relay-in-the-middle). {@link #check()} names the check that failed (see
 * docs/e2e-protocol.md §9). The SDK ends the session when it sees this (it sends
 * {@code Terminate("e2e: <check>")}, so the peer ends with this exception too, {@link
 * #reportedByPeer()} true); a new session with new keys is needed.
 *
 * <p>Messages never contain keys, MACs, plaintext or the pairing secret.
 */
public class EndToEndSecurityException extends RelayException {
  private static final long serialVersionUID = 1L;
  /** Prefix of the Terminate reason the SDK sends when end-to-end checks fail. */
  static final String TERMINATE_PREFIX = "e2e: ";

  private final E2eException.Check check;
  private final boolean reportedByPeer;

  EndToEndSecurityException(E2eException.Check check, String reason, boolean reportedByPeer, Throwable cause) {
    super(StatusCode.DATA_LOSS, reason, cause);
    this.check = check;
    this.reportedByPeer = reportedByPeer;
  }

  static EndToEndSecurityException of(E2eException e) {
    return new EndToEndSecurityException(e.check(), e.getMessage(), false, e);
  }

  /** The peer ended the session because its own end-to-end check failed ("e2e: CHECK"). */
  static EndToEndSecurityException fromPeer(String terminateReason) {
    String name = terminateReason.substring(TERMINATE_PREFIX.length()).trim();
    E2eException.Check check;
    try {
      check = E2eException.Check.valueOf(name);
    } catch (IllegalArgumentException e) {
      check = E2eException.Check.MALFORMED;
    }
    return new EndToEndSecurityException(check,
        "the peer ended the session: its end-to-end check " + check + " failed", true, null);
  }

  /** The check that failed. */
  public E2eException.Check check() {
    return check;
  }

  /** True when the peer detected the failure and ended the session; false when this client did. */
  public boolean reportedByPeer() {
    return reportedByPeer;
  }
}
