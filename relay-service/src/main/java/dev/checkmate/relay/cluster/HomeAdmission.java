package dev.checkmate.relay.cluster;

import dev.checkmate.relay.proto.v1.Role;
import dev.checkmate.relay.session.RelayError;
import dev.checkmate.relay.session.RelayException;
import dev.checkmate.relay.ticket.Ticket;
import dev.checkmate.relay.ticket.TicketVerifier;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The home's ticket check for what other nodes send it (binds and terminates): a per-node budget
 * of checks per second taken before any signature work, then the same {@link TicketVerifier} a
 * local join uses (signature, key id, audience, issuer, expiry and not-before), plus the session the
 * request is for. "Not ended" and the role rule are the hub's, as for a local join. The one method
 * {@link #verify} is everything the home believes about a ticket from another node.
 */
final class HomeAdmission {
  /** Past this many tracked nodes the buckets start afresh (bounded memory; nodes are few). */
  private static final int MAX_TRACKED_NODES = 10_000;

  private final TicketVerifier verifier;
  private final double perSecond;
  private final ConcurrentHashMap<String, Bucket> buckets = new ConcurrentHashMap<>();

  private static final class Bucket {
    double tokens;
    long lastNanos;
  }

  HomeAdmission(TicketVerifier verifier, int checksPerNodePerSecond) {
    this.verifier = verifier;
    this.perSecond = checksPerNodePerSecond;
  }

  /**
   * Verifies a ticket another node presents for {@code sessionId}.
   *
   * @param node the node that sent it (authenticated by NATS: only that node may publish on the
   *     subject it came on)
   * @throws RelayException RATE_LIMITED past the node's budget; the verifier's refusals; MALFORMED
   *     for a valid ticket of another session
   */
  Ticket verify(String node, String ticket, String sessionId) throws RelayException {
    if (!tryTake(node)) {
      throw new RelayException(RelayError.RATE_LIMITED,
          "the session's home node is refusing ticket checks from relay node " + node + " (over its budget); retry shortly");
    }
    Ticket t = verifier.verify(ticket, sessionId, Role.ROLE_UNSPECIFIED);
    if (!t.sessionId().equals(sessionId)) {
      throw new RelayException(RelayError.MALFORMED, "ticket is for another session");
    }
    return t;
  }

  /** Token bucket per node: {@code perSecond} refill, one second's worth of burst. */
  private boolean tryTake(String node) {
    if (buckets.size() > MAX_TRACKED_NODES) {
      buckets.clear();
    }
    long now = System.nanoTime();
    boolean[] ok = {false};
    buckets.compute(node, (n, b) -> {
      if (b == null) {
        b = new Bucket();
        b.tokens = perSecond;
        b.lastNanos = now;
      }
      b.tokens = Math.min(perSecond, b.tokens + (now - b.lastNanos) * perSecond / 1e9);
      b.lastNanos = now;
      if (b.tokens >= 1) {
        b.tokens -= 1;
        ok[0] = true;
      }
      return b;
    });
    return ok[0];
  }
}
