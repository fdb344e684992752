package dev.checkmate.relay.cluster;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.checkmate.relay.RelayConfig;
import dev.checkmate.relay.proto.cluster.v1.BindReply;
import dev.checkmate.relay.proto.cluster.v1.BindRequest;
import dev.checkmate.relay.proto.cluster.v1.Claim;
import dev.checkmate.relay.proto.cluster.v1.NodeMessage;
import dev.checkmate.relay.proto.cluster.v1.TerminateReply;
import dev.checkmate.relay.proto.cluster.v1.TerminateRequest;
import dev.checkmate.relay.proto.v1.Frame;
import dev.checkmate.relay.session.Participant;
import dev.checkmate.relay.session.RelayError;
import dev.checkmate.relay.session.RelayException;
import dev.checkmate.relay.session.Seat;
import dev.checkmate.relay.session.SessionHub;
import dev.checkmate.relay.ticket.Ticket;
import io.grpc.Status;
import io.nats.client.Connection;
import io.nats.client.ConnectionListener;
import io.nats.client.Dispatcher;
import io.nats.client.ErrorListener;
import io.nats.client.JetStreamStatusException;
import io.nats.client.Message;
import io.nats.client.Nats;
import io.nats.client.Options;
import io.nats.client.Subscription;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.LongAdder;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This node's link to the relay cluster over NATS core: finds a session's home node, claims home
 * for new sessions, bridges participants to other homes and serves bridges of sessions homed here.
 * See docs/cluster.md for the design, the failure modes and the NATS permissions.
 *
 * <p>Telemetry reads {@link #isUp()} ({@code relay_nats_link_up}) and
 * {@link #crossNodeFrames(Direction)} ({@code relay_cross_node_frames_total{direction}}).
 */
public final class ClusterLink implements SessionHub.Cluster, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ClusterLink.class);
  private static final SecureRandom RANDOM = new SecureRandom();
  static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(2);

  /** Direction of cross-node traffic, as seen from this node. */
  public enum Direction { OUT, IN }

  private final RelayConfig config;
  private final SessionHub hub;
  private final String nodeId;
  private final ScheduledExecutorService timers;
  private final Map<String, Home> homes = new ConcurrentHashMap<>();
  private final Set<Binding> bindings = ConcurrentHashMap.newKeySet();
  private final LongAdder framesOut = new LongAdder();
  private final LongAdder framesIn = new LongAdder();
  private final LongAdder bytesOut = new LongAdder();
  private final LongAdder bytesIn = new LongAdder();
  private final LongAdder claimsLost = new LongAdder();
  private final LongAdder publishFailures = new LongAdder();
  private volatile Connection nc;
  private volatile Dispatcher[] dispatchers;
  private volatile boolean up;
  private volatile boolean closing;
  /** Tests only: widens the window between "nobody is home" and claiming, to force claim races. */
  static volatile long claimDelayMillisForTests;

  /** A session this node is home for: the subscription that answers lookups, binds and claims. */
  private static final class Home {
    final String sessionId;
    final long claimedAtMillis;
    volatile Subscription subscription;
    volatile boolean settled;
    /** Participants seated here while the claim was not settled: the ones a hand-over moves. */
    final List<ClusterSeat> provisional = new java.util.concurrent.CopyOnWriteArrayList<>();
    /** Lost a claim race; guarded by this Home (seating and yielding never interleave). */
    boolean yielded;

    Home(String sessionId, long claimedAtMillis) {
      this.sessionId = sessionId;
      this.claimedAtMillis = claimedAtMillis;
    }
  }

  private ClusterLink(RelayConfig config, SessionHub hub) {
    this.config = config;
    this.hub = hub;
    this.nodeId = config.nodeId();
    ScheduledThreadPoolExecutor t = new ScheduledThreadPoolExecutor(1, r -> {
      Thread th = new Thread(r, "relay-cluster");
      th.setDaemon(true);
      return th;
    });
    t.setRemoveOnCancelPolicy(true);
    this.timers = t;
  }

  /**
   * Connects to NATS in the background (the relay serves node-local sessions meanwhile) and hooks
   * into the hub. The link reports up once connected; jnats reconnects forever after a loss.
   */
  public static ClusterLink start(RelayConfig config, SessionHub hub) throws IOException {
    ClusterLink link = new ClusterLink(config, hub);
    Options.Builder o = Options.builder()
        .servers(config.natsUrls().toArray(String[]::new))
        .connectionName("relay-" + config.nodeId())
        .maxReconnects(-1)
        .reconnectWait(Duration.ofMillis(500))
        .connectionTimeout(Duration.ofSeconds(2))
        .pingInterval(Duration.ofSeconds(2))
        .maxPingsOut(2)
        // While jnats fails over to another NATS server, publishes wait in this buffer; a binding
        // that lost messages meanwhile sees a seq gap and ends (clients reconnect), one that did
        // not simply continues. Bounded: cross-node data is credit-limited per binding.
        .reconnectBufferSize(16L * 1024 * 1024)
        // Never block a transport thread on a full outgoing queue: drop, and let the binding's
        // sequence check tear it down.
        .discardMessagesWhenOutgoingQueueFull()
        .maxMessagesInOutgoingQueue(65_536)
        .reportNoResponders()
        .connectionListener(link::onConnectionEvent)
        .errorListener(new ErrorListener() {
          @Override
          public void errorOccurred(Connection conn, String error) {
            log.warn("NATS error: {}", error);
          }

          @Override
          public void exceptionOccurred(Connection conn, Exception exp) {
            log.debug("NATS exception: {}", exp.toString());
          }

          @Override
          public void slowConsumerDetected(Connection conn, io.nats.client.Consumer consumer) {
            log.warn("NATS slow consumer on this relay: cross-node messages dropped; affected bindings reset");
          }
        });
    config.natsCredentials().ifPresent(p -> o.authHandler(Nats.credentials(p.toString())));
    if (config.natsUser().isPresent()) {
      o.userInfo(config.natsUser().get(), config.natsPassword().orElse(""));
    }
    config.natsToken().ifPresent(tok -> o.token(tok.toCharArray()));
    if (config.natsCaCertificate().isPresent()) {
      o.sslContext(trusting(config.natsCaCertificate().get()));
    }
    try {
      Nats.connectAsynchronously(o.build(), true);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while starting the NATS connection", e);
    }
    hub.setCluster(link);
    long tick = Math.max(50, Math.min(250, config.clusterHeartbeat().toMillis() / 2));
    link.timers.scheduleWithFixedDelay(link::sweepSafely, tick, tick, TimeUnit.MILLISECONDS);
    log.info("cluster node {} connecting to NATS {}", config.nodeId(), config.natsUrls());
    return link;
  }

  private static SSLContext trusting(Path caPem) {
    try (InputStream in = Files.newInputStream(caPem)) {
      KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
      ks.load(null, null);
      int i = 0;
      for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
        ks.setCertificateEntry("ca" + i++, c);
      }
      TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(ks);
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(null, tmf.getTrustManagers(), null);
      return ctx;
    } catch (Exception e) {
      throw new IllegalArgumentException("cannot load NATS CA certificate " + caPem + ": " + e.getMessage(), e);
    }
  }

  private void onConnectionEvent(Connection conn, ConnectionListener.Events event) {
    switch (event) {
      case CONNECTED -> {
        synchronized (this) {
          if (nc == null) {
            nc = conn;
            int n = Math.max(2, Math.min(8, Runtime.getRuntime().availableProcessors()));
            Dispatcher[] d = new Dispatcher[n];
            for (int i = 0; i < n; i++) {
              d[i] = conn.createDispatcher();
              // Cross-node traffic is bounded by credits; this is the last guard.
              d[i].setPendingLimits(1_000_000, 512L * 1024 * 1024);
            }
            dispatchers = d;
          }
        }
        up = true;
        if (conn.getMaxPayload() < config.maxFrameBytes() + 4096L) {
          log.warn("NATS max_payload {} is below the relay's max frame ({}) + 4 KiB: raise max_payload on the NATS servers",
              conn.getMaxPayload(), config.maxFrameBytes());
        }
        log.info("cluster link up: node {} connected to NATS {}", nodeId, conn.getConnectedUrl());
      }
      case RECONNECTED, RESUBSCRIBED -> {
        up = true;
        log.info("cluster link up again ({})", event);
      }
      case DISCONNECTED -> {
        // jnats fails over to another server at once; bindings survive a short gap (heartbeats
        // end those that stay silent for dead-after). New cross-node joins fail fast meanwhile.
        boolean was = up;
        up = false;
        if (was && !closing) {
          log.warn("cluster link down: new cross-node joins refused until NATS is back; node-local sessions continue");
        }
      }
      case CLOSED -> {
        up = false;
        failAll("cluster link down");
      }
      default -> { }
    }
  }

  // --- SessionHub.Cluster ---

  @Override
  public Seat join(Ticket ticket, Participant participant) throws RelayException {
    String sid = ticket.sessionId();
    if (hub.holds(sid)) {
      Home h = homes.get(sid);
      if (h == null || h.settled) {
        return hub.joinHere(ticket, participant);
      }
      // Home claimed a moment ago and not settled yet: keep the seat swappable for a hand-over.
      ClusterSeat cs = new ClusterSeat(ticket, participant);
      synchronized (h) {
        if (!h.yielded) {
          h.provisional.add(cs);
          cs.resolve(hub.joinHere(ticket, cs));
          return cs;
        }
      }
      // Yielded meanwhile: find the winner like any other node would.
      if (!up || dispatchers == null) {
        throw new RelayException(RelayError.CLUSTER_UNAVAILABLE,
            "cluster link down: this relay cannot locate the session's home node right now; retry shortly");
      }
      locate(cs, false, List.of(), 0);
      return cs;
    }
    if (!up || dispatchers == null) {
      throw new RelayException(RelayError.CLUSTER_UNAVAILABLE,
          "cluster link down: this relay cannot locate the session's home node right now; retry shortly");
    }
    if (!Subjects.validSessionId(sid)) {
      throw new RelayException(RelayError.MALFORMED, "session id is not valid base64url");
    }
    ClusterSeat cs = new ClusterSeat(ticket, participant);
    locate(cs, false, List.of(), 0);
    return cs;
  }

  /** Asks the session's home to seat {@code cs}; claims home here if nobody answers. */
  private void locate(ClusterSeat cs, boolean handover, List<Frame> handedOver, int attempt) {
    Ticket t = cs.ticket;
    RemoteSeat bridge = new RemoteSeat(this, cs, token());
    Connection c = nc;
    try {
      bridge.subscription = dispatcher(t.sessionId()).subscribe(bridge.downSubject, msg -> onDown(bridge, msg));
      bindings.add(bridge);
      byte[] req = NodeMessage.newBuilder().setBridgeToken(bridge.bridgeToken).setBind(BindRequest.newBuilder()
          .setSessionId(t.sessionId()).setRole(t.role()).setTicketId(t.ticketId())
          .setExpiresAtMillis(t.expiresAt().toEpochMilli()).setBridgeNode(nodeId)
          .setWindowFrames(bridge.windowFrames()).setWindowBytes(bridge.windowBytes()).setHandover(handover))
          .build().toByteArray();
      c.requestWithTimeout(Subjects.home(t.sessionId()), req, REQUEST_TIMEOUT)
          .whenCompleteAsync((reply, err) -> located(cs, bridge, handover, handedOver, attempt, reply, err), timers);
    } catch (RuntimeException e) {
      log.debug("cannot locate a session's home", e);
      bridge.release();
      cs.fail(RelayError.CLUSTER_UNAVAILABLE.toStatus("cluster link down: " + e.getMessage() + "; retry shortly"));
    }
  }

  private void located(ClusterSeat cs, RemoteSeat bridge, boolean handover, List<Frame> handedOver, int attempt,
      Message reply, Throwable err) {
    if (err != null) {
      bridge.release();
      if (isNoResponders(err)) {
        if (handover) {
          // The winner's subscription may not have reached our NATS server yet.
          if (attempt < 10) {
            timers.schedule(() -> locate(cs, true, handedOver, attempt + 1), 50, TimeUnit.MILLISECONDS);
          } else {
            cs.fail(Status.UNAVAILABLE.withDescription("session moved to another relay node; reconnect"));
          }
          return;
        }
        long delay = claimDelayMillisForTests;
        if (delay > 0) {
          timers.schedule(() -> claimHome(cs), delay, TimeUnit.MILLISECONDS);
        } else {
          claimHome(cs);
        }
        return;
      }
      cs.fail(RelayError.CLUSTER_UNAVAILABLE.toStatus(
          "the relay node holding this session did not answer (" + rootCause(err) + "); reconnect"));
      return;
    }
    NodeMessage full;
    try {
      full = NodeMessage.parseFrom(reply.getData());
    } catch (InvalidProtocolBufferException e) {
      bridge.release();
      cs.fail(Status.INTERNAL.withDescription("malformed reply from the session's home node"));
      return;
    }
    BindReply r = full.getBound();
    if (!r.getErrorCode().isEmpty()) {
      bridge.release();
      // The home counted the refusal; the client gets the home's status and description.
      cs.fail(status(r.getErrorCode(), r.getErrorMessage()));
      return;
    }
    String homeToken = full.getHomeToken();
    bridge.bound(homeToken, r.getHomeNode(), r.getWindowFrames(), r.getWindowBytes(), handedOver);
    cs.resolve(bridge);
  }

  /** Nobody holds the session: this node becomes its home. */
  private void claimHome(ClusterSeat cs) {
    // Answer lookups before seating anyone, so a peer joining elsewhere a moment later finds this
    // node (the flush makes our NATS server know the subscription before the client hears Joined).
    Home h = ensureHome(cs.ticket.sessionId(), true);
    synchronized (h) {
      if (!h.yielded) {
        h.provisional.add(cs);
        try {
          cs.resolve(hub.joinHere(cs.ticket, cs));
        } catch (RelayException e) {
          cs.fail(e.error().toStatus(e.getMessage())); // joinHere counted it
        }
        return;
      }
    }
    // Another node won the claim before anyone was seated here: bridge to it.
    locate(cs, false, List.of(), 0);
  }

  /** Subscribes to the session's home subject once; with {@code claim}, announces the claim twice. */
  private Home ensureHome(String sid, boolean claim) {
    boolean[] created = {false};
    Home h = homes.computeIfAbsent(sid, id -> {
      created[0] = true;
      return new Home(id, System.currentTimeMillis());
    });
    if (!created[0]) {
      return h;
    }
    try {
      h.subscription = dispatcher(sid).subscribe(Subjects.home(sid), msg -> onHome(h, msg));
    } catch (RuntimeException e) {
      log.warn("cannot subscribe home of a session: {}", e.toString());
    }
    if (!claim) {
      h.settled = true;
      return h;
    }
    announce(h);
    Connection c = nc;
    try {
      if (c != null) {
        c.flush(Duration.ofSeconds(1));
      }
    } catch (TimeoutException | RuntimeException e) {
      // Best effort: the claim announcements resolve any race the flush would have avoided.
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    long settle = config.clusterClaimSettle().toMillis();
    // Again after NATS interest has propagated through the cluster: a node that claimed the same
    // session at the same moment hears one of the two claims at the latest now.
    timers.schedule(() -> {
      if (homes.get(sid) == h) {
        announce(h);
      }
    }, settle, TimeUnit.MILLISECONDS);
    timers.schedule(() -> {
      h.settled = true;
      h.provisional.clear();
    }, 2 * settle, TimeUnit.MILLISECONDS);
    return h;
  }

  private void announce(Home h) {
    publish(Subjects.home(h.sessionId), NodeMessage.newBuilder()
        .setClaim(Claim.newBuilder().setClaimedAtMillis(h.claimedAtMillis).setNodeId(nodeId)).build().toByteArray());
  }

  /** A message on relay.v1.home.&lt;sid&gt; (dispatcher thread of the session's shard). */
  private void onHome(Home h, Message msg) {
    NodeMessage m;
    try {
      m = NodeMessage.parseFrom(msg.getData());
    } catch (InvalidProtocolBufferException e) {
      return;
    }
    switch (m.getKindCase()) {
      case BIND -> onBind(h, m, msg.getReplyTo());
      case TERMINATE -> onTerminate(m.getTerminate(), msg.getReplyTo());
      case CLAIM -> onClaim(h, m.getClaim());
      default -> { }
    }
  }

  private void onClaim(Home h, Claim other) {
    if (other.getNodeId().equals(nodeId) || homes.get(h.sessionId) != h) {
      return;
    }
    log.debug("claim from {} at {} vs ours at {}", other.getNodeId(), other.getClaimedAtMillis(), h.claimedAtMillis);
    boolean theyWin = other.getClaimedAtMillis() < h.claimedAtMillis
        || (other.getClaimedAtMillis() == h.claimedAtMillis && other.getNodeId().compareTo(nodeId) < 0);
    if (!theyWin) {
      // Make sure the other claimer hears the winning claim, even if our announcements beat its subscription.
      announce(h);
      return;
    }
    yieldHome(h, other.getNodeId());
  }

  /** Lost a claim race: stop being home and hand every participant over to the winner. */
  private void yieldHome(Home h, String winner) {
    synchronized (h) {
      if (h.yielded || !homes.remove(h.sessionId, h)) {
        return;
      }
      h.yielded = true;
      handOver(h, winner);
    }
  }

  private void handOver(Home h, String winner) {
    claimsLost.increment();
    log.info("session home claim lost to node {}; handing participants over", winner);
    Subscription s = h.subscription;
    if (s != null) {
      unsubscribe(s);
    }
    for (SessionHub.Evicted e : hub.evict(h.sessionId)) {
      ClusterSeat cs = null;
      for (ClusterSeat p : h.provisional) {
        if (p.ticket.role() == e.ticket().role() && p.ticket.ticketId().equals(e.ticket().ticketId())) {
          cs = p;
        }
      }
      if (cs != null) {
        cs.detach(true);
        locate(cs, true, e.pending(), 0);
      } else {
        e.participant().close(Status.UNAVAILABLE.withDescription(
            "this session moved to another relay node while it was being set up; reconnect"));
      }
    }
  }

  private void onBind(Home h, NodeMessage m, String replyTo) {
    if (replyTo == null) {
      return;
    }
    BindRequest b = m.getBind();
    String sid = h.sessionId;
    if (!sid.equals(b.getSessionId()) || m.getBridgeToken().length() < 16) {
      return;
    }
    if (hub.isEnded(sid)) {
      replyBind(replyTo, "", RelayError.SESSION_ENDED.grpcCode().name(),
          "this session has already ended; its tickets cannot be used again (create a new session)", null);
      return;
    }
    if (!hub.holds(sid) && homes.get(sid) != h) {
      replyBind(replyTo, "", "UNAVAILABLE", "session moved between relay nodes; reconnect", null);
      return;
    }
    // Otherwise this node is home (or is claiming it and the session is created right here).
    RemoteParticipant rp = new RemoteParticipant(this, sid, b.getRole(), m.getBridgeToken(), token(),
        b.getBridgeNode(), b.getWindowFrames(), b.getWindowBytes());
    try {
      rp.subscription = dispatcher(sid).subscribe(rp.upSubject, msg -> onUp(rp, msg));
    } catch (RuntimeException e) {
      replyBind(replyTo, "", "UNAVAILABLE", "cluster link down; retry shortly", null);
      return;
    }
    bindings.add(rp);
    Ticket ticket = new Ticket(sid, b.getRole(), b.getTicketId(), Instant.ofEpochMilli(b.getExpiresAtMillis()));
    Seat seat;
    try {
      seat = hub.joinHere(ticket, rp);
    } catch (RelayException e) {
      rp.release();
      replyBind(replyTo, "", e.error().grpcCode().name(), e.getMessage(), null);
      return;
    }
    replyBind(replyTo, rp.homeToken, "", "", rp);
    rp.attach(seat);
  }

  private void replyBind(String replyTo, String homeToken, String code, String message, RemoteParticipant rp) {
    BindReply.Builder r = BindReply.newBuilder().setErrorCode(code).setErrorMessage(message).setHomeNode(nodeId);
    if (rp != null) {
      r.setWindowFrames(rp.windowFrames()).setWindowBytes(rp.windowBytes());
    }
    publish(replyTo, NodeMessage.newBuilder().setHomeToken(homeToken).setBound(r).build().toByteArray());
  }

  private void onTerminate(TerminateRequest t, String replyTo) {
    Ticket ticket = new Ticket(t.getSessionId(), t.getRole(), "", Instant.ofEpochMilli(t.getExpiresAtMillis()));
    boolean done = hub.terminateHere(ticket, t.getReason());
    if (replyTo != null) {
      publish(replyTo, NodeMessage.newBuilder().setTerminated(TerminateReply.newBuilder().setTerminated(done))
          .build().toByteArray());
    }
  }

  private void onUp(RemoteParticipant rp, Message msg) {
    try {
      rp.onUp(NodeMessage.parseFrom(msg.getData()));
    } catch (InvalidProtocolBufferException e) {
      // Not ours: drop.
    }
  }

  private void onDown(RemoteSeat bridge, Message msg) {
    try {
      bridge.onDown(NodeMessage.parseFrom(msg.getData()));
    } catch (InvalidProtocolBufferException e) {
      // Not ours: drop.
    }
  }

  @Override
  public Boolean terminate(Ticket ticket, String reason) {
    Connection c = nc;
    if (!up || c == null) {
      return null;
    }
    byte[] req = NodeMessage.newBuilder().setTerminate(TerminateRequest.newBuilder()
        .setSessionId(ticket.sessionId()).setRole(ticket.role()).setReason(reason == null ? "" : reason)
        .setExpiresAtMillis(ticket.expiresAt().toEpochMilli())).build().toByteArray();
    try {
      Message reply = c.requestWithTimeout(Subjects.home(ticket.sessionId()), req, REQUEST_TIMEOUT)
          .get(REQUEST_TIMEOUT.toMillis() + 500, TimeUnit.MILLISECONDS);
      return NodeMessage.parseFrom(reply.getData()).getTerminated().getTerminated();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    } catch (ExecutionException | TimeoutException | InvalidProtocolBufferException | RuntimeException e) {
      return null;
    }
  }

  @Override
  public void ended(String sessionId, long rememberUntilMillis) {
    // Keep (or start) answering lookups for the ended session with SESSION_ENDED until its
    // tickets expire, so its tickets stay dead cluster-wide while this node lives.
    if (up && dispatchers != null) {
      ensureHome(sessionId, false);
    }
  }

  // --- plumbing ---

  boolean publish(String subject, byte[] data) {
    Connection c = nc;
    if (c == null) {
      publishFailures.increment();
      return false;
    }
    try {
      c.publish(subject, data);
      return true;
    } catch (RuntimeException e) {
      publishFailures.increment();
      return false;
    }
  }

  void unbind(Binding b) {
    bindings.remove(b);
    Subscription s = b.subscription;
    if (s != null) {
      unsubscribe(s);
    }
  }

  private void unsubscribe(Subscription s) {
    try {
      s.getDispatcher().unsubscribe(s);
    } catch (RuntimeException ignored) {
      // Connection closed.
    }
  }

  private Dispatcher dispatcher(String sid) {
    Dispatcher[] d = dispatchers;
    if (d == null) {
      throw new IllegalStateException("not connected to NATS yet");
    }
    return d[Math.floorMod(sid.hashCode(), d.length)];
  }

  private void failAll(String why) {
    for (Binding b : new ArrayList<>(bindings)) {
      b.lost(why);
    }
  }

  private void sweepSafely() {
    try {
      long now = System.nanoTime();
      long hb = config.clusterHeartbeat().toNanos();
      long dead = config.clusterDeadAfter().toNanos();
      for (Binding b : bindings) {
        b.tick(now, hb, dead);
      }
      for (Home h : homes.values()) {
        if (!hub.holds(h.sessionId) && !hub.isEnded(h.sessionId) && h.settled && homes.remove(h.sessionId, h)) {
          Subscription s = h.subscription;
          if (s != null) {
            unsubscribe(s);
          }
        }
      }
    } catch (RuntimeException e) {
      log.error("cluster sweep failed", e);
    }
  }

  void countOut(int bytes) {
    framesOut.increment();
    bytesOut.add(bytes);
  }

  void countIn(int bytes) {
    framesIn.increment();
    bytesIn.add(bytes);
  }

  RelayConfig config() {
    return config;
  }

  SessionHub hub() {
    return hub;
  }

  private static String token() {
    byte[] b = new byte[16];
    RANDOM.nextBytes(b);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
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

  private static boolean isNoResponders(Throwable err) {
    Throwable t = err;
    while (t instanceof CompletionException || t instanceof ExecutionException) {
      t = t.getCause();
    }
    return t instanceof JetStreamStatusException s && s.getStatus() != null && s.getStatus().getCode() == 503;
  }

  private static String rootCause(Throwable err) {
    Throwable t = err;
    while (t.getCause() != null) {
      t = t.getCause();
    }
    return t.getClass().getSimpleName();
  }

  // --- state for telemetry and tests ---

  /** True while connected to a NATS server ({@code relay_nats_link_up}). */
  public boolean isUp() {
    return up;
  }

  public String nodeId() {
    return nodeId;
  }

  /** Frames this node sent to / received from other relay nodes ({@code relay_cross_node_frames_total{direction}}). */
  public long crossNodeFrames(Direction direction) {
    return direction == Direction.OUT ? framesOut.sum() : framesIn.sum();
  }

  /** Payload bytes this node sent to / received from other relay nodes. */
  public long crossNodeBytes(Direction direction) {
    return direction == Direction.OUT ? bytesOut.sum() : bytesIn.sum();
  }

  /** Live cross-node bindings held here (bridge and home halves). */
  public int bindingCount() {
    return bindings.size();
  }

  /** Sessions this node answers for on NATS (live homes and remembered ended sessions). */
  public int homeCount() {
    return homes.size();
  }

  /** Home claim races this node lost (and handed its participants over). */
  public long claimsLost() {
    return claimsLost.sum();
  }

  /** Messages that could not be published (link down or outgoing queue full). */
  public long publishFailures() {
    return publishFailures.sum();
  }

  @Override
  public void close() {
    closing = true;
    failAll("relay node is shutting down");
    timers.shutdownNow();
    Connection c = nc;
    if (c != null) {
      try {
        c.close();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
