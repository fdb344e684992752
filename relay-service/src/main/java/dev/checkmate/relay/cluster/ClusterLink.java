package dev.checkmate.relay.cluster;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.checkmate.relay.proto.cluster.v1.NodeMessage;
import dev.checkmate.relay.session.Participant;
import dev.checkmate.relay.error.RelayError;
import dev.checkmate.relay.error.RelayException;
import dev.checkmate.relay.session.Seat;
import dev.checkmate.relay.session.SessionHub;
import dev.checkmate.relay.ticket.Ticket;
import dev.checkmate.relay.admission.Admission;
import io.grpc.Status;
import io.nats.client.Message;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This node's part of the relay cluster, behind the hub's {@link SessionHub.Cluster} seam: a small
 * facade over the NATS connection ({@link NatsLink}), the claims that make one node a session's home
 * ({@link Claims}), finding a session's home ({@link Locator}), serving other nodes as a home
 * ({@link HomeEndpoint}) and binding to other homes as a bridge ({@link Bridges}). It routes what
 * arrives on this node's private subjects and keeps the table of live bindings.
 *
 * <p>Trust: a node believes nothing another NATS client says that it cannot check. Tickets are
 * checked at the home with the local join's code; claims and lookup answers carry proofs under the
 * session's key; binding messages must carry the token this node issued and come from the node the
 * binding was made with (NATS permissions make the sender part of the subject). docs/cluster.md
 * has the design, the threat model, the failure modes and the NATS permissions.
 */
public final class ClusterLink implements SessionHub.Cluster, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ClusterLink.class);
  static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(2);

  /** Direction of cross-node traffic, as seen from this node. */
  public enum Direction { OUT, IN }

  /** What telemetry hears from the cluster; every method has a no-op default. Called on cluster threads. */
  public interface Listener {
    Listener NONE = new Listener() {};

    /** The NATS link came up (true) or went down (false). */
    default void linkUp(boolean up) {}

    /** One frame crossed to (OUT) or from (IN) another node. */
    default void frame(Direction direction) {}

    /** Something another node (or NATS client) sent was refused or ignored. */
    default void refused(ClusterRefusal reason) {}
  }

  private final ClusterSettings config;
  private final SessionHub hub;
  private final ClusterHooks hooks;
  private final ScheduledExecutorService timers;
  private final ClusterRefusal.Counts refusals = new ClusterRefusal.Counts();
  private final NatsLink nats;
  private final Claims claims;
  private final Locator locator;
  private final HomeEndpoint home;
  private final Bridges bridges;
  private final Map<ByteString, Binding> bindings = new ConcurrentHashMap<>();
  private final LongAdder framesOut = new LongAdder();
  private final LongAdder framesIn = new LongAdder();
  private final LongAdder bytesOut = new LongAdder();
  private final LongAdder bytesIn = new LongAdder();
  private volatile Listener listener = Listener.NONE;

  private ClusterLink(ClusterSettings config, SessionHub hub, Admission admission) {
    this.config = config;
    this.hub = hub;
    this.hooks = config.clusterHooks();
    ScheduledThreadPoolExecutor t = new ScheduledThreadPoolExecutor(1, r -> {
      Thread th = new Thread(r, "relay-cluster");
      th.setDaemon(true);
      return th;
    });
    t.setRemoveOnCancelPolicy(true);
    this.timers = t;
    this.nats = new NatsLink(config, refusals, timers);
    this.claims = new Claims(this, hub, timers, config.clusterClaimSettle(), config.clusterDeadAfter());
    this.locator = new Locator(this, timers, config.clusterLookupTimeout());
    this.home = new HomeEndpoint(this, hub, admission);
    this.bridges = new Bridges(this, timers);
  }

  /**
   * Connects to NATS in the background (the relay serves node-local sessions meanwhile) and hooks
   * into the hub. The link reports up once connected; jnats reconnects forever after a loss.
   *
   * @param admission the relay's one admission path: the home checks other nodes' tickets through it
   *     ({@link Admission#verifyFromNode}), with the same verifier as local joins
   */
  public static ClusterLink start(ClusterSettings config, SessionHub hub, Admission admission) throws IOException {
    ClusterLink link = new ClusterLink(config, hub, admission);
    link.nats.start(link.new Inbound());
    hub.setCluster(link);
    long tick = Math.max(50, Math.min(250, config.clusterHeartbeat().toMillis() / 2));
    link.timers.scheduleWithFixedDelay(link::sweepSafely, tick, tick, TimeUnit.MILLISECONDS);
    log.info("cluster node {} connecting to NATS {}", config.nodeId(), config.natsUrls());
    return link;
  }

  /** Telemetry hooks; set once at startup. */
  public void setListener(Listener listener) {
    this.listener = listener;
    listener.linkUp(nats.isUp());
  }

  // --- SessionHub.Cluster ---

  @Override
  public Seat join(Ticket ticket, Participant participant) throws RelayException {
    String sid = ticket.sessionId();
    if (hub.holds(sid)) {
      Claims.Home h = claims.get(sid);
      if (h == null || h.settled) {
        return hub.joinHere(ticket, participant);
      }
      // Claimed a moment ago (or while NATS was down) and not settled yet: keep the seat swappable.
      ClusterSeat cs = new ClusterSeat(ticket, participant);
      if (seatProvisionally(h, cs)) {
        return cs;
      }
      // Yielded meanwhile: find the winner like any other node would.
    }
    SessionKeys keys = SessionKeys.of(ticket.sessionKey());
    if (keys == null) {
      throw noSessionKey();
    }
    if (!Subjects.validToken(sid)) {
      throw new RelayException(RelayError.MALFORMED, "session id is not valid base64url");
    }
    ClusterSeat cs = new ClusterSeat(ticket, participant);
    if (!nats.isUp()) {
      if (locator.knownRemote(sid)) {
        throw new RelayException(RelayError.CLUSTER_UNAVAILABLE,
            "cluster link down: this session is held by another relay node, which cannot be reached right now; retry shortly");
      }
      // Local-first: home the session here; the claim is announced when the link is back.
      if (!seatProvisionally(claims.claim(sid, keys), cs)) {
        throw new RelayException(RelayError.CLUSTER_UNAVAILABLE, "session moved between relay nodes; retry shortly");
      }
      return cs;
    }
    locate(cs, keys);
    return cs;
  }

  /** Seats {@code cs} at this node's (unsettled) claim; false if the claim was lost meanwhile. */
  private boolean seatProvisionally(Claims.Home h, ClusterSeat cs) throws RelayException {
    synchronized (h) {
      if (h.yielded) {
        return false;
      }
      boolean provisional = !h.settled;
      if (provisional) {
        h.provisional.add(cs);
      }
      try {
        cs.resolve(hub.joinHere(cs.ticket, cs));
      } catch (RelayException e) {
        h.provisional.remove(cs);
        throw e;
      }
      return true;
    }
  }

  /** Finds the session's home and binds to it, or claims home here if nobody holds it. */
  private void locate(ClusterSeat cs, SessionKeys keys) {
    String sid = cs.ticket.sessionId();
    locator.locate(sid, keys, loc -> {
      switch (loc.outcome()) {
        case HOME -> bridges.bind(cs, loc.node(), false, List.of());
        case ENDED -> cs.fail(RelayError.SESSION_ENDED.toStatus(
            "this session has already ended; its tickets cannot be used again (create a new session)"));
        case NOBODY, TIMEOUT, LINK_DOWN -> {
          long delay = hooks.claimDelayMillis(sid);
          if (delay > 0) {
            timers.schedule(() -> claimHome(cs, keys), delay, TimeUnit.MILLISECONDS);
          } else {
            claimHome(cs, keys);
          }
        }
        default -> throw new IllegalStateException(loc.toString());
      }
    });
  }

  /** Nobody holds the session (or NATS cannot tell): this node becomes its home. */
  private void claimHome(ClusterSeat cs, SessionKeys keys) {
    String sid = cs.ticket.sessionId();
    boolean fresh = claims.get(sid) == null;
    Claims.Home h = claims.claim(sid, keys);
    if (fresh && nats.isUp()) {
      // Tell the client Joined only once this node's NATS server knows it answers for the session,
      // so a peer joining elsewhere a moment later finds it (instead of racing a claim).
      nats.afterServerCaughtUp(() -> seatAtClaim(cs, keys, h));
    } else {
      seatAtClaim(cs, keys, h);
    }
  }

  private void seatAtClaim(ClusterSeat cs, SessionKeys keys, Claims.Home h) {
    try {
      if (seatProvisionally(h, cs)) {
        return;
      }
    } catch (RelayException e) {
      cs.fail(e.error().toStatus(e.getMessage())); // joinHere counted it
      return;
    }
    // Another node won the claim before anyone was seated here: bridge to it.
    locate(cs, keys);
  }

  @Override
  public CompletableFuture<Boolean> terminate(Ticket ticket, String reason) {
    return bridges.terminate(ticket, reason);
  }

  @Override
  public void ended(String sessionId, long rememberUntilMillis) {
    // The claim stays (answering lookups with ENDED) until the hub forgets the session, so its
    // tickets stay dead cluster-wide while this node lives.
    claims.ended(sessionId);
  }

  static RelayException noSessionKey() {
    return new RelayException(RelayError.BAD_TICKET,
        "ticket lacks the session key cluster mode needs (issued by an older relay?); create a new session");
  }

  // --- what arrives ---

  private final class Inbound implements NatsLink.Inbound {
    @Override
    public void onPrivate(String src, NodeMessage m, long receivedNanos) {
      switch (m.getKindCase()) {
        case LOCATED -> locator.onLocated(src, m.getLocated());
        case CLAIM_STATUS -> claims.onStatus(src, m.getClaimStatus());
        case BIND -> home.onBind(src, m.getBind());
        case TERMINATE -> home.onTerminate(src, m.getTerminate());
        case TERMINATED -> bridges.onTerminated(src, m.getToken(), m.getTerminated());
        case BOUND -> {
          if (binding(src, m) instanceof RemoteSeat bridge) {
            bridges.onBound(bridge, m.getBound());
          }
        }
        case LOOKUP, CLAIM, KIND_NOT_SET -> refused(ClusterRefusal.MALFORMED);
        default -> {
          Binding b = binding(src, m);
          if (b != null) {
            if (m.getSentNanos() != 0 && hooks.timeHops()) {
              hooks.hop(ClusterHooks.Hop.TRANSIT, b instanceof RemoteParticipant, receivedNanos - m.getSentNanos());
            }
            b.onMessage(m, receivedNanos);
          }
        }
      }
    }

    @Override
    public void onNoResponders(String suffix) {
      locator.onNoResponders(suffix);
    }

    @Override
    public void onUp(boolean first) {
      listener.linkUp(true);
      claims.onLinkUp();
    }

    @Override
    public void onDown() {
      listener.linkUp(false);
      claims.onLinkDown();
    }

    @Override
    public void onClosed() {
      listener.linkUp(false);
      failAll("cluster link down");
    }
  }

  /** The binding a message is for: it must carry a token this node issued, from the binding's other node. */
  private Binding binding(String src, NodeMessage m) {
    Binding b = bindings.get(m.getToken());
    if (b == null) {
      refused(ClusterRefusal.UNKNOWN_BINDING);
      return null;
    }
    if (!src.equals(b.peerNode)) {
      refused(ClusterRefusal.WRONG_SENDER);
      return null;
    }
    return b;
  }

  /** A message on a session's home subject (dispatcher thread of the session's shard). */
  void onHomeMessage(Claims.Home h, Message msg) {
    String src = Subjects.sender(msg.getSubject());
    NodeMessage m;
    try {
      m = src == null ? null : NodeMessage.parseFrom(msg.getData());
    } catch (InvalidProtocolBufferException e) {
      m = null;
    }
    if (m == null) {
      refused(ClusterRefusal.MALFORMED);
      return;
    }
    switch (m.getKindCase()) {
      case LOOKUP -> home.onLookup(h, src, m.getLookup());
      case CLAIM -> claims.onClaim(h, src, m.getClaim());
      default -> refused(ClusterRefusal.MALFORMED);
    }
  }

  // --- plumbing for the parts ---

  void bind(Binding b) {
    bindings.put(b.token, b);
  }

  void unbind(Binding b) {
    if (bindings.remove(b.token, b) && b instanceof RemoteSeat && b.peerToken != null) {
      locator.bridgeEnded(b.sessionId, config.joinDeadline());
    }
  }

  void refused(ClusterRefusal reason) {
    refusals.count(reason);
    listener.refused(reason);
  }

  private void failAll(String why) {
    for (Binding b : new ArrayList<>(bindings.values())) {
      b.lost(why);
    }
  }

  private void sweepSafely() {
    try {
      long now = System.nanoTime();
      long hb = config.clusterHeartbeat().toNanos();
      long dead = config.clusterDeadAfter().toNanos();
      for (Binding b : bindings.values()) {
        b.tick(now, hb, dead);
      }
      claims.sweep();
      locator.expire();
    } catch (RuntimeException e) {
      log.error("cluster sweep failed", e);
    }
  }

  void countOut(int bytes) {
    framesOut.increment();
    bytesOut.add(bytes);
    listener.frame(Direction.OUT);
  }

  void countIn(int bytes) {
    framesIn.increment();
    bytesIn.add(bytes);
    listener.frame(Direction.IN);
  }

  ClusterSettings config() {
    return config;
  }

  SessionHub hub() {
    return hub;
  }

  ClusterHooks hooks() {
    return hooks;
  }

  NatsLink nats() {
    return nats;
  }

  Claims claims() {
    return claims;
  }

  Locator locator() {
    return locator;
  }

  Bridges bridges() {
    return bridges;
  }

  static Status status(String code, String description) {
    Status.Code c;
    try {
      c = Status.Code.valueOf(code);
    } catch (IllegalArgumentException e) {
      c = Status.Code.UNKNOWN;
    }
    return Status.fromCode(c).withDescription(description);
  }

  // --- state for telemetry and tests ---

  /** True while connected to a NATS server ({@code relay_nats_link_up}). */
  public boolean isUp() {
    return nats.isUp();
  }

  /**
   * Whether NATS enforced the per-node permissions at the last connect (another node's private
   * subjects unreadable, posing as another node refused): "enforced", "missing" or "unknown".
   */
  public String natsIsolation() {
    return nats.isolation().name().toLowerCase(java.util.Locale.ROOT);
  }

  public String nodeId() {
    return nats.nodeId();
  }

  /** Frames this node sent to / received from other relay nodes ({@code relay_cross_node_frames_total{direction}}). */
  public long crossNodeFrames(Direction direction) {
    return direction == Direction.OUT ? framesOut.sum() : framesIn.sum();
  }

  /** Payload bytes this node sent to / received from other relay nodes. */
  public long crossNodeBytes(Direction direction) {
    return direction == Direction.OUT ? bytesOut.sum() : bytesIn.sum();
  }

  /** Refusals by reason ({@code relay_cluster_refusals_total{reason}}). */
  public long refusals(ClusterRefusal reason) {
    return refusals.get(reason);
  }

  /** Live cross-node bindings held here (bridge and home halves). */
  public int bindingCount() {
    return bindings.size();
  }

  /** Sessions this node answers for on NATS (live homes and remembered ended sessions). */
  public int homeCount() {
    return claims.count();
  }

  /** Home claim races this node lost (and handed its participants over). */
  public long claimsLost() {
    return claims.lost();
  }

  /** Messages that could not be published (link down or outgoing queue full). */
  public long publishFailures() {
    return nats.publishFailures();
  }

  @Override
  public void close() {
    failAll("relay node is shutting down");
    timers.shutdownNow();
    nats.close();
  }
}
