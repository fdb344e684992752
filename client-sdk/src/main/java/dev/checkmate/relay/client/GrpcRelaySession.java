package dev.checkmate.relay.client;

import com.google.protobuf.ByteString;
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
import java.nio.charset.StandardCharsets;
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
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;

/**
 * A participant's Connect stream with manual flow control in both directions (the shape of
 * grpc-java's manualflowcontrol example, client side).
 *
 * <p>Threads: gRPC callbacks ({@code onNext}, {@code onError}, {@code onCompleted}, the on-ready
 * handler) run serially on the channel's executor; application threads call {@code send},
 * {@code receive}, {@code terminate} and {@code close}; the client's scheduler sends heartbeats.
 * {@link #lock} serializes every use of the request stream except {@code request(n)}, which gRPC
 * allows from any thread.
 */
final class GrpcRelaySession
    implements RelaySession, ClientResponseObserver<ClientMessage, ServerMessage> {
  private static final System.Logger LOG = System.getLogger(GrpcRelaySession.class.getName());
  private static final int MAX_TERMINATE_REASON_BYTES = 256;
  /** Put in the inbox after the last frame so blocked readers wake up and see the end. */
  private static final Object END = new Object();

  private final SessionListener listener; // null in the blocking style
  private final int receiveQueueFrames;
  private final Duration callTimeout;
  private final Duration heartbeatInterval;
  private final ScheduledExecutorService scheduler;

  private final CompletableFuture<Joined> joined = new CompletableFuture<>();
  private final CompletableFuture<RelayException> ended = new CompletableFuture<>();
  // Holds at most receiveQueueFrames frames: the relay only sends what we requested.
  private final LinkedBlockingDeque<Object> inbox = new LinkedBlockingDeque<>();

  private final Object lock = new Object();
  // Guarded by lock.
  private ClientCallStreamObserver<ClientMessage> requestStream;
  private final ArrayDeque<Outgoing> outbox = new ArrayDeque<>();
  private long nextSeq = 1;
  private boolean writesClosed;
  private boolean terminateQueued;
  private boolean closedLocally;
  private boolean cancelRequested;
  private boolean streamClosed;
  private RelayException terminal;
  private ScheduledFuture<?> heartbeat;

  // Touched only from gRPC callbacks, which are serialized.
  private long lastReceivedSeq;
  private boolean peerMayRestart;
  private SessionEnded sessionEnded;

  private final Object peerMonitor = new Object();
  private volatile boolean peerPresent;
  private volatile Joined joinedMessage;

  /** A queued write: a data payload (numbered, and sealed with E2E, when written) or a control message. */
  private record Outgoing(ClientMessage message, byte[] payload, CompletableFuture<Void> sent) {}

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
      ScheduledExecutorService scheduler) {
    this(listener, receiveQueueFrames, callTimeout, heartbeatInterval, scheduler, null);
  }

  GrpcRelaySession(
      SessionListener listener,
      int receiveQueueFrames,
      Duration callTimeout,
      Duration heartbeatInterval,
      ScheduledExecutorService scheduler,
      E2eSessionLayer e2e) {
    this.e2e = e2e;
    this.listener = listener;
    this.receiveQueueFrames = receiveQueueFrames;
    this.callTimeout = callTimeout;
    this.heartbeatInterval = heartbeatInterval;
    this.scheduler = scheduler;
  }

  // ---- start-up, called by RelayClient.join ----

  /** Set before the call starts. */
  void trace(ClientTracing.SessionTrace trace) {
    this.trace = trace;
  }

  @Override
  public void beforeStart(ClientCallStreamObserver<ClientMessage> stream) {
    synchronized (lock) {
      requestStream = stream;
    }
    // Ask for receiveQueueFrames messages up front and then one more per message consumed, never
    // more: that is what bounds the memory a slow application can be made to hold.
    stream.disableAutoRequestWithInitial(receiveQueueFrames);
    stream.setOnReadyHandler(this::drain);
  }

  /** Sends the Join and waits for the relay's answer. */
  void join(String ticket) throws InterruptedException {
    join(ticket, null);
  }

  /** Sends the Join (with the role the relay must check, if given) and waits for the answer. */
  void join(String ticket, Role expectedRole) throws InterruptedException {
    Join.Builder join = Join.newBuilder().setTicket(ticket);
    if (expectedRole != null) {
      join.setExpectedRole(expectedRole == Role.PROVER
          ? dev.checkmate.relay.proto.v1.Role.PROVER : dev.checkmate.relay.proto.v1.Role.VERIFIER);
    }
    synchronized (lock) {
      // The first message goes out regardless of isReady: it is tiny and nothing else can be
      // sent before it anyway.
      requestStream.onNext(ClientMessage.newBuilder().setJoin(join).build());
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
    ClientCallStreamObserver<ClientMessage> stream;
    synchronized (lock) {
      if (streamClosed || cancelRequested) {
        return;
      }
      cancelRequested = true;
      // Only an open session is "closed by the application"; an ended one keeps its reason.
      closedLocally = terminal == null;
      writesClosed = true;
      stream = requestStream;
    }
    // Outside the lock: no write can follow (writesClosed), and cancel triggers onError, which
    // reports the end through the same path as every other end.
    stream.cancel("closed by the application", null);
  }

  // ---- gRPC callbacks ----

  @Override
  public void onNext(ServerMessage message) {
    switch (message.getKindCase()) {
      case JOINED:
        joinedMessage = message.getJoined();
        if (e2e != null) {
          // The COMMIT is the first frame (relay seq 1); the relay holds it until the peer joins.
          byte[] commit = e2e.start(message.getJoined().getSessionId(), Role.fromProto(message.getJoined().getRole()));
          synchronized (lock) {
            handshakeOut.add(commit);
          }
          drain();
        }
        setPeerPresent(message.getJoined().getPeerPresent());
        trace.joined(message.getJoined().getSessionId(), Role.fromProto(message.getJoined().getRole()),
            message.getJoined().getPeerPresent());
        startHeartbeat();
        joined.complete(message.getJoined());
        requestOne();
        break;
      case PEER_JOINED:
        // A peer that comes back is a new stream of the same role and numbers from 1 again.
        peerMayRestart = true;
        setPeerPresent(true);
        trace.event("relay.client.peer_joined");
        notifyListener(l -> l.onPeerJoined(this));
        requestOne();
        break;
      case PEER_LEFT:
        setPeerPresent(false);
        trace.event("relay.client.peer_left");
        notifyListener(l -> l.onPeerLeft(this, message.getPeerLeft().getDetail()));
        requestOne();
        break;
      case DATA:
        onFrame(message.getData());
        break;
      case SESSION_ENDED:
        // The status that closes the stream follows right after; remember why for that moment.
        sessionEnded = message.getSessionEnded();
        requestOne();
        break;
      default:
        // Heartbeat replies, and kinds a newer relay may add: nothing to do but keep reading.
        requestOne();
        break;
    }
  }

  private void onFrame(Frame frame) {
    if (terminalOrNull() != null) {
      return;
    }
    long seq = frame.getSeq();
    if (seq != lastReceivedSeq + 1 && !(peerMayRestart && seq == 1)) {
      protocolViolation(
          "expected frame " + (lastReceivedSeq + 1) + " from the peer but got frame " + seq);
      return;
    }
    lastReceivedSeq = seq;
    peerMayRestart = false;
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
        requestOne(); // nothing for the application: read on
        return;
      }
    }
    if (listener == null) {
      inbox.add(payload); // request(1) happens when the application takes it
    } else {
      byte[] delivered = payload;
      notifyListener(l -> l.onFrame(this, delivered));
      requestOne(); // only after the callback returned: a slow callback slows the peer
    }
  }

  @Override
  public void onError(Throwable t) {
    Status status = Status.fromThrowable(t);
    boolean local;
    synchronized (lock) {
      streamClosed = true;
      local = closedLocally;
    }
    if (local && status.getCode() == Status.Code.CANCELLED) {
      finish(closedError());
    } else {
      finish(endFrom(status));
    }
  }

  @Override
  public void onCompleted() {
    synchronized (lock) {
      streamClosed = true;
    }
    finish(sessionEnded != null
        ? endFrom(Status.OK)
        : Errors.closedWithoutReason());
  }

  /** The end the relay reported; with E2E, a peer's "e2e: CHECK" terminate is a security failure. */
  private RelayException endFrom(Status status) {
    SessionEnded ended = sessionEnded;
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
      while (!writesClosed && requestStream.isReady()) {
        byte[] handshake = handshakeOut.poll();
        if (handshake != null) {
          requestStream.onNext(dataMessage(handshake));
          continue;
        }
        Outgoing next = outbox.peek();
        if (next == null) {
          break;
        }
        ClientMessage message = next.message();
        if (next.payload() != null) {
          byte[] payload = next.payload();
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
        requestStream.onNext(message);
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
    Frame frame = Frame.newBuilder().setSeq(nextSeq++).setPayload(ByteString.copyFrom(payload)).build();
    trace.sent(payload.length);
    return ClientMessage.newBuilder().setData(frame).build();
  }

  /** Control messages (heartbeats) skip the queue: they are tiny and carry no order. */
  private void sendControl(ClientMessage message) {
    synchronized (lock) {
      if (!writesClosed) {
        requestStream.onNext(message);
      }
    }
  }

  private void requestOne() {
    ClientCallStreamObserver<ClientMessage> stream;
    synchronized (lock) {
      stream = requestStream;
    }
    try {
      stream.request(1);
    } catch (RuntimeException e) {
      // The call is already closed; nothing more will arrive anyway.
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
      if (!writesClosed) {
        requestStream.onNext(
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
      if (!writesClosed) {
        // Tell the relay (and so the peer) why, instead of just dropping the stream.
        requestStream.onNext(
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
      pending = new ArrayList<>(outbox);
      outbox.clear();
      if (heartbeat != null) {
        heartbeat.cancel(false);
      }
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
