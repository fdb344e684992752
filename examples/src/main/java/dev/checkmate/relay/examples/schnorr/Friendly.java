package dev.checkmate.relay.examples.schnorr;

import dev.checkmate.relay.client.LimitExceededException;
import dev.checkmate.relay.client.NotAuthorizedException;
import dev.checkmate.relay.client.RelayException;
import dev.checkmate.relay.client.RelayUnavailableException;
import dev.checkmate.relay.client.RoleTakenException;
import dev.checkmate.relay.client.SessionEndedException;
import dev.checkmate.relay.client.TicketRejectedException;

/** Turns the SDK's typed exceptions into one line a person can act on. */
final class Friendly {
  /** Exit code for relay and connection errors (0 verified, 1 rejected, 2 usage). */
  static final int RELAY_ERROR = 3;

  private Friendly() {}

  static String describe(RelayException e, String relay) {
    String why = e.reason().isEmpty() ? "" : " (" + e.reason() + ")";
    if (e instanceof TicketRejectedException) {
      return "the relay rejected the ticket: it is invalid, expired, or from another relay" + why;
    }
    if (e instanceof RoleTakenException) {
      return "someone else is already connected with this role" + why;
    }
    if (e instanceof SessionEndedException) {
      SessionEndedException ended = (SessionEndedException) e;
      return "the session has ended: " + ended.endReason()
          + (ended.endedBy() == null ? "" : " by the " + ended.endedBy().name().toLowerCase())
          + why;
    }
    if (e instanceof NotAuthorizedException) {
      return "the relay does not allow this client to create sessions; pass --issuer-key" + why;
    }
    if (e instanceof LimitExceededException) {
      return "a relay limit was hit" + why;
    }
    if (e instanceof RelayUnavailableException) {
      return "cannot reach the relay at " + relay + "; is it running, and is TLS set up right?" + why;
    }
    return "relay error " + e.code() + why;
  }
}
