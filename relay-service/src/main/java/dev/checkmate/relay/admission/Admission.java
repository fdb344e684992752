package dev.checkmate.relay.admission;

import dev.checkmate.relay.error.RelayError;
import dev.checkmate.relay.error.RelayException;
import dev.checkmate.relay.proto.v1.Role;
import dev.checkmate.relay.security.AddressLimits;
import dev.checkmate.relay.security.KeyedRateLimit;
import dev.checkmate.relay.session.Participant;
import dev.checkmate.relay.session.Seat;
import dev.checkmate.relay.session.SessionHub;
import dev.checkmate.relay.ticket.Ticket;
import dev.checkmate.relay.ticket.TicketVerifier;
import java.net.InetAddress;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The one way into the relay for anything that presents a ticket or a stream: every transport
 * (gRPC Connect, WebSocket, gRPC-Web Receive on both ports), TerminateSession, the gRPC-Web Send
 * token check and the cluster home's check of binds and terminates from other relay nodes
 * ({@link #verifyFromNode}) go through here, in this order:
 *
 * <ol>
 *   <li><b>open</b>: a stream permit for the client address ({@code --max-streams-per-address})
 *       and the stream's telemetry (connection gauge, audit);
 *   <li><b>verify</b>: the client address's join-attempt budget
 *       ({@code --max-join-attempts-per-second}) <em>before</em> any signature work, then the
 *       ticket (signature, audience, expiry, routed session, expected role);
 *   <li><b>join</b>: the hub seats the ticket's holder (inside the {@code relay.join} span);
 *   <li><b>reject</b>: one counting rule — a refusal is counted once, by whoever raised it (the
 *       hub counts its own; this class counts the rest) — and the stream's telemetry hears it;
 *   <li><b>release</b>: the permit and the telemetry, exactly once, whatever ended the stream.
 * </ol>
 */
public final class Admission {
  private final SessionHub hub;
  private final TicketVerifier verifier;
  private final AddressLimits limits;
  private final ScheduledExecutorService scheduler;
  private final KeyedRateLimit<String> nodeChecks;

  public Admission(SessionHub hub, TicketVerifier verifier, AddressLimits limits, ScheduledExecutorService scheduler) {
    this(hub, verifier, limits, scheduler, 0);
  }

  /**
   * @param nodeChecksPerSecond ticket checks per second (burst: one second's worth) the cluster
   *     home does for one other relay node; 0 = unlimited
   */
  public Admission(SessionHub hub, TicketVerifier verifier, AddressLimits limits, ScheduledExecutorService scheduler,
      int nodeChecksPerSecond) {
    this.hub = hub;
    this.verifier = verifier;
    this.limits = limits;
    this.scheduler = scheduler;
    this.nodeChecks = new KeyedRateLimit<>(nodeChecksPerSecond, nodeChecksPerSecond, 10_000);
  }

  /**
   * The cluster home's check of a ticket another relay node presents for {@code sessionId} (a bind
   * or a terminate): the sending node's budget first, before any signature work, then the same
   * verifier as a local join, and the session the request is for. "Not ended" and the role rule
   * are the hub's, as for a local join. Refusals are counted.
   *
   * @param node the node that sent it (authenticated by NATS: only that node may publish on the
   *     subject it came on)
   */
  public Ticket verifyFromNode(String node, String ticket, String sessionId) throws RelayException {
    try {
      if (!nodeChecks.tryTake(node)) {
        throw new RelayException(RelayError.JOIN_RATE_LIMITED, "the session's home node is refusing ticket checks from relay node "
            + node + " (over its budget); retry shortly");
      }
      Ticket t = verifier.verify(ticket, sessionId, Role.ROLE_UNSPECIFIED);
      if (!t.sessionId().equals(sessionId)) {
        throw new RelayException(RelayError.MALFORMED, "ticket is for another session");
      }
      return t;
    } catch (RelayException e) {
      hub.stats().rejected(e.error());
      throw e;
    }
  }

  /**
   * Opens a participant stream from {@code address}: takes a stream permit and starts its
   * telemetry. A refusal (too many streams from the address) is counted and reported to the
   * stream's telemetry; the caller closes the stream with the exception's status.
   */
  public Entry open(String transport, InetAddress address) throws RelayException {
    Entry entry = new Entry(transport, address, hub.listener().connectionOpened(transport, address));
    if (!limits.tryOpenStream(address)) {
      RelayException e = new RelayException(RelayError.TOO_MANY_STREAMS, "too many open streams from this address (limit "
          + limits.streamLimit() + "); close idle sessions or spread clients");
      entry.refused(e, true);
      entry.release();
      throw e;
    }
    entry.permitHeld.set(true);
    return entry;
  }

  /**
   * Checks a ticket presented outside a stream (TerminateSession): the address's join-attempt
   * budget first, then the ticket. Refusals are counted.
   */
  public Ticket verify(InetAddress address, String ticket, String routedSessionId, Role expectedRole) throws RelayException {
    try {
      return verifyUncounted(address, ticket, routedSessionId, expectedRole);
    } catch (RelayException e) {
      hub.stats().rejected(e.error());
      throw e;
    }
  }

  /**
   * Charges a failed look-up of a bearer token that is not a ticket (a gRPC-Web send token) to
   * the client's join-attempt budget, so guessing floods are refused like forged tickets. Returns
   * the refusal to report: RATE_LIMITED past the budget, else {@code otherwise}. Counted.
   */
  public RelayException failedTokenLookup(InetAddress address, RelayException otherwise) {
    RelayException e = limits.tryJoinAttempt(address) ? otherwise : joinRateLimited();
    hub.stats().rejected(e.error());
    return e;
  }

  private Ticket verifyUncounted(InetAddress address, String ticket, String routedSessionId, Role expectedRole)
      throws RelayException {
    if (!limits.tryJoinAttempt(address)) {
      throw joinRateLimited();
    }
    return verifier.verify(ticket, routedSessionId, expectedRole);
  }

  private static RelayException joinRateLimited() {
    return new RelayException(RelayError.JOIN_RATE_LIMITED,
        "too many join attempts from this address; retry in a second");
  }

  public SessionHub hub() {
    return hub;
  }

  public AddressLimits limits() {
    return limits;
  }

  public ScheduledExecutorService scheduler() {
    return scheduler;
  }

  /** One admitted participant stream: its permit, its telemetry and its refusal, each released once. */
  public final class Entry {
    private final String transport;
    private final InetAddress address;
    private final SessionHub.HubListener.Connection telemetry;
    private final AtomicBoolean permitHeld = new AtomicBoolean();
    private final AtomicBoolean released = new AtomicBoolean();
    private final AtomicBoolean refused = new AtomicBoolean();

    private Entry(String transport, InetAddress address, SessionHub.HubListener.Connection telemetry) {
      this.transport = transport;
      this.address = address;
      this.telemetry = telemetry;
    }

    /**
     * Verifies the ticket (join-attempt budget first) and seats its holder through the hub, inside
     * the stream's join span. A refusal is counted and reported once; the caller closes the stream
     * with the exception's status.
     */
    public Seat join(String ticket, String routedSessionId, Role expectedRole, long incarnation, Participant participant,
        java.util.function.Consumer<Ticket> beforeSeat) throws RelayException {
      boolean[] fromHub = {false};
      try {
        return telemetry.join(() -> {
          // The incarnation is the presenting client's (Join.incarnation), not part of the ticket.
          Ticket verified = verifyUncounted(address, ticket, routedSessionId, expectedRole).withIncarnation(incarnation);
          beforeSeat.accept(verified);
          fromHub[0] = true;
          return hub.join(verified, participant);
        });
      } catch (RelayException e) {
        refused(e, !fromHub[0]);
        throw e;
      }
    }

    /** A refusal raised by the transport itself (malformed first message, hello timeout, ...). Counted once. */
    public void reject(RelayError error) {
      refused(new RelayException(error, ""), true);
    }

    private void refused(RelayException e, boolean count) {
      if (refused.compareAndSet(false, true)) {
        if (count) {
          hub.stats().rejected(e.error());
        }
        telemetry.rejected(e.error());
      }
    }

    /** Gives back the stream permit and ends the stream's telemetry. Idempotent. */
    public void release() {
      if (released.compareAndSet(false, true)) {
        if (permitHeld.compareAndSet(true, false)) {
          limits.closeStream(address);
        }
        telemetry.closed();
      }
    }

    public InetAddress address() {
      return address;
    }

    public String transport() {
      return transport;
    }
  }
}
