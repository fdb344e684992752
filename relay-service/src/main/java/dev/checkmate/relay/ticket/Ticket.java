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
 */
public record Ticket(String sessionId, Role role, String ticketId, Instant expiresAt) {}
