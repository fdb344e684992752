package dev.checkmate.relay.ticket;

import dev.checkmate.relay.proto.v1.Role;
import java.time.Instant;

/**
 * A verified join ticket: the relay trusts these fields only after checking the signature.
 *
 * @param sessionId the session the ticket admits to
 * @param role the one role it admits as
 * @param ticketId unique id ({@code jti}); a reconnect presenting the same id replaces the live stream
 * @param expiresAt the session's end of life
 * @param token the compact JWS as presented (a bearer secret: never log it); null when the ticket
 *     did not come from {@link TicketVerifier}
 * @param sessionKey the session key its tickets share (claim {@code sk}, 32 bytes; a secret), or
 *     null for tickets without one. Relay nodes use it to prove to each other that they hold a
 *     ticket of the session and to seal a ticket for the one node it is meant for (cluster mode).
 */
public record Ticket(String sessionId, Role role, String ticketId, Instant expiresAt, String token, byte[] sessionKey) {
  /** A ticket known only by its fields (tests, and sessions a node only remembers). */
  public Ticket(String sessionId, Role role, String ticketId, Instant expiresAt) {
    this(sessionId, role, ticketId, expiresAt, null, null);
  }

  /** Never prints the token or the session key. */
  @Override
  public String toString() {
    return "Ticket[sessionId=" + sessionId + ", role=" + role + ", expiresAt=" + expiresAt + "]";
  }
}
