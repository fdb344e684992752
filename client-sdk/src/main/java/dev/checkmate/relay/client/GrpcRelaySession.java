package dev.checkmate.relay.client;

import com.google.protobuf.ByteString;
import dev.checkmate.relay.proto.v1.Ack;
import dev.checkmate.relay.proto.v1.ClientMessage;
import dev.checkmate.relay.proto.v1.Frame;
import dev.checkmate.relay.proto.v1.Heartbeat;
import dev.checkmate.relay.proto.v1.Join;
import dev.checkmate.relay.proto.v1.Joined;
import dev.checkmate.relay.proto.v1.ServerMessage;
import dev.checkmate.relay.proto.v1.SessionEnded;
import dev.checkmate.relay.proto.v1.Terminate;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Spliterator;
import java.util.Spliterators;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingDeque;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;

/**
 * A participant's session: one Connect stream at a time with manual flow control in both
 * directions (the shape of grpc-java's manualflowcontrol example, client side), and, with resume
 * on, the streams that replace it after a transport loss.
 *
 * <p>Threads: gRPC callbacks of one call ({@code onNext}, {@code onError}, {@code onCompleted}, the
 * on-ready handler) run serially on the channel's executor; callbacks of a replaced call are
 * ignored. Incoming messages are handled under {@link #recvLock}, so two calls' callbacks never
 * interleave. Application threads call {@code send}, {@code receive}, {@code terminate} and
 * {@code close}; the client's scheduler sends heartbeats, acknowledgements and reconnects. {@link
 * #lock} serializes every use of the request stream except {@code request(n)}, which gRPC allows
 * from any thread. Lock order: {@code recvLock} before {@code lock}; never call the listener with
 * {@code lock} held.
 *
 * <h2>Resume</h2>
 * Outgoing DATA frames (E2E handshake messages included) keep their sequence number and exact bytes
 * in {@link #unacked} until the peer acknowledges them; after a (re)pairing they are sent again in
 * order ({@link #resendQueue}) before anything new. Incoming frames are de-duplicated by sequence
 * number before anything else (before E2E {@code open}); the highest in-order seq is acknowledged
 * cumulatively, batched. A lost stream (UNAVAILABLE, or CANCELLED not caused by us) is replaced by
 * a new Connect call with the same ticket, with jittered exponential backoff, within the grace
 * window; the application sees nothing but the optional listener callbacks.
 */
final class GrpcRelaySession implements RelaySession {
  private static final System.Logger LOG = System.getLogger(GrpcRelaySession.class.getName());
  private static final int MAX_TERMINATE_REASON_BYTES = 256;
  /** Put in the inbox after the last frame so blocked readers wake up and see the end. */
  private static final Object END = new Object();
  /** Acknowledge after this many new frames or bytes, else after {@link #ACK_DELAY_MILLIS}. */
  static final int ACK_EVERY_FRAMES = 16;
  static final long ACK_EVERY_BYTES = 64 * 1024;
  static final long ACK_DELAY_MILLIS = 50;
  /** Reconnect backoff: full jitter over min(cap, base * 2^attempt). */
  static final long BACKOFF_BASE_MILLIS = 100;
  static final long BACKOFF_CAP_MILLIS = 2_000;

  /** Starts Connect calls; implemented by RelayClient (one channel per target). */
  interface Connector {
    /** Starts a Connect call to target {@code index} (modulo the number of targets). */
    void connect(int index, ClientResponseObserver<ClientMessage, ServerMessage> observer);

    /** True once the client was closed: no more reconnects. */
    boolean closed();
  }

  /** Resume settings (see RelayClient.Builder#resume). */
  record ResumeSettings(boolean enabled, Duration grace, int maxUnackedFrames, long maxUnackedBytes) {
    static final ResumeSettings OFF = new ResumeSettings(false, Duration.ZERO, 0, 0);
  }

  private final SessionListener listener; // null in the blocking style
  private final int receiveQueueFrames;
  private final Duration callTimeout;
  private final Duration heartbeatInterval;
  private final ScheduledExecutorService scheduler;
  private final Connector connector;
  private final ResumeSettings resume;

  private final CompletableFuture<Joined> joined = new CompletableFuture<>();
  private final CompletableFuture<RelayException> ended = new CompletableFuture<>();
  // Holds at most about receiveQueueFrames frames: the relay only sends what we requested.
  private final LinkedBlockingDeque<Object> inbox = new LinkedBlockingDeque<>();

  private final Object lock = new Object();
  // Guarded by lock.
  private Attempt current; // the latest Connect call (live, or joining during a reconnect)
  private boolean live; // current has been answered Joined and may be written to
  private final ArrayDeque<Outgoing> outbox = new ArrayDeque<>();
  private long nextSeq = 1;
  private boolean writesClosed;
  private boolean terminateQueued;
  private boolean closedLocally;
  private boolean cancelRequested;
  private RelayException terminal;
  private ScheduledFuture<?> heartbeat;
  // Resume state, guarded by lock.
  private final ArrayDeque<Sent> unacked = new ArrayDeque<>();
  private long unackedBytes;
  private ArrayDeque<Sent> resendQueue = new ArrayDeque<>();
  private long peerAcked; // highest seq of ours the peer acknowledged
  private long lastAckSent; // highest seq of the peer's we acknowledged
  private int framesSinceAck;
  private long bytesSinceAck;
  private ScheduledFuture<?> ackTimer;
  private boolean reconnecting;
  private long graceDeadlineNanos;
  private int reconnectAttempts;
  private int targetIndex;
  private ScheduledFuture<?> retryTimer;
  private int resumes;
  private boolean everPaired;

  // Touched only under recvLock.
  private final Object recvLock = new Object();
  private volatile long lastReceivedSeq;
  private boolean peerMayRestart; // resume off only: a rejoined peer numbers from 1

  private final Object peerMonitor = new Object();
  private volatile boolean peerPresent;
  private volatile Joined joinedMessage;
  private String ticket;
  private Role expectedRole;

  // Counters for tests and diagnostics.
  final AtomicLong duplicatesDropped = new AtomicLong();
  final AtomicLong outOfOrderDropped = new AtomicLong();
  final AtomicLong framesResent = new AtomicLong();
  final AtomicLong acksSent = new AtomicLong();

  /** A queued write: a data payload (numbered, and sealed with E2E, when written) or a control message. */
  private record Outgoing(ClientMessage message, byte[] payload, CompletableFuture<Void> sent) {}

  /** A DATA frame as written (sealed, numbered), kept until the peer acknowledges it. */
  private record Sent(long seq, ClientMessage message, int bytes) {}

  /** End-to-end layer, or null without E2E. Handshake payloads it produces jump the outbox queue. */
  private final E2eSessionLayer e2e;
  // Guarded by lock: E2E handshake payloads (COMMIT, HELLO, CONFIRM) waiting to be written.
  private final ArrayDeque<byte[]> handshakeOut = new ArrayDeque<>();

  /** Spans of this stream (ClientTracing); the no-op unless the client has OpenTelemetry. */
  private volatile ClientTracing.SessionTrace trace = ClientTracing.SessionTrace.NOOP;

  GrpcRelaySession(
      SessionListener listener,
      int receiveQueueFrames,
      Duration callTimeout,
      Duration heartbeatInterval,
      ScheduledExecutorService scheduler,
      E2eSessionLayer e2e,
      Connector connector,
      ResumeSettings resume) {
    this.e2e = e2e;
    this.listener = listener;
    this.receiveQueueFrames = receiveQueueFrames;
    this.callTimeout = callTimeout;
    this.heartbeatInterval = heartbeatInterval;
    this.scheduler = scheduler;
    this.connector = connector;
    this.resume = resume == null ? ResumeSettings.OFF : resume;
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
    Attempt first = new Attempt(0, receiveQueueFrames);
    synchronized (lock) {
      current = first;
    }
    connector.connect(0, first);
    synchronized (lock) {
      // The first message goes out regardless of isReady: it is tiny and nothing else can be
      // sent before it anyway.
      first.stream.onNext(joinMessage());
    }
    try {
      joined.get(callTimeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      throw Errors.fromThrowable(e.getCause());
    } catch (TimeoutException e) {
      close();
      throw new RelayException(
          Status.Code.DEADLINE_EXCEEDED,
          "the relay did not answer the Join within " + callTimeout.toMillis() + " ms",
          e);
    } catch (InterruptedException e) {
      close();
      throw e;
    }
  }

  private ClientMessage joinMessage() {
    Join.Builder join = Join.newBuilder().setTicket(ticket);
    if (expectedRole != null) {
      join.setExpectedRole(expectedRole == Role.PROVER
          ? dev.checkmate.relay.proto.v1.Role.PROVER : dev.checkmate.relay.proto.v1.Role.VERIFIER);
    }
    return ClientMessage.newBuilder().setJoin(join).build();
  }

  /** One Connect call. Callbacks of a call that is no longer {@link #current} are ignored. */
  private final class Attempt implements ClientResponseObserver<ClientMessage, ServerMessage> {
    final int target;
    final int initialRequest;
    volatile ClientCallStreamObserver<ClientMessage> stream;
    volatile boolean closed; // onError/onCompleted seen
    volatile boolean joinedHere;
    volatile SessionEnded sessionEnded;
    volatile ScheduledFuture<?> joinTimer;

    Attempt(int target, int initialRequest) {
      this.target = target;
      this.initialRequest = initialRequest;
    }

    @Override
    public void beforeStart(ClientCallStreamObserver<ClientMessage> s) {
      stream = s;
      // Ask for receiveQueueFrames messages up front and then one more per message consumed,
      // never more: that is what bounds the memory a slow application can be made to hold.
      s.disableAutoRequestWithInitial(initialRequest);
      s.setOnReadyHandler(() -> {
        if (isCurrent(this)) {
          drain();
        }
      });
    }

    @Override
    public void onNext(ServerMessage message) {
      synchronized (recvLock) {
        if (!isCurrent(this)) {
          return;
        }
        handle(this, message);
      }
    }

    @Override
    public void onError(Throwable t) {
      closed = true;
      streamEnded(this, Status.fromThrowable(t));
    }

    @Override
    public void onCompleted() {
      closed = true;
      streamEnded(this, null);
    }

    void request(int n) {
      try {
        stream.request(n);
      } catch (RuntimeException e) {
        // The call is already closed; nothing more will arrive anyway.
      }
    }
  }

  private boolean isCurrent(Attempt a) {
    synchronized (lock) {
      return current == a;
    }
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
    return peerPresent;
  }

  @Override
  public boolean isOpen() {
    synchronized (lock) {
      return terminal == null && !closedLocally;
    }
  }

  @Override
  public boolean awaitPeer(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    synchronized (peerMonitor) {
      while (true) {
        if (peerPresent) {
          return true;
        }
        RelayException end = terminalOrNull();
        if (end != null) {
          throw end;
        }
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          return false;
        }
        TimeUnit.NANOSECONDS.timedWait(peerMonitor, left);
      }
    }
  }

  @Override
  public boolean isReconnecting() {
    synchronized (lock) {
      return reconnecting && terminal == null;
    }
  }

  @Override
  public boolean endToEndEncrypted() {
    return e2e != null;
  }

  @Override
  public boolean awaitSecure(Duration timeout) throws InterruptedException {
    if (e2e == null) {
      throw new IllegalStateException("this session was joined without end-to-end encryption");
    }
    long deadline = System.nanoTime() + timeout.toNanos();
    synchronized (peerMonitor) {
      while (true) {
        if (e2e.isSecure()) {
          return true;
        }
        RelayException end = terminalOrNull();
        if (end != null) {
          throw end;
        }
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          return false;
        }
        TimeUnit.NANOSECONDS.timedWait(peerMonitor, left);
      }
    }
  }

  @Override
  public java.util.Optional<String> shortAuthenticationString() {
    return e2e == null || !e2e.isSecure() ? java.util.Optional.empty() : java.util.Optional.of(e2e.sas());
  }

  @Override
  public CompletableFuture<Void> send(byte[] payload) {
    int max = limits().maxFrameBytes();
    if (max > 0 && e2e != null) {
      max = Math.max(1, max - E2eSessionLayer.OVERHEAD);
    }
    if (max > 0 && payload.length > max) {
      throw new IllegalArgumentException(
          "payload of " + payload.length + " bytes exceeds the relay's frame limit of " + max
              + " bytes" + (e2e != null ? " (frame limit minus 28 bytes of end-to-end overhead)" : "")
              + "; split it into smaller frames");
    }
    CompletableFuture<Void> sent = new CompletableFuture<>();
    synchronized (lock) {
      if (terminateQueued) {
        throw new IllegalStateException("terminate() was called; the session accepts no more frames");
      }
      if (terminal != null) {
        return CompletableFuture.failedFuture(terminal);
      }
      if (writesClosed) {
        return CompletableFuture.failedFuture(closedError());
      }
      // Numbered (and sealed) when written, under the lock: sequence order is wire order.
      outbox.add(new Outgoing(null, payload.clone(), sent));
    }
    drain();
    return sent;
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
    requireBlockingStyle();
    return take(inbox.poll(timeout.toNanos(), TimeUnit.NANOSECONDS));
  }

  @Override
  public byte[] receive() throws InterruptedException {
    requireBlockingStyle();
    return take(inbox.take());
  }

  private byte[] take(Object item) {
    if (item == null) {
      return null;
    }
    if (item == END) {
      inbox.addFirst(END); // keep it there for the next reader
      throw terminalOrNull();
    }
    // The application made room for one more: only now may the relay send the next message.
    requestOne();
    return (byte[]) item;
  }

  @Override
  public Stream<byte[]> frames() {
    requireBlockingStyle();
    Spliterator<byte[]> spliterator =
        new Spliterators.AbstractSpliterator<byte[]>(
            Long.MAX_VALUE, Spliterator.ORDERED | Spliterator.NONNULL) {
          @Override
          public boolean tryAdvance(Consumer<? super byte[]> action) {
            try {
              action.accept(receive());
              return true;
            } catch (SessionEndedException e) {
              if (e.endReason() == EndReason.TERMINATED) {
                return false;
              }
              throw e;
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
              throw new RelayException(Status.Code.CANCELLED, "interrupted while receiving", e);
            }
          }
        };
    return StreamSupport.stream(spliterator, false);
  }

  @Override
  public void terminate(String reason) throws InterruptedException {
    synchronized (lock) {
      if (terminal != null || writesClosed || terminateQueued) {
        return;
      }
      terminateQueued = true;
      // Queued behind the data frames so the peer gets every frame sent before the end.
      outbox.add(
          new Outgoing(
              ClientMessage.newBuilder()
                  .setTerminate(Terminate.newBuilder().setReason(truncate(reason)))
                  .build(),
              null,
              null));
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
    Attempt a;
    boolean idle;
    synchronized (lock) {
      if (cancelRequested) {
        return;
      }
      a = current;
      if (a != null && a.closed && terminal != null) {
        return; // already over and the stream is gone
      }
      cancelRequested = true;
      // Only an open session is "closed by the application"; an ended one keeps its reason.
      closedLocally = terminal == null;
      writesClosed = true;
      idle = reconnecting && !live;
      if (retryTimer != null) {
        retryTimer.cancel(false);
      }
    }
    // Outside the lock: no write can follow (writesClosed), and cancel triggers onError, which
    // reports the end through the same path as every other end.
    if (a != null && a.stream != null && !a.closed) {
      a.stream.cancel("closed by the application", null);
    }
    if (idle) {
      finish(closedError()); // no live stream whose end would report it
    }
  }


  // ---- incoming messages (under recvLock) ----

  private void handle(Attempt a, ServerMessage message) {
    switch (message.getKindCase()) {
      case JOINED:
        onJoined(a, message.getJoined());
        break;
      case PEER_JOINED:
        boolean resend = false;
        if (resume.enabled()) {
          synchronized (lock) {
            // Frames already in the relay's rendezvous buffer reach a first peer intact; after
            // any loss (ours, or the peer's stream replaced/rejoined) send the unacknowledged again.
            resend = everPaired || resumes > 0;
            everPaired = true;
            if (resend) {
              markResend();
            }
          }
          sendAck(true);
        } else {
          // Without resume a peer that comes back is a new stream of the same role and numbers
          // from 1 again.
          peerMayRestart = true;
        }
        setPeerPresent(true);
        trace.event("relay.client.peer_joined");
        notifyListener(l -> l.onPeerJoined(this));
        a.request(1);
        if (resend) {
          drain();
        }
        break;
      case PEER_LEFT:
        setPeerPresent(false);
        boolean peerReconnecting = message.getPeerLeft().getReconnecting();
        String detail = message.getPeerLeft().getDetail();
        trace.event(peerReconnecting ? "relay.client.peer_reconnecting" : "relay.client.peer_left");
        if (peerReconnecting) {
          notifyListener(l -> l.onPeerReconnecting(this, detail));
        } else {
          notifyListener(l -> l.onPeerLeft(this, detail));
        }
        a.request(1);
        break;
      case ACK:
        if (resume.enabled()) {
          onAck(message.getAck().getSeq());
        }
        a.request(1);
        break;
      case DATA:
        onFrame(a, message.getData());
        break;
      case SESSION_ENDED:
        // The status that closes the stream follows right after; remember why for that moment.
        a.sessionEnded = message.getSessionEnded();
        a.request(1);
        break;
      default:
        // Heartbeat replies, and kinds a newer relay may add: nothing to do but keep reading.
        a.request(1);
        break;
    }
  }

  private void onJoined(Attempt a, Joined j) {
    a.joinedHere = true;
    ScheduledFuture<?> timer = a.joinTimer;
    if (timer != null) {
      timer.cancel(false);
    }
    boolean present = j.getPeerPresent();
    if (joinedMessage == null) {
      joinedMessage = j;
      synchronized (lock) {
        live = true;
        everPaired = present;
      }
      if (e2e != null) {
        // The COMMIT is the first frame (relay seq 1); the relay holds it until the peer joins.
        byte[] commit = e2e.start(j.getSessionId(), Role.fromProto(j.getRole()));
        synchronized (lock) {
          handshakeOut.add(commit);
        }
        drain();
      }
      setPeerPresent(present);
      trace.joined(j.getSessionId(), Role.fromProto(j.getRole()), present);
      startHeartbeat();
      joined.complete(j);
      a.request(1);
      return;
    }
    // A resumed stream: same session, same role (the relay checked the ticket).
    if (!j.getSessionId().equals(joinedMessage.getSessionId()) || j.getRole() != joinedMessage.getRole()) {
      protocolViolation("the relay resumed a different session or role");
      return;
    }
    synchronized (lock) {
      if (terminal != null) {
        return;
      }
      live = true;
      reconnecting = false;
      reconnectAttempts = 0;
      resumes++;
      if (present) {
        everPaired = true;
        markResend();
      }
    }
    setPeerPresent(present);
    if (present) {
      // The current ack first, so the peer drops what we already have, then our retransmissions.
      sendAck(true);
    }
    trace.event("relay.client.resumed");
    LOG.log(Level.INFO, "session resumed (attempt target {0})", a.target);
    notifyListener(l -> l.onResumed(this));
    a.request(1);
    drain();
  }

  private void onFrame(Attempt a, Frame frame) {
    if (terminalOrNull() != null) {
      return;
    }
    long seq = frame.getSeq();
    if (resume.enabled()) {
      // De-duplication comes first: neither E2E nor the application ever sees a frame twice.
      if (seq <= lastReceivedSeq) {
        duplicatesDropped.incrementAndGet();
        scheduleAck(); // the peer still holds it: tell it again that we have it
        a.request(1);
        return;
      }
      if (seq != lastReceivedSeq + 1) {
        // After a loss the relay may deliver newer frames (held for us while we were away) before
        // the peer's retransmission of the lost ones; the peer resends everything unacknowledged
        // in order after the re-pairing, so drop it here and take it in order then.
        outOfOrderDropped.incrementAndGet();
        a.request(1);
        return;
      }
    } else if (seq != lastReceivedSeq + 1 && !(peerMayRestart && seq == 1)) {
      protocolViolation(
          "expected frame " + (lastReceivedSeq + 1) + " from the peer but got frame " + seq);
      return;
    }
    lastReceivedSeq = seq;
    peerMayRestart = false;
    if (resume.enabled()) {
      countForAck(frame.getPayload().size());
    }
    trace.received(frame.getPayload().size());
    byte[] payload = frame.getPayload().toByteArray();
    if (e2e != null) {
      List<byte[]> replies = E2eSessionLayer.newOutList();
      boolean wasSecure = e2e.isSecure();
      try {
        payload = e2e.onIncoming(payload, replies);
      } catch (EndToEndSecurityException e) {
        endToEndFailure(e);
        return;
      }
      if (payload == null) {
        // A handshake message: answer it, publish the keys once our CONFIRM is queued.
        synchronized (lock) {
          handshakeOut.addAll(replies);
          e2e.activate();
        }
        drain();
        if (!wasSecure && e2e.isSecure()) {
          synchronized (peerMonitor) {
            peerMonitor.notifyAll();
          }
          String sas = e2e.sas();
          trace.event("relay.client.e2e_secure");
          notifyListener(l -> l.onSecure(this, sas));
        }
        a.request(1); // nothing for the application: read on
        return;
      }
    }
    if (listener == null) {
      inbox.add(payload); // request(1) happens when the application takes it
    } else {
      byte[] delivered = payload;
      notifyListener(l -> l.onFrame(this, delivered));
      a.request(1); // only after the callback returned: a slow callback slows the peer
    }
  }

  // ---- acknowledgements ----

  /** Counts an accepted frame; acknowledges at once every few frames/bytes, else after a short delay. */
  private void countForAck(int bytes) {
    boolean now;
    synchronized (lock) {
      framesSinceAck++;
      bytesSinceAck += bytes;
      now = framesSinceAck >= ACK_EVERY_FRAMES || bytesSinceAck >= ACK_EVERY_BYTES;
    }
    if (now) {
      sendAck(false);
    } else {
      scheduleAck();
    }
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
          }
          sendAck(true);
        }, ACK_DELAY_MILLIS, TimeUnit.MILLISECONDS);
      } catch (RejectedExecutionException e) {
        // client closed
      }
    }
  }

  /** Sends the cumulative ack on the live stream (again, if {@code force}; else only if it moved). */
  private void sendAck(boolean force) {
    synchronized (lock) {
      long seq = lastReceivedSeq;
      if (!live || writesClosed || seq == 0 || (!force && seq == lastAckSent)) {
        return;
      }
      current.stream.onNext(ClientMessage.newBuilder().setAck(Ack.newBuilder().setSeq(seq)).build());
      lastAckSent = seq;
      framesSinceAck = 0;
      bytesSinceAck = 0;
    }
    acksSent.incrementAndGet();
  }

  /** The peer has every frame up to {@code seq}: forget them, and make room for new sends. */
  private void onAck(long seq) {
    synchronized (lock) {
      if (seq >= nextSeq) {
        LOG.log(Level.DEBUG, "peer acknowledged frame {0} but only {1} were sent", seq, nextSeq - 1);
        seq = nextSeq - 1;
      }
      if (seq <= peerAcked) {
        return;
      }
      peerAcked = seq;
      while (!unacked.isEmpty() && unacked.peekFirst().seq() <= seq) {
        unackedBytes -= unacked.pollFirst().bytes();
      }
    }
    drain();
  }

  /** Queues every unacknowledged frame to be written again, in order, before anything new. Under lock. */
  private void markResend() {
    resendQueue = new ArrayDeque<>(unacked);
  }

  private boolean unackedHasRoom(int bytes) {
    return unacked.isEmpty()
        || (unacked.size() < resume.maxUnackedFrames() && unackedBytes + bytes <= resume.maxUnackedBytes());
  }

  // ---- stream ends and reconnects ----

  private void streamEnded(Attempt a, Status status) {
    boolean local;
    synchronized (lock) {
      if (current != a || terminal != null) {
        return;
      }
      live = false;
      local = cancelRequested;
    }
    ScheduledFuture<?> timer = a.joinTimer;
    if (timer != null) {
      timer.cancel(false);
    }
    SessionEnded sessionEnded = a.sessionEnded;
    RelayException end;
    if (status == null) {
      end = sessionEnded != null ? endFrom(Status.OK, sessionEnded) : Errors.closedWithoutReason();
    } else if (local && status.getCode() == Status.Code.CANCELLED) {
      end = closedError();
    } else {
      end = endFrom(status, sessionEnded);
    }
    if (!local && resume.enabled() && joinedMessage != null && sessionEnded == null && status != null
        && isTransportLoss(status, end) && !connector.closed()) {
      if (a.joinedHere) {
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
    Duration grace = grace();
    synchronized (lock) {
      if (terminal != null) {
        return;
      }
      reconnecting = true;
      reconnectAttempts = 0;
      graceDeadlineNanos = System.nanoTime() + grace.toNanos();
    }
    LOG.log(Level.INFO, "stream lost ({0}); resuming within {1} ms", cause.getMessage(), grace.toMillis());
    setPeerPresent(false);
    trace.event("relay.client.reconnecting");
    notifyListener(l -> l.onReconnecting(this, cause));
    scheduleReconnect(cause);
  }

  /** A reconnect attempt failed: try again (the next target) after the backoff, or give up. */
  private void retryLater(RelayException cause) {
    synchronized (lock) {
      targetIndex++;
    }
    scheduleReconnect(cause);
  }

  private void scheduleReconnect(RelayException cause) {
    RelayException giveUp = null;
    synchronized (lock) {
      if (terminal != null) {
        return;
      }
      if (cancelRequested) {
        giveUp = closedError(); // closed while the stream was being replaced
      }
      long left = graceDeadlineNanos - System.nanoTime();
      if (giveUp != null) {
        // reported below
      } else
      if (left <= 0) {
        giveUp = new RelayUnavailableException("could not resume the session within "
            + grace().toMillis() + " ms (" + reconnectAttempts + " attempts); last error: "
            + cause.getMessage(), cause);
      } else {
        long cap = Math.min(BACKOFF_CAP_MILLIS, BACKOFF_BASE_MILLIS << Math.min(reconnectAttempts, 20));
        long delay = Math.min(ThreadLocalRandom.current().nextLong(cap + 1), TimeUnit.NANOSECONDS.toMillis(left));
        reconnectAttempts++;
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

  /** Starts a new Connect call with the same ticket (on the scheduler thread). */
  private void reconnectNow(RelayException cause) {
    Attempt a;
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
        int room = listener == null ? Math.max(1, receiveQueueFrames - inbox.size()) : receiveQueueFrames;
        a = new Attempt(targetIndex, room);
        current = a;
        left = graceDeadlineNanos - System.nanoTime();
      }
    }
    if (a == null) {
      finish(cause);
      return;
    }
    try {
      connector.connect(a.target, a);
      synchronized (lock) {
        if (current == a && !a.closed && !writesClosed) {
          a.stream.onNext(joinMessage());
        }
      }
    } catch (RuntimeException e) {
      streamEnded(a, Status.fromThrowable(e));
      return;
    }
    long wait = Math.max(1, Math.min(callTimeout.toMillis(), TimeUnit.NANOSECONDS.toMillis(left)));
    try {
      a.joinTimer = scheduler.schedule(() -> {
        if (!a.joinedHere && !a.closed) {
          a.stream.cancel("the relay did not answer the Join within " + wait + " ms", null);
        }
      }, wait, TimeUnit.MILLISECONDS);
    } catch (RejectedExecutionException e) {
      a.stream.cancel("client closed", null);
    }
  }

  /** How long to keep trying: the configured grace, at most the relay's join deadline. */
  private Duration grace() {
    Duration grace = resume.grace();
    Joined j = joinedMessage;
    if (j != null && j.getLimits().getJoinDeadlineSeconds() > 0) {
      Duration deadline = Duration.ofSeconds(Integer.toUnsignedLong(j.getLimits().getJoinDeadlineSeconds()));
      if (deadline.compareTo(grace) < 0) {
        grace = deadline;
      }
    }
    return grace;
  }

  /** The end the relay reported; with E2E, a peer's "e2e: CHECK" terminate is a security failure. */
  private RelayException endFrom(Status status, SessionEnded ended) {
    if (e2e != null && ended != null
        && ended.getReason() == dev.checkmate.relay.proto.v1.EndReason.TERMINATED
        && ended.getMessage().startsWith(EndToEndSecurityException.TERMINATE_PREFIX)) {
      return EndToEndSecurityException.fromPeer(ended.getMessage());
    }
    return Errors.fromStatus(status, ended);
  }

  // ---- internals ----

  /** Writes queued messages while the stream is ready; the on-ready handler calls it again later. */
  private void drain() {
    List<CompletableFuture<Void>> sent = new ArrayList<>();
    EndToEndSecurityException sealFailure = null;
    synchronized (lock) {
      while (live && !writesClosed && current.stream.isReady()) {
        ClientCallStreamObserver<ClientMessage> stream = current.stream;
        Sent again = resendQueue.poll();
        if (again != null) {
          if (again.seq() > peerAcked) {
            stream.onNext(again.message()); // exact bytes, original seq
            framesResent.incrementAndGet();
          }
          continue;
        }
        byte[] handshake = handshakeOut.poll();
        if (handshake != null) {
          stream.onNext(dataMessage(handshake));
          continue;
        }
        Outgoing next = outbox.peek();
        if (next == null) {
          break;
        }
        ClientMessage message = next.message();
        if (next.payload() != null) {
          byte[] payload = next.payload();
          if (resume.enabled()
              && !unackedHasRoom(payload.length + (e2e != null ? E2eSessionLayer.OVERHEAD : 0))) {
            break; // back-pressure: the send future completes once acks make room
          }
          if (e2e != null) {
            if (!e2e.canSeal()) {
              break; // data waits until our CONFIRM is out; handshake replies still pass above
            }
            try {
              payload = e2e.seal(payload);
            } catch (EndToEndSecurityException e) {
              sealFailure = e;
              break;
            }
          }
          message = dataMessage(payload);
        }
        outbox.poll();
        stream.onNext(message);
        if (next.sent() != null) {
          sent.add(next.sent());
        }
      }
    }
    // Completed outside the lock: dependent stages run user code.
    sent.forEach(f -> f.complete(null));
    if (sealFailure != null) {
      endToEndFailure(sealFailure);
    }
  }

  /** A DATA message with the next relay sequence number; call under the lock, in wire order. */
  private ClientMessage dataMessage(byte[] payload) {
    long seq = nextSeq++;
    Frame frame = Frame.newBuilder().setSeq(seq).setPayload(ByteString.copyFrom(payload)).build();
    trace.sent(payload.length);
    ClientMessage message = ClientMessage.newBuilder().setData(frame).build();
    if (resume.enabled()) {
      unacked.addLast(new Sent(seq, message, payload.length));
      unackedBytes += payload.length;
    }
    return message;
  }

  /** Control messages (heartbeats) skip the queue: they are tiny and carry no order. */
  private void sendControl(ClientMessage message) {
    synchronized (lock) {
      if (live && !writesClosed) {
        current.stream.onNext(message);
      }
    }
  }

  /** Asks the current stream for one more message (the application made room). */
  private void requestOne() {
    Attempt a;
    synchronized (lock) {
      a = current;
    }
    if (a != null) {
      a.request(1);
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
        heartbeat =
            scheduler.scheduleAtFixedRate(() -> sendControl(beat), millis, millis, TimeUnit.MILLISECONDS);
      }
    }
  }

  /** An end-to-end check failed: tell the peer which one (via the relay) and end the session. */
  private void endToEndFailure(EndToEndSecurityException e) {
    LOG.log(Level.WARNING, "ending session: {0}", e.reason());
    synchronized (lock) {
      if (live && !writesClosed) {
        current.stream.onNext(
            ClientMessage.newBuilder()
                .setTerminate(Terminate.newBuilder().setReason(EndToEndSecurityException.TERMINATE_PREFIX + e.check()))
                .build());
      }
    }
    finish(e);
  }

  private void protocolViolation(String detail) {
    LOG.log(Level.WARNING, "ending session: {0}", detail);
    synchronized (lock) {
      if (live && !writesClosed) {
        // Tell the relay (and so the peer) why, instead of just dropping the stream.
        current.stream.onNext(
            ClientMessage.newBuilder()
                .setTerminate(Terminate.newBuilder().setReason(truncate("protocol error: " + detail)))
                .build());
      }
    }
    finish(new ProtocolViolationException(detail));
  }

  /** Records the end once: fails pending sends, wakes readers and waiters, tells the listener. */
  private void finish(RelayException end) {
    List<Outgoing> pending;
    synchronized (lock) {
      if (terminal != null) {
        return;
      }
      terminal = end;
      writesClosed = true;
      reconnecting = false;
      pending = new ArrayList<>(outbox);
      outbox.clear();
      if (heartbeat != null) {
        heartbeat.cancel(false);
      }
      if (ackTimer != null) {
        ackTimer.cancel(false);
      }
      if (retryTimer != null) {
        retryTimer.cancel(false);
      }
      unacked.clear();
      unackedBytes = 0;
      resendQueue.clear();
      handshakeOut.clear();
      if (e2e != null) {
        e2e.close();
      }
    }
    for (Outgoing o : pending) {
      if (o.sent() != null) {
        o.sent().completeExceptionally(end);
      }
    }
    joined.completeExceptionally(end);
    inbox.add(END);
    synchronized (peerMonitor) {
      peerMonitor.notifyAll();
    }
    ended.complete(end);
    trace.ended(end);
    // A listener hears about sessions it was handed; a failed join is reported by join() instead.
    if (listener != null && joinedMessage != null) {
      try {
        listener.onEnded(this, end);
      } catch (RuntimeException e) {
        LOG.log(Level.WARNING, "SessionListener.onEnded threw", e);
      }
    }
  }

  private void notifyListener(Consumer<SessionListener> event) {
    if (listener == null) {
      return;
    }
    try {
      event.accept(listener);
    } catch (RuntimeException e) {
      // An application bug: stop the stream rather than keep feeding a listener in an unknown state.
      LOG.log(Level.WARNING, "SessionListener threw; closing the session", e);
      close();
    }
  }

  private void setPeerPresent(boolean present) {
    synchronized (peerMonitor) {
      peerPresent = present;
      peerMonitor.notifyAll();
    }
  }

  private RelayException terminalOrNull() {
    synchronized (lock) {
      return terminal;
    }
  }

  private void requireBlockingStyle() {
    if (listener != null) {
      throw new IllegalStateException("frames go to the SessionListener in the callback style");
    }
  }

  private static RelayException closedError() {
    return new RelayException(Status.Code.CANCELLED, "session closed by the application", null);
  }

  /** The relay refuses reasons over 256 UTF-8 bytes; cut on a character boundary instead. */
  static String truncate(String reason) {
    if (reason == null) {
      return "";
    }
    int bytes = 0;
    for (int i = 0; i < reason.length(); ) {
      int cp = reason.codePointAt(i);
      int len = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
      if (bytes + len > MAX_TERMINATE_REASON_BYTES) {
        return reason.substring(0, i);
      }
      bytes += len;
      i += Character.charCount(cp);
    }
    return reason;
  }
}
