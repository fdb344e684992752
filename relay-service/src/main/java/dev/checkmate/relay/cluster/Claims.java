package dev.checkmate.relay.cluster;

import com.google.protobuf.ByteString;
import dev.checkmate.relay.proto.cluster.v1.Claim;
import dev.checkmate.relay.proto.cluster.v1.ClaimStatus;
import dev.checkmate.relay.proto.cluster.v1.NodeMessage;
import dev.checkmate.relay.session.SessionHub;
import io.grpc.Status;
import io.nats.client.Subscription;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The sessions this node is home for, and the claim rule that makes exactly one node home.
 *
 * <p>A node claims home when a lookup found nobody (or while its NATS link is down: local-first).
 * It subscribes to the session's home subject, announces a {@link Claim} there (with a proof that
 * it holds a ticket of the session), again after {@code settle}, and after {@code 2 × settle} of
 * link-up time the claim is <b>settled</b>: final. Every node that holds a claim for the session
 * answers a valid claim privately with its own ({@link ClaimStatus}); the receiver applies
 * <b>the claim rule</b> — a settled claim beats an unsettled one, between two unsettled claims the
 * smaller node id wins, two settled claims never yield — and the loser hands its participants over
 * to the winner. No wall clock is compared: settle is measured on each node's monotonic clock, and
 * the tie-break is the node id, so clock skew between nodes changes nothing (docs/cluster.md).
 *
 * <p>After the link comes up (first connection, or back after an outage) the other nodes may not
 * be subscribed again yet: a lookup then finds nobody although a home exists, and a claim
 * announced now is heard by nobody. So an unsettled claim is announced again every
 * {@code settle} until it settles, and it settles only once the link has also been up for
 * {@code reconnectSettle} ({@code clusterDeadAfter}): a node that is not back by then is treated
 * like a dead one. (Settling 2 × settle after a NATS outage made two settled homes of one session
 * when its home reconnected a moment later than the node its peer rejoined on: both waited for a
 * peer until the join deadline. The soak found it.)
 */
final class Claims {
  private static final Logger log = LoggerFactory.getLogger(Claims.class);

  /** A session this node is home for (or remembers as ended): answers lookups, binds and claims. */
  static final class Home {
    final String sessionId;
    final SessionKeys keys;
    final ByteString nonce = ByteString.copyFrom(SessionKeys.random(16));
    volatile Subscription subscription;
    volatile boolean settled;
    /** Remembered as ended: lookups are answered ENDED so its tickets stay dead. */
    volatile boolean ended;
    /** Participants seated while the claim was not settled: the ones a hand-over moves. */
    final List<ClusterSeat> provisional = new CopyOnWriteArrayList<>();
    /** Claim statuses of other nodes this node already answered (a race ends in one exchange). */
    final Set<ByteString> answered = ConcurrentHashMap.newKeySet();
    // guarded by this
    /** Lost the claim: seating and yielding never interleave. */
    boolean yielded;
    /** Announcement round: a link loss starts a new one, so an old round never settles the claim. */
    int round;

    Home(String sessionId, SessionKeys keys) {
      this.sessionId = sessionId;
      this.keys = keys;
    }
  }

  private final ClusterLink link;
  private final SessionHub hub;
  private final ScheduledExecutorService timers;
  private final Duration settle;
  private final Duration reconnectSettle;
  private final String me;
  private final Map<String, Home> homes = new ConcurrentHashMap<>();
  private final LongAdder lost = new LongAdder();

  Claims(ClusterLink link, SessionHub hub, ScheduledExecutorService timers, Duration settle, Duration reconnectSettle) {
    this.link = link;
    this.hub = hub;
    this.timers = timers;
    this.settle = settle;
    this.reconnectSettle = reconnectSettle;
    this.me = link.nodeId();
  }

  Home get(String sessionId) {
    return homes.get(sessionId);
  }

  /**
   * Claims home for a session here (or returns the existing claim). With the link up the claim is
   * announced at once; otherwise when the link comes up (local-first homing while NATS is down).
   */
  Home claim(String sessionId, SessionKeys keys) {
    boolean[] created = {false};
    Home h = homes.computeIfAbsent(sessionId, id -> {
      created[0] = true;
      return new Home(id, keys);
    });
    if (created[0]) {
      subscribe(h);
      if (link.nats().isUp()) {
        announce(h);
      } else {
        log.info("NATS link down: session homed on this node until the link is back (then its claim is announced)");
      }
    }
    return h;
  }

  /** A session that ended here without ever being claimed (TerminateSession before any join): answer lookups ENDED. */
  void remember(String sessionId, SessionKeys keys) {
    Home h = homes.computeIfAbsent(sessionId, id -> new Home(id, keys));
    h.ended = true;
    h.settled = true;
    subscribe(h);
  }

  /** The hub ended a session held here: it stays known as ended (until its tickets expire). */
  void ended(String sessionId) {
    Home h = homes.get(sessionId);
    if (h != null) {
      h.ended = true;
      h.settled = true;
      h.provisional.clear();
    }
  }

  private void subscribe(Home h) {
    if (h.subscription == null && link.nats().connected()) {
      h.subscription = link.nats().subscribe(Subjects.homeSubscription(h.sessionId), h.sessionId,
          msg -> link.onHomeMessage(h, msg));
    }
  }

  /**
   * Announces the claim now and again every {@code settle} until it settles: after {@code 2 × settle}
   * of this round, and as long since the announcement is known to have reached NATS, once the link
   * has been up for {@code reconnectSettle} without a break.
   */
  private void announce(Home h) {
    int round;
    synchronized (h) {
      round = ++h.round;
    }
    publishClaim(h);
    long started = System.nanoTime();
    // Again after NATS interest has propagated through the cluster: a node that claimed the same
    // session at the same moment hears one of the two claims at the latest now; one that was not
    // subscribed yet (it is reconnecting) hears a later one.
    timers.schedule(() -> reannounce(h, round, started, 0), settle.toMillis(), TimeUnit.MILLISECONDS);
  }

  /**
   * {@code confirmedNanos}: when this round's first announcement was known to have reached the NATS
   * server (a round trip sent after it came back; 0 until then). The claim settles only
   * {@code 2 × settle} after that too: a link that looks up but delivers nothing (a server dying
   * after jnats failed over to it, a silent network path) must not settle a claim nobody heard —
   * another node's settled home of the same session would never yield to it, and the two halves of
   * the session would never meet.
   */
  private void reannounce(Home h, int round, long startedNanos, long confirmedNanos) {
    if (!current(h, round) || h.settled || !link.nats().isUp()) {
      return; // lost, settled, or a new round starts when the link is back
    }
    long now = System.nanoTime();
    long confirmed = confirmedNanos == 0 && link.nats().roundTripSince(startedNanos) ? now : confirmedNanos;
    if (confirmed != 0 && now - confirmed >= 2 * settle.toNanos() && now - startedNanos >= 2 * settle.toNanos()
        && link.nats().upForNanos() >= reconnectSettle.toNanos()) {
      h.settled = true;
      h.provisional.clear();
      return;
    }
    publishClaim(h);
    timers.schedule(() -> reannounce(h, round, startedNanos, confirmed), settle.toMillis(), TimeUnit.MILLISECONDS);
  }

  private boolean current(Home h, int round) {
    synchronized (h) {
      return h.round == round && !h.yielded && homes.get(h.sessionId) == h;
    }
  }

  private void publishClaim(Home h) {
    boolean settled = h.settled;
    link.nats().publish(Subjects.home(h.sessionId, me), NodeMessage.newBuilder().setClaim(Claim.newBuilder()
        .setSessionId(h.sessionId).setNonce(h.nonce).setSettled(settled)
        .setProof(ByteString.copyFrom(h.keys.proof("claim", h.sessionId, me, SessionKeys.hex(h.nonce), Boolean.toString(settled)))))
        .build().toByteArray());
  }

  /** The link is up (again): subscribe what was claimed offline and announce every unsettled claim. */
  void onLinkUp() {
    for (Home h : homes.values()) {
      subscribe(h);
      if (!h.ended && !h.settled) {
        announce(h);
      }
    }
  }

  /** The link is down: an unsettled claim cannot settle until it has been announced on a link that stayed up. */
  void onLinkDown() {
    for (Home h : homes.values()) {
      synchronized (h) {
        h.round++;
      }
    }
  }

  /** A claim on the session's home subject from {@code src} (dispatcher thread). */
  void onClaim(Home h, String src, Claim c) {
    if (src.equals(me)) {
      return;
    }
    if (!c.getSessionId().equals(h.sessionId)) {
      link.refused(ClusterRefusal.MALFORMED);
      return;
    }
    if (!h.keys.verify(c.getProof(), "claim", h.sessionId, src, SessionKeys.hex(c.getNonce()), Boolean.toString(c.getSettled()))) {
      link.refused(ClusterRefusal.PROOF);
      return;
    }
    synchronized (h) {
      if (h.yielded || homes.get(h.sessionId) != h) {
        return;
      }
    }
    if (!theyWin(h, src, c.getSettled())) {
      // A late or losing claim, e.g. one made while this node's claim is settled: it changes nothing here.
      link.refused(ClusterRefusal.CLAIM_LOST);
    }
    // Either way the claimer learns of this claim, privately, and applies the same rule.
    sendStatus(h, src, c.getNonce());
  }

  /** A private answer to one of this node's claims (dispatcher thread). */
  void onStatus(String src, ClaimStatus st) {
    Home h = homes.get(st.getSessionId());
    if (h == null) {
      link.refused(ClusterRefusal.UNSOLICITED);
      return;
    }
    if (!h.keys.verify(st.getProof(), "status", h.sessionId, src, me, SessionKeys.hex(st.getEcho()),
        SessionKeys.hex(st.getNonce()), Boolean.toString(st.getSettled()))) {
      link.refused(ClusterRefusal.PROOF);
      return;
    }
    if (!st.getEcho().equals(h.nonce)) {
      link.refused(ClusterRefusal.UNSOLICITED);
      return;
    }
    if (theyWin(h, src, st.getSettled())) {
      yieldTo(h, src);
    } else if (!st.getSettled()) {
      // This claim wins: make sure the other claimer knows (it then yields), once per claim.
      if (h.answered.add(st.getNonce())) {
        sendStatus(h, src, st.getNonce());
      }
    } else {
      log.warn("two settled homes for one session (this node and {}): NATS interest took longer than the claim settle time"
          + " to propagate; raise clusterClaimSettle", src);
    }
  }

  /** The claim rule, from this node's side: does {@code other}'s claim beat this node's? */
  private boolean theyWin(Home h, String other, boolean otherSettled) {
    if (h.settled) {
      return false; // a settled claim is final
    }
    return otherSettled || other.compareTo(me) < 0;
  }

  private void sendStatus(Home h, String to, ByteString echo) {
    boolean settled = h.settled;
    link.nats().publish(Subjects.node(to, me, Subjects.shard(h.sessionId)), NodeMessage.newBuilder()
        .setClaimStatus(ClaimStatus.newBuilder().setSessionId(h.sessionId).setEcho(echo).setNonce(h.nonce)
            .setSettled(settled).setProof(ByteString.copyFrom(h.keys.proof("status", h.sessionId, me, to,
                SessionKeys.hex(echo), SessionKeys.hex(h.nonce), Boolean.toString(settled)))))
        .build().toByteArray());
  }

  /** Lost the claim: stop being home and hand every participant over to the winner as a bridge. */
  private void yieldTo(Home h, String winner) {
    synchronized (h) {
      if (h.yielded || !homes.remove(h.sessionId, h)) {
        return;
      }
      h.yielded = true;
      lost.increment();
      log.info("session home claim lost to node {}; handing participants over", winner);
      link.nats().unsubscribe(h.subscription);
      for (SessionHub.Evicted e : hub.evict(h.sessionId)) {
        ClusterSeat cs = null;
        for (ClusterSeat p : h.provisional) {
          if (p.ticket.role() == e.ticket().role() && p.ticket.ticketId().equals(e.ticket().ticketId())) {
            cs = p;
          }
        }
        if (cs != null) {
          cs.detach(true);
          link.bridges().bind(cs, winner, true, e.pending());
        } else {
          e.participant().close(Status.UNAVAILABLE.withDescription(
              "this session moved to another relay node while it was being set up; reconnect"));
        }
      }
    }
  }

  /** Drops claims of sessions no longer held or remembered here (sweeper). */
  void sweep() {
    for (Home h : homes.values()) {
      if (!hub.holds(h.sessionId) && !hub.isEnded(h.sessionId) && (h.settled || h.ended) && homes.remove(h.sessionId, h)) {
        link.nats().unsubscribe(h.subscription);
      }
    }
  }

  int count() {
    return homes.size();
  }

  long lost() {
    return lost.sum();
  }
}
