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
 * @param incarnation not part of the signed ticket: the presenting client's {@code Join.incarnation}
 *     (0 if it sent none), which tells a restarted participant from a resumed one
 */
public record Ticket(String sessionId, Role role, String ticketId, Instant expiresAt, String token, byte[] sessionKey,
    long incarnation) {
  /** A ticket known only by its fields (tests, and sessions a node only remembers). */
  public Ticket(String sessionId, Role role, String ticketId, Instant expiresAt) {
    this(sessionId, role, ticketId, expiresAt, null, null, 0);
  }

  /** A verified ticket as the verifier returns it, before any client presented it. */
  public Ticket(String sessionId, Role role, String ticketId, Instant expiresAt, String token, byte[] sessionKey) {
    this(sessionId, role, ticketId, expiresAt, token, sessionKey, 0);
  }

  /** This ticket as presented by the client incarnation {@code incarnation}. */
  public Ticket withIncarnation(long incarnation) {
    return new Ticket(sessionId, role, ticketId, expiresAt, token, sessionKey, incarnation);
  }

  /** Never prints the token or the session key. */
  @Override
  public String toString() {
    return "Ticket[sessionId=" + sessionId + ", role=" + role + ", expiresAt=" + expiresAt + ", incarnation="
        + incarnation + "]";
  }
}
