package dev.checkmate.relay.client;

import dev.checkmate.relay.proto.v1.Ack;
import dev.checkmate.relay.proto.v1.ClientMessage;
import dev.checkmate.relay.proto.v1.Frame;
import dev.checkmate.relay.proto.v1.Heartbeat;
import dev.checkmate.relay.proto.v1.Join;
import dev.checkmate.relay.proto.v1.Joined;
import dev.checkmate.relay.proto.v1.ServerMessage;
import dev.checkmate.relay.proto.v1.SessionEnded;
import io.grpc.Status;
import java.lang.System.Logger.Level;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * A participant's session: the state machine (joining, live, reconnecting, ended) over one {@link
 * ConnectAttempt} at a time, and the one lock that guards it. The parts it drives are small and
 * have their own tests: {@link ResumeBuffer} (what the peer has not acknowledged), {@link
 * InboundSequencer} (what to do with each incoming frame, when to acknowledge), {@link
 * ReconnectPolicy} (when and where to rejoin), {@link FrameCodec} (plain or end-to-end), {@link
 * Delivery} (blocking inbox or listener). The rules they implement together are in docs/resume.md;
 * the browser SDK's {@code RelaySession} is built from the same parts.
 *
 * <p>Threads: gRPC runs one attempt's callbacks serially, and an attempt is replaced only after
 * the previous one ended, so incoming messages are handled one at a time ("the incoming thread").
 * Application threads call send, receive, terminate and close; the client's scheduler runs
 * heartbeats, delayed acks and reconnects. {@link #lock} guards every field below it and serializes
 * every write to the stream; it is never held while calling the application (listener, send
 * futures), so a slow callback never blocks a send.
 *
 * <p>Incarnations: {@link #incarnation} is chosen once per session object and sent with every
 * (re)join. A peer whose incarnation changes restarted: both directions start over (see {@link
 * PeerRestartedException}).
 */
final class GrpcRelaySession implements RelaySession, ConnectAttempt.Events {
  private static final System.Logger LOG = System.getLogger(GrpcRelaySession.class.getName());
  private static final SecureRandom INCARNATIONS = new SecureRandom();

  /** Starts Connect calls; implemented by RelayClient (one channel per target). */
  interface Connector {
    /** Starts a Connect call to target {@code index} (modulo the number of targets). */
    void connect(int index, ConnectAttempt attempt);

    /** True once the client was closed: no more reconnects. */
    boolean closed();
  }

  /** Resume settings (see RelayClient.Builder#resume). */
  record ResumeSettings(boolean enabled, Duration grace, int maxUnackedFrames, long maxUnackedBytes) {
    static final ResumeSettings OFF = new ResumeSettings(false, Duration.ZERO, 0, 0);
  }

  private enum State { JOINING, LIVE, RECONNECTING, ENDED }

  /** What a peer restart changed, to report once the lock is released. */
  private record Restart(PeerRestartedException event, List<CompletableFuture<Void>> dropped) {}

  private final Delivery delivery;
  private final BlockingInbox inbox; // null in the callback style
  private final int receiveQueueFrames;
  private final Duration callTimeout;
  private final Duration heartbeatInterval;
  private final ScheduledExecutorService scheduler;
  private final Connector connector;
  private final ResumeSettings resume;
  private final FrameCodec codec;
  private final long incarnation;
  private final CompletableFuture<Joined> joined = new CompletableFuture<>();
  private final CompletableFuture<RelayException> ended = new CompletableFuture<>();
  /** Spans of this session (ClientTracing); the no-op unless the client has OpenTelemetry. */
  private volatile ClientTracing.SessionTrace trace = ClientTracing.SessionTrace.NOOP;
  /** Application frames handed to delivery since the session or the last peer restart; incoming thread only. */
  private long framesFromPeer;
  /** The first Joined; read without the lock by the accessors. */
  private volatile Joined joinedMessage;
  private String ticket;
  private Role expectedRole;

  private final Object lock = new Object();
  // Everything below is guarded by lock.
  private State state = State.JOINING;
  private ConnectAttempt current;
  private final Outbound outbound;
  private final InboundSequencer inbound;
  /** Counts peer restarts: a delivery of a frame from before the last one must not touch the new ack. */
  private int inboundEpoch;
  private final ReconnectPolicy reconnect;
  private boolean writesClosed;
  private boolean terminateQueued;
  private boolean closedLocally;
  private boolean cancelRequested;
  private RelayException terminal;
  private boolean peerPresent;
  /** The peer's incarnation as last reported by the relay; 0 = unknown. */
  private long peerIncarnation;
  /** Whether a pairing sends the unacknowledged frames again (not on the session's first pairing). */
  private boolean resendOnPairing;
  private boolean rejoinedAfterRestart;
  private ScheduledFuture<?> heartbeat;
  private ScheduledFuture<?> ackTimer;
  private ScheduledFuture<?> retryTimer;
  private long acksSent;

  GrpcRelaySession(
      SessionListener listener,
      int receiveQueueFrames,
      Duration callTimeout,
      Duration heartbeatInterval,
      ScheduledExecutorService scheduler,
      FrameCodec codec,
      Connector connector,
      ResumeSettings resume) {
    this.receiveQueueFrames = receiveQueueFrames;
    this.callTimeout = callTimeout;
    this.heartbeatInterval = heartbeatInterval;
    this.scheduler = scheduler;
    this.connector = connector;
    this.resume = resume == null ? ResumeSettings.OFF : resume;
    this.codec = codec == null ? FrameCodec.PLAIN : codec;
    this.outbound = new Outbound(this.resume.enabled()
        ? ResumeBuffer.keeping(this.resume.maxUnackedFrames(), this.resume.maxUnackedBytes())
        : ResumeBuffer.counting(), this.codec);
    this.inbound = new InboundSequencer(this.resume.enabled());
    this.reconnect = new ReconnectPolicy(this.resume.grace(), () -> ThreadLocalRandom.current().nextDouble());
    if (listener == null) {
      this.inbox = new BlockingInbox();
      this.delivery = inbox;
    } else {
      this.inbox = null;
      this.delivery = new ListenerDelivery(this, listener);
    }
    long id;
    do {
      id = INCARNATIONS.nextLong();
    } while (id == 0);
    this.incarnation = id;
  }

  // ---- start-up, called by RelayClient.join ----

  /** Set before the call starts. */
  void trace(ClientTracing.SessionTrace trace) {
    this.trace = trace;
  }

  /** Starts the Connect call, sends the Join (with the role the relay must check, if given) and waits for the answer. */
  void join(String ticket, Role expectedRole) throws InterruptedException {
    this.ticket = ticket;
    this.expectedRole = expectedRole;
    ConnectAttempt first = new ConnectAttempt(0, receiveQueueFrames, this);
    synchronized (lock) {
      current = first;
    }
    connector.connect(0, first);
    synchronized (lock) {
      // The first message goes out regardless of isReady: it is tiny and nothing can precede it.
      first.write(joinMessage());
    }
    try {
      joined.get(callTimeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      throw Errors.fromThrowable(e.getCause());
    } catch (TimeoutException e) {
      close();
      throw new RelayException(StatusCode.DEADLINE_EXCEEDED,
          "the relay did not answer the Join within " + callTimeout.toMillis() + " ms", e);
    } catch (InterruptedException e) {
      close();
      throw e;
    }
  }

  private ClientMessage joinMessage() {
    Join.Builder join = Join.newBuilder().setTicket(ticket).setIncarnation(incarnation);
    if (expectedRole != null) {
      join.setExpectedRole(expectedRole == Role.PROVER
          ? dev.checkmate.relay.proto.v1.Role.PROVER : dev.checkmate.relay.proto.v1.Role.VERIFIER);
    }
    return ClientMessage.newBuilder().setJoin(join).build();
  }

  // ---- RelaySession ----

  @Override
  public String sessionId() {
    return joinedMessage.getSessionId();
  }

  @Override
  public Role role() {
    return Role.fromProto(joinedMessage.getRole());
  }

  @Override
  public Instant expiresAt() {
    var ts = joinedMessage.getExpiresAt();
    return Instant.ofEpochSecond(ts.getSeconds(), ts.getNanos());
  }

  @Override
  public RelayLimits limits() {
    return RelayLimits.fromProto(joinedMessage.getLimits());
  }

  @Override
  public boolean peerPresent() {
    synchronized (lock) {
      return peerPresent;
    }
  }

  @Override
  public boolean isOpen() {
    synchronized (lock) {
      return terminal == null && !closedLocally;
    }
  }

  @Override
  public boolean isReconnecting() {
    synchronized (lock) {
      return state == State.RECONNECTING;
    }
  }

  @Override
  public boolean rejoinedAfterRestart() {
    synchronized (lock) {
      return rejoinedAfterRestart;
    }
  }

  @Override
  public boolean awaitPeer(Duration timeout) throws InterruptedException {
    return await(() -> peerPresent, timeout);
  }

  @Override
  public boolean endToEndEncrypted() {
    return codec.endToEnd();
  }

  @Override
  public boolean awaitSecure(Duration timeout) throws InterruptedException {
    if (!codec.endToEnd()) {
      throw new IllegalStateException("this session was joined without end-to-end encryption");
    }
    return await(codec::isSecure, timeout);
  }

  /** Waits until {@code condition} holds (true) or the timeout passes (false); throws the end if first. */
  private boolean await(BooleanSupplier condition, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    synchronized (lock) {
      while (true) {
        if (condition.getAsBoolean()) {
          return true;
        }
        if (terminal != null) {
          throw terminal;
        }
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          return false;
        }
        TimeUnit.NANOSECONDS.timedWait(lock, left);
      }
    }
  }

  @Override
  public Optional<String> shortAuthenticationString() {
    return Optional.ofNullable(codec.sas());
  }

  @Override
  public CompletableFuture<Void> send(byte[] payload) {
    int max = limits().maxFrameBytes();
    if (max > 0 && codec.endToEnd()) {
      max = Math.max(1, max - codec.overhead());
    }
    if (max > 0 && payload.length > max) {
      throw new IllegalArgumentException(
          "payload of " + payload.length + " bytes exceeds the relay's frame limit of " + max
              + " bytes" + (codec.endToEnd() ? " (frame limit minus 28 bytes of end-to-end overhead)" : "")
              + "; split it into smaller frames");
    }
    CompletableFuture<Void> future = new CompletableFuture<>();
    synchronized (lock) {
      if (terminateQueued) {
        throw new IllegalStateException("terminate() was called; the session accepts no more frames");
      }
      if (terminal != null) {
        return CompletableFuture.failedFuture(terminal);
      }
      if (writesClosed) {
        return CompletableFuture.failedFuture(Errors.closedLocally());
      }
      // Numbered (and sealed) when written, under the lock: sequence order is wire order.
      outbound.send(payload.clone(), future);
    }
    drain();
    return future;
  }

  @Override
  public void sendBlocking(byte[] payload) throws InterruptedException {
    try {
      send(payload).get();
    } catch (ExecutionException e) {
      throw Errors.fromThrowable(e.getCause());
    }
  }

  @Override
  public byte[] receive(Duration timeout) throws InterruptedException {
    return inbox().take(timeout.toNanos());
  }

  @Override
  public byte[] receive() throws InterruptedException {
    return inbox().take(-1);
  }

  private BlockingInbox inbox() {
    if (inbox == null) {
      throw new IllegalStateException("frames go to the SessionListener in the callback style");
    }
    return inbox;
  }

  @Override
  public Stream<byte[]> frames() {
    return inbox().frames();
  }

  @Override
  public void terminate(String reason) throws InterruptedException {
    synchronized (lock) {
      if (terminal != null || writesClosed || terminateQueued) {
        return;
      }
      terminateQueued = true;
      // Queued behind the data frames so the peer gets every frame sent before the end.
      outbound.terminate(reason);
    }
    drain();
    try {
      ended.get(callTimeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      LOG.log(Level.WARNING, "relay did not confirm terminate within {0}; closing", callTimeout);
      close();
    } catch (ExecutionException e) {
      throw new AssertionError("ended is never completed exceptionally", e);
    }
  }

  @Override
  public void close() {
    ConnectAttempt a;
    boolean noStream;
    synchronized (lock) {
      if (cancelRequested) {
        return;
      }
      a = current;
      if (a != null && a.closed() && terminal != null) {
        return; // already over and the stream is gone
      }
      cancelRequested = true;
      // Only an open session is "closed by the application"; an ended one keeps its reason.
      closedLocally = terminal == null;
      writesClosed = true;
      noStream = state == State.RECONNECTING;
      cancel(retryTimer);
    }
    // No write can follow (writesClosed); cancelling reports the end through onClosed like any end.
    if (a != null) {
      a.cancel("closed by the application");
    }
    if (noStream) {
      finish(Errors.closedLocally()); // no live stream whose end would report it
    }
  }

  // ---- incoming (ConnectAttempt.Events; the serial incoming thread) ----

  @Override
  public void onReady(ConnectAttempt a) {
    if (isCurrent(a)) {
      drain();
    }
  }

  @Override
  public void onMessage(ConnectAttempt a, ServerMessage message) {
    synchronized (lock) {
      if (current != a || terminal != null) {
        return;
      }
    }
    switch (message.getKindCase()) {
      case JOINED -> onJoined(a, message.getJoined());
      case PEER_JOINED -> onPeerJoined(a, message.getPeerJoined().getIncarnation());
      case PEER_LEFT -> onPeerLeft(a, message.getPeerLeft().getReconnecting(), message.getPeerLeft().getDetail());
      case ACK -> onAck(a, message.getAck());
      case DATA -> onFrame(a, message.getData());
      case SESSION_ENDED -> {
        // The status that closes the stream follows right after; remember why for that moment.
        a.sessionEnded = message.getSessionEnded();
        a.request(1);
      }
      // Heartbeat replies, and kinds a newer relay may add: nothing to do but keep reading.
      default -> a.request(1);
    }
  }

  private void onJoined(ConnectAttempt a, Joined j) {
    a.markJoined();
    Joined firstJoined = joinedMessage; // written only here, on the incoming thread
    boolean first = firstJoined == null;
    if (!first && (!j.getSessionId().equals(firstJoined.getSessionId()) || j.getRole() != firstJoined.getRole())) {
      protocolViolation("the relay resumed a different session or role");
      return;
    }
    if (!first && j.getReplacedIncarnation() != 0) {
      // Another process held this role meanwhile, and the peer has started over with it.
      String why = "another participant joined with this session's ticket while this one was reconnecting";
      LOG.log(Level.WARNING, "ending session: {0}", why);
      finish(new RoleTakenException(why, null));
      a.cancel(why);
      return;
    }
    boolean present = j.getPeerPresent();
    Restart restart = null;
    synchronized (lock) {
      if (terminal != null) {
        return;
      }
      state = State.LIVE;
      if (first) {
        joinedMessage = j;
        rejoinedAfterRestart = j.getReplacedIncarnation() != 0;
        peerIncarnation = j.getPeerIncarnation();
        // Frames already in the relay's rendezvous buffer reach a first peer intact; every later
        // pairing sends the unacknowledged frames again. A restarted participant cannot know what
        // its predecessor's peer holds: it resends from its first pairing on, and takes nothing
        // from the peer before the peer has acknowledged this incarnation.
        resendOnPairing = present || rejoinedAfterRestart;
        if (rejoinedAfterRestart && peerIncarnation != 0) {
          inbound.fence();
        }
        byte[] hello = codec.start(j.getSessionId(), Role.fromProto(j.getRole()));
        if (hello != null) {
          outbound.handshake(List.of(hello)); // relay seq 1; the relay holds it until the peer joins
        }
      } else if (peerChanged(j.getPeerIncarnation())) {
        restart = restartLocked(j.getPeerIncarnation()); // the peer restarted while we were away
        outbound.relinked();
      } else {
        outbound.relinked();
        if (j.getPeerIncarnation() != 0) {
          peerIncarnation = j.getPeerIncarnation();
        }
        if (present) {
          resendOnPairing = true;
          outbound.markResend();
        }
      }
      peerPresent = present;
      lock.notifyAll();
      if (present) {
        // The current ack first (it names the peer), then retransmissions, then new frames.
        sendAckLocked(true);
      }
    }
    if (first) {
      trace.joined(j.getSessionId(), Role.fromProto(j.getRole()), present);
      startHeartbeat();
      joined.complete(j);
    } else {
      trace.event("relay.client.resumed");
      LOG.log(Level.INFO, "session resumed (target {0})", a.target);
      if (restart != null) {
        announce(restart);
      }
      toApplication(l -> l.onResumed(this));
    }
    a.request(1);
    drain();
  }

  private void onPeerJoined(ConnectAttempt a, long peer) {
    Restart restart = null;
    synchronized (lock) {
      if (peerChanged(peer)) {
        restart = restartLocked(peer);
      } else if (peer != 0) {
        peerIncarnation = peer;
      }
      if (resendOnPairing && restart == null) {
        outbound.markResend(); // after any loss (ours, or the peer's stream replaced or rejoined)
      }
      resendOnPairing = true;
      peerPresent = true;
      lock.notifyAll();
      sendAckLocked(true); // our ack first, so the peer drops what we already have
    }
    if (restart != null) {
      announce(restart);
    }
    trace.event("relay.client.peer_joined");
    toApplication(l -> l.onPeerJoined(this));
    a.request(1);
    drain();
  }

  private void onPeerLeft(ConnectAttempt a, boolean reconnecting, String detail) {
    synchronized (lock) {
      peerPresent = false;
      lock.notifyAll();
    }
    trace.event(reconnecting ? "relay.client.peer_reconnecting" : "relay.client.peer_left");
    if (reconnecting) {
      toApplication(l -> l.onPeerReconnecting(this, detail));
    } else {
      toApplication(l -> l.onPeerLeft(this, detail));
    }
    a.request(1);
  }

  /** The peer has every frame of ours up to {@code ack.seq}: forget them, and make room for new sends. */
  private void onAck(ConnectAttempt a, Ack ack) {
    synchronized (lock) {
      long named = ack.getIncarnation();
      if (named == 0 || named == incarnation) {
        if (named == incarnation) {
          inbound.liftFence(); // the peer knows this incarnation: what it sends now is meant for it
        }
        outbound.onAck(ack.getSeq());
      }
      // else: meant for a predecessor of ours that held this role; nothing of ours is acknowledged
    }
    a.request(1);
    drain();
  }

  private void onFrame(ConnectAttempt a, Frame frame) {
    int size = frame.getPayload().size();
    long seq = frame.getSeq();
    InboundSequencer.Verdict verdict;
    long expected;
    int epoch;
    synchronized (lock) {
      expected = inbound.lastAccepted() + 1;
      verdict = inbound.offer(seq);
      epoch = inboundEpoch;
    }
    switch (verdict) {
      case DUPLICATE -> {
        scheduleAck(); // the peer still holds it: tell it again that we have it
        a.request(1);
        return;
      }
      case AHEAD, FENCED -> {
        // Ahead: the peer resends everything unacknowledged in order after a re-pairing, so take
        // it then. Fenced: sent before the peer knew of the restart, not meant for this stream.
        a.request(1);
        return;
      }
      case VIOLATION -> {
        protocolViolation("expected frame " + expected + " from the peer but got frame " + seq);
        return;
      }
      default -> {
        // accepted: below
      }
    }
    trace.received(size);
    byte[] payload = frame.getPayload().toByteArray();
    if (codec.endToEnd()) {
      List<byte[]> replies = new ArrayList<>(2);
      boolean wasSecure = codec.isSecure();
      try {
        payload = codec.open(payload, replies);
      } catch (EndToEndSecurityException e) {
        endToEndFailure(e);
        return;
      }
      if (payload == null) {
        // A handshake message: answer it; DATA may be sealed once our CONFIRM is queued.
        synchronized (lock) {
          outbound.handshake(replies);
          codec.activate();
          lock.notifyAll();
        }
        delivered(epoch, seq, size); // consumed here: nothing for the application
        drain();
        if (!wasSecure && codec.isSecure()) {
          String sas = codec.sas();
          trace.event("relay.client.e2e_secure");
          toApplication(l -> l.onSecure(this, sas));
        }
        return;
      }
    }
    framesFromPeer++;
    try {
      delivery.frame(payload, () -> delivered(epoch, seq, size));
    } catch (RuntimeException e) {
      listenerFailed(e);
    }
  }

  /**
   * Frame {@code seq} reached the application (or the end-to-end layer consumed it): acknowledge it
   * by the ack policy and ask the relay for the next message. Runs on the incoming thread (callback
   * style, handshake) or on the application's thread that took it (blocking style).
   */
  private void delivered(int epoch, long seq, int size) {
    InboundSequencer.AckAction ack = InboundSequencer.AckAction.NONE;
    synchronized (lock) {
      if (epoch == inboundEpoch && terminal == null) {
        ack = inbound.delivered(seq, size);
      }
    }
    if (ack == InboundSequencer.AckAction.NOW) {
      sendAck(false);
    } else if (ack == InboundSequencer.AckAction.SOON) {
      scheduleAck();
    }
    requestOne();
  }

  // ---- incarnations ----

  /** Under the lock: whether {@code reported} is another incarnation than the peer we knew. */
  private boolean peerChanged(long reported) {
    return reported != 0 && peerIncarnation != 0 && reported != peerIncarnation;
  }

  /**
   * Under the lock: the peer restarted. Both directions start over with the new incarnation: our
   * unacknowledged and queued frames are dropped and counted as lost, numbering starts at 1 both
   * ways, frames from the peer are ignored until it acknowledges this incarnation, and end-to-end
   * encryption runs a new handshake. The ack naming the new incarnation goes out before anything
   * else we send from now on.
   */
  private Restart restartLocked(long newPeer) {
    long received = framesFromPeer; // all of them reach the application before the restart
    framesFromPeer = 0;
    Outbound.Dropped dropped = outbound.restart();
    inbound.reset();
    inboundEpoch++;
    inbound.fence();
    peerIncarnation = newPeer;
    resendOnPairing = true;
    byte[] hello = codec.start(joinedMessage.getSessionId(), Role.fromProto(joinedMessage.getRole()));
    if (hello != null) {
      outbound.handshake(List.of(hello));
    }
    lock.notifyAll(); // awaitSecure: the new handshake is not secure yet
    if (state == State.LIVE) {
      sendAckLocked(true);
    }
    LOG.log(Level.INFO, "peer restarted: {0} frame(s) lost, {1} received from its previous incarnation",
        dropped.lostFrames(), received);
    return new Restart(new PeerRestartedException(dropped.lostFrames(), received), dropped.sends());
  }

  /** Reports a restart: fails the dropped sends and tells the application, in order with frames. */
  private void announce(Restart r) {
    r.dropped().forEach(f -> f.completeExceptionally(r.event()));
    trace.event("relay.client.peer_restarted");
    try {
      delivery.peerRestarted(r.event());
    } catch (PeerRestartedException e) {
      // The listener does not handle restarts (the default): end rather than go on with a new peer.
      endBecauseUnhandled(e);
    } catch (RuntimeException e) {
      listenerFailed(e);
    }
  }

  private void endBecauseUnhandled(PeerRestartedException restart) {
    LOG.log(Level.WARNING, "ending session: the peer restarted and the application does not handle restarts");
    writeIfLive(Outbound.terminateMessage("the peer restarted and the application does not handle restarts"));
    finish(restart);
  }

  // ---- acknowledgements (the policy is InboundSequencer's) ----

  /** Sends the cumulative ack if it moved ({@code force}: even if not). */
  private void sendAck(boolean force) {
    synchronized (lock) {
      sendAckLocked(force);
    }
  }

  private void sendAckLocked(boolean force) {
    if (state != State.LIVE || writesClosed) {
      return;
    }
    long seq = inbound.ackValue();
    if ((seq == 0 && peerIncarnation == 0) || (!force && !inbound.ackPending())) {
      return; // nothing to acknowledge, and no incarnation to name
    }
    current.write(ClientMessage.newBuilder()
        .setAck(Ack.newBuilder().setSeq(seq).setIncarnation(peerIncarnation)).build());
    inbound.acked();
    acksSent++;
  }

  private void scheduleAck() {
    synchronized (lock) {
      if (ackTimer != null || terminal != null) {
        return;
      }
      try {
        ackTimer = scheduler.schedule(() -> {
          synchronized (lock) {
            ackTimer = null;
            sendAckLocked(true);
          }
        }, InboundSequencer.ACK_DELAY_MILLIS, TimeUnit.MILLISECONDS);
      } catch (RejectedExecutionException e) {
        // client closed
      }
    }
  }

  // ---- stream ends and reconnects ----

  @Override
  public void onClosed(ConnectAttempt a, Status status) {
    boolean local;
    synchronized (lock) {
      if (current != a || terminal != null) {
        return;
      }
      if (state == State.LIVE) {
        state = State.RECONNECTING;
      }
      local = cancelRequested;
    }
    SessionEnded sessionEnded = a.sessionEnded;
    RelayException end;
    if (status == null) {
      end = sessionEnded != null ? endFrom(Status.OK, sessionEnded) : Errors.closedWithoutReason();
    } else if (local && status.getCode() == Status.Code.CANCELLED) {
      end = Errors.closedLocally();
    } else {
      end = endFrom(status, sessionEnded);
    }
    if (!local && resume.enabled() && joinedMessage != null && sessionEnded == null && status != null
        && isTransportLoss(status, end) && !connector.closed()) {
      if (a.joined()) {
        beginReconnect(end);
      } else {
        retryLater(end);
      }
      return;
    }
    finish(end);
  }

  /** A loss the SDK resumes from; ABORTED (replaced by a newer stream) and every relay verdict are not. */
  private static boolean isTransportLoss(Status status, RelayException end) {
    if (end instanceof CertificatePinningException) {
      return false;
    }
    return status.getCode() == Status.Code.UNAVAILABLE || status.getCode() == Status.Code.CANCELLED;
  }

  private void beginReconnect(RelayException cause) {
    Duration window;
    synchronized (lock) {
      if (terminal != null) {
        return;
      }
      state = State.RECONNECTING;
      reconnect.begin(System.nanoTime(), joinDeadline());
      window = reconnect.window();
      peerPresent = false;
      lock.notifyAll();
    }
    LOG.log(Level.INFO, "stream lost ({0}); resuming within {1} ms", cause.getMessage(), window.toMillis());
    trace.event("relay.client.reconnecting");
    toApplication(l -> l.onReconnecting(this, cause));
    scheduleReconnect(cause);
  }

  /** A rejoin failed before Joined: try again (the next target) after the backoff, or give up. */
  private void retryLater(RelayException cause) {
    synchronized (lock) {
      reconnect.attemptFailed();
    }
    scheduleReconnect(cause);
  }

  private void scheduleReconnect(RelayException cause) {
    RelayException giveUp = null;
    synchronized (lock) {
      if (terminal != null) {
        return;
      }
      long delay = reconnect.nextDelayMillis(System.nanoTime());
      if (cancelRequested) {
        giveUp = Errors.closedLocally(); // closed while the stream was being replaced
      } else if (delay < 0) {
        giveUp = new RelayUnavailableException("could not resume the session within "
            + reconnect.window().toMillis() + " ms (" + reconnect.attempts() + " attempts); last error: "
            + cause.getMessage(), cause);
      } else {
        try {
          retryTimer = scheduler.schedule(() -> reconnectNow(cause), delay, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
          giveUp = cause; // the client was closed
        }
      }
    }
    if (giveUp != null) {
      finish(giveUp);
    }
  }

  /** Starts a new Connect call with the same ticket and incarnation (on the scheduler thread). */
  private void reconnectNow(RelayException cause) {
    ConnectAttempt a;
    long left;
    synchronized (lock) {
      retryTimer = null;
      if (terminal != null || cancelRequested) {
        return;
      }
      if (connector.closed()) {
        a = null;
        left = 0;
      } else {
        int room = inbox != null ? Math.max(1, receiveQueueFrames - inbox.size()) : receiveQueueFrames;
        a = new ConnectAttempt(reconnect.target(), room, this);
        current = a;
        left = reconnect.leftNanos(System.nanoTime());
      }
    }
    if (a == null) {
      finish(cause);
      return;
    }
    try {
      connector.connect(a.target, a);
      synchronized (lock) {
        if (current == a && !a.closed() && !writesClosed) {
          a.write(joinMessage());
        }
      }
    } catch (RuntimeException e) {
      onClosed(a, Status.fromThrowable(e));
      return;
    }
    a.cancelUnlessJoinedWithin(scheduler,
        Math.max(1, Math.min(callTimeout.toMillis(), TimeUnit.NANOSECONDS.toMillis(left))));
  }

  /** The relay's join deadline (the role is given up after it), or zero when unknown. */
  private Duration joinDeadline() {
    Joined j = joinedMessage;
    return j == null ? Duration.ZERO
        : Duration.ofSeconds(Integer.toUnsignedLong(j.getLimits().getJoinDeadlineSeconds()));
  }

  /** The end the relay reported; with E2E, a peer's "e2e: CHECK" terminate is a security failure. */
  private RelayException endFrom(Status status, SessionEnded ended) {
    if (codec.endToEnd() && ended != null
        && ended.getReason() == dev.checkmate.relay.proto.v1.EndReason.TERMINATED
        && ended.getMessage().startsWith(EndToEndSecurityException.TERMINATE_PREFIX)) {
      return EndToEndSecurityException.fromPeer(ended.getMessage());
    }
    return Errors.fromStatus(status, ended);
  }

  // ---- writing ----

  /** Writes queued messages while the stream is ready; the on-ready handler calls it again later. */
  private void drain() {
    Outbound.Drained drained;
    synchronized (lock) {
      if (state != State.LIVE || writesClosed) {
        return;
      }
      ConnectAttempt stream = current;
      drained = outbound.drain(new Outbound.Writer() {
        @Override
        public boolean ready() {
          return stream.isReady();
        }

        @Override
        public void write(ClientMessage message) {
          stream.write(message);
        }
      }, trace);
    }
    // Completed outside the lock: dependent stages run application code.
    drained.written().forEach(f -> f.complete(null));
    if (drained.sealFailure() != null) {
      endToEndFailure(drained.sealFailure());
    }
  }

  /** Writes a message that skips the queue (a heartbeat, a Terminate that ends the session) if live. */
  private void writeIfLive(ClientMessage message) {
    synchronized (lock) {
      if (state == State.LIVE && !writesClosed) {
        current.write(message);
      }
    }
  }

  private void startHeartbeat() {
    if (heartbeatInterval.isZero()) {
      return;
    }
    ClientMessage beat = ClientMessage.newBuilder().setHeartbeat(Heartbeat.getDefaultInstance()).build();
    long millis = heartbeatInterval.toMillis();
    synchronized (lock) {
      if (heartbeat == null && terminal == null) {
        // Heartbeats skip the queue: they are tiny and carry no order.
        heartbeat = scheduler.scheduleAtFixedRate(() -> writeIfLive(beat), millis, millis, TimeUnit.MILLISECONDS);
      }
    }
  }

  private boolean isCurrent(ConnectAttempt a) {
    synchronized (lock) {
      return current == a;
    }
  }

  /** Asks the current stream for one more message (the application made room). */
  private void requestOne() {
    ConnectAttempt a;
    synchronized (lock) {
      a = current;
    }
    if (a != null) {
      a.request(1);
    }
  }

  // ---- ends ----

  /** An end-to-end check failed: tell the peer which one (via the relay) and end the session. */
  private void endToEndFailure(EndToEndSecurityException e) {
    LOG.log(Level.WARNING, "ending session: {0}", e.reason());
    writeIfLive(Outbound.terminateMessage(EndToEndSecurityException.TERMINATE_PREFIX + e.check()));
    finish(e);
  }

  private void protocolViolation(String detail) {
    LOG.log(Level.WARNING, "ending session: {0}", detail);
    // Tell the relay (and so the peer) why, instead of just dropping the stream.
    writeIfLive(Outbound.terminateMessage("protocol error: " + detail));
    finish(new ProtocolViolationException(detail));
  }

  /** Records the end once: fails pending sends, wakes readers and waiters, tells the application. */
  private void finish(RelayException end) {
    List<CompletableFuture<Void>> pending;
    synchronized (lock) {
      if (terminal != null) {
        return;
      }
      terminal = end;
      state = State.ENDED;
      writesClosed = true;
      pending = outbound.clear();
      cancel(heartbeat);
      cancel(ackTimer);
      cancel(retryTimer);
      codec.close();
      lock.notifyAll();
    }
    pending.forEach(f -> f.completeExceptionally(end));
    joined.completeExceptionally(end);
    ended.complete(end);
    trace.ended(end);
    // A listener hears about sessions it was handed; a failed join is reported by join() instead.
    if (inbox != null || joinedMessage != null) {
      try {
        delivery.ended(end);
      } catch (RuntimeException e) {
        LOG.log(Level.WARNING, "SessionListener.onEnded threw", e);
      }
    }
  }

  /** Calls the listener (callback style); a listener that throws ends its session. */
  private void toApplication(Consumer<SessionListener> event) {
    try {
      delivery.event(event);
    } catch (RuntimeException e) {
      listenerFailed(e);
    }
  }

  private void listenerFailed(RuntimeException e) {
    // An application bug: stop the stream rather than keep feeding a listener in an unknown state.
    LOG.log(Level.WARNING, "SessionListener threw; closing the session", e);
    close();
  }

  private static void cancel(ScheduledFuture<?> timer) {
    if (timer != null) {
      timer.cancel(false);
    }
  }

  // ---- for tests and diagnostics ----

  long duplicatesDropped() {
    synchronized (lock) {
      return inbound.duplicates();
    }
  }

  long outOfOrderDropped() {
    synchronized (lock) {
      return inbound.ahead();
    }
  }

  long acksSent() {
    synchronized (lock) {
      return acksSent;
    }
  }

  long framesResent() {
    synchronized (lock) {
      return outbound.resent();
    }
  }

  long incarnation() {
    return incarnation;
  }
}
