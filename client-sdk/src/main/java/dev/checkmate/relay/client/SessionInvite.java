package dev.checkmate.relay.client;

import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * A freshly created session: its id and one join ticket per role. Hand each ticket to its
 * participant over a channel you trust; whoever holds a ticket can join as its role.
 *
 * @param sessionId unguessable routing id (not a secret)
 * @param proverTicket secret join ticket for the {@link Role#PROVER}
 * @param verifierTicket secret join ticket for the {@link Role#VERIFIER}
 * @param expiresAt when the session and both tickets expire
 * @param endpoints where participants connect, e.g. {@code relay.example.com:443}
 * @param limits the limits the relay enforces on this session
 */
public record SessionInvite(
    String sessionId,
    String proverTicket,
    String verifierTicket,
    Instant expiresAt,
    List<String> endpoints,
    RelayLimits limits) {

  /** Copies {@code endpoints} so the invite stays immutable. */
  public SessionInvite {
    Objects.requireNonNull(sessionId, "sessionId");
    Objects.requireNonNull(proverTicket, "proverTicket");
    Objects.requireNonNull(verifierTicket, "verifierTicket");
    endpoints = List.copyOf(endpoints);
  }

  /** The ticket of {@code role}. */
  public String ticket(Role role) {
    return role == Role.PROVER ? proverTicket : verifierTicket;
  }

  /** Leaves the tickets out: they are secrets and must not end up in logs. */
  @Override
  public String toString() {
    return "SessionInvite{sessionId=" + sessionId + ", expiresAt=" + expiresAt
        + ", endpoints=" + endpoints + ", limits=" + limits + "}";
  }
}
