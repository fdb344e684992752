package dev.checkmate.relay.transport;

import dev.checkmate.relay.admission.Admission;
import dev.checkmate.relay.error.RelayError;
import dev.checkmate.relay.error.RelayException;
import dev.checkmate.relay.proto.v1.ClientMessage;
import dev.checkmate.relay.proto.v1.Heartbeat;
import dev.checkmate.relay.proto.v1.Role;
import dev.checkmate.relay.proto.v1.ServerMessage;
import dev.checkmate.relay.security.RateLimit;
import dev.checkmate.relay.session.Participant;
import dev.checkmate.relay.session.Seat;
import io.grpc.Status;
import java.net.InetAddress;
import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * What every participant stream does, whatever its wire — the relay's counterpart of grpc-java's
 * {@code AbstractServerStream}: a transport adapter (gRPC Connect, WebSocket, gRPC-Web Receive)
 * supplies four primitives ({@link #write}, {@link #writable}, {@link #readOne},
 * {@link #terminate}) and reports what its wire tells it; this class holds the rules, once:
 *
 * <ul>
 *   <li><b>Admission</b> through {@link Admission}: stream permit, hello deadline, join-attempt
 *       budget, ticket, hub seat, one refusal count, release exactly once.
 *   <li><b>One dispatcher</b> for client message kinds ({@link #onClientMessage}).
 *   <li><b>Keep-alives</b> (Heartbeat messages, WebSocket pings) are rate limited and answered only
 *       when the client can take the answer; until it can, at most one answer is owed and the
 *       client is not read, so a client that never reads cannot make the relay queue replies.
 *   <li><b>Every write accounted for</b>: bytes the relay writes while the stream is not ready
 *       are counted; past {@link Limits#maxUnreadBytes} the stream is closed (NOT_READING), and
 *       {@link #notReadingSinceNanos} tells the hub how long it has been unreadable (write-stall
 *       timeout). So the relay's outbound memory per stream is bounded by the transport's ready
 *       threshold plus {@code maxUnreadBytes}, whatever the client sends or fails to read.
 * </ul>
 *
 * <p>Threading: primitives are called under this object's lock, so writes leave in the order the
 * hub produced them; the lock is never held while calling into the hub or the seat.
 */
public abstract class ParticipantStream implements Participant {
  private static final ServerMessage HEARTBEAT = ServerMessage.newBuilder().setHeartbeat(Heartbeat.getDefaultInstance()).build();

  /** Per-stream bounds, from the relay's configuration. */
  public record Limits(Duration helloTimeout, long maxUnreadBytes, int keepAlivesPerSecond, int keepAliveBurst) {}

  private final Admission admission;
  private final Limits limits;
  private final String transport;
  private final InetAddress address;
  private final RateLimit keepAlives;
  private final AtomicBoolean helloSettled = new AtomicBoolean();
  private volatile Admission.Entry entry;
  private volatile Seat seat;
  private volatile ScheduledFuture<?> helloTimer;
  private volatile long notReadySinceNanos;

  // Guarded by this.
  private boolean closed;
  private long unreadBytes;
  private Runnable owedReply;
  private Runnable afterOwedReply;

  protected ParticipantStream(Admission admission, Limits limits, String transport, InetAddress address) {
    this.admission = admission;
    this.limits = limits;
    this.transport = transport;
    this.address = address;
    this.keepAlives = RateLimit.singleThreaded(limits.keepAlivesPerSecond(), limits.keepAliveBurst());
  }

  // ---- what the transport supplies ----

  /** Writes one message to the wire; never blocks. Called under this object's lock, in order. */
  protected abstract void write(ServerMessage message);

  /** True while the wire's outbound buffer is below its threshold. */
  protected abstract boolean writable();

  /** Reads exactly one more client message (or, for gRPC-Web, takes the next frame of a Send). */
  protected abstract void readOne();

  /** Ends the wire with a status (WebSocket: a close code). Called once. */
  protected abstract void terminate(Status status);

  /** Runs a task soon, outside any lock of the caller (the stream's event loop, or the relay's timer). */
  protected void runSoon(Runnable task) {
    admission.scheduler().execute(task);
  }

  // ---- lifecycle, called by the transport ----

  /**
   * Admits the stream (stream permit, telemetry) and, with {@code awaitJoin}, starts the hello
   * deadline for the Join. Returns false when refused; the stream is then closed with the status.
   */
  protected final boolean open(boolean awaitJoin) {
    try {
      entry = admission.open(transport, address);
    } catch (RelayException e) {
      closeWith(e.error().toStatus(e.getMessage()));
      return false;
    }
    if (awaitJoin) {
      helloTimer = admission.scheduler().schedule(this::helloTimedOut, limits.helloTimeout().toMillis(), TimeUnit.MILLISECONDS);
    }
    return true;
  }

  /**
   * The one join path: ticket check (after the join-attempt budget) and hub seat. On refusal the
   * stream is closed with the refusal's status and null is returned.
   */
  protected final Seat join(String ticket, String routedSessionId, Role expectedRole, long incarnation) {
    cancelHelloTimer();
    if (!helloSettled.compareAndSet(false, true)) {
      return null; // the hello deadline already closed this stream
    }
    Admission.Entry e = entry;
    if (e == null) {
      return null;
    }
    try {
      Seat s = e.join(ticket, routedSessionId, expectedRole, incarnation, this, this::verified);
      seat = s;
      return s;
    } catch (RelayException ex) {
      closeWith(ex.error().toStatus(ex.getMessage()));
      return null;
    } catch (RuntimeException ex) {
      // A bug, not the client's fault: say so, and never leave the stream half-admitted.
      org.slf4j.LoggerFactory.getLogger(ParticipantStream.class).error("join failed", ex);
      closeWith(Status.INTERNAL.withDescription("relay error while joining; retry"));
      return null;
    }
  }

  /** Refuses the stream before it joined (or ends it after) for a reason the transport found. */
  protected final void reject(RelayError error, String message) {
    cancelHelloTimer();
    helloSettled.set(true);
    Seat s = seat;
    if (s != null && (error == RelayError.MALFORMED)) {
      s.protocolError(message); // a joined participant breaking the protocol ends its session
      return;
    }
    Admission.Entry e = entry;
    if (e != null) {
      e.reject(error);
    }
    closeWith(error.toStatus(message));
  }

  /**
   * The one dispatcher of client message kinds: the first message must be a Join; afterwards
   * frames and acks go to the seat (which asks for the next read), heartbeats are answered here.
   */
  protected final void onClientMessage(ClientMessage message, String routedSessionId) {
    Seat s = seat;
    if (s == null) {
      if (message.getKindCase() != ClientMessage.KindCase.JOIN) {
        reject(RelayError.MALFORMED, "the first message on a " + streamNoun() + " must be a Join carrying the ticket");
        return;
      }
      try (JoinScope ignored = joinContext(message)) {
        join(message.getJoin().getTicket(), routedSessionId, message.getJoin().getExpectedRole(),
            message.getJoin().getIncarnation());
      }
      return;
    }
    switch (message.getKindCase()) {
      case DATA -> s.onFrame(message.getData());
      case ACK -> s.onAck(message.getAck());
      case HEARTBEAT -> answerKeepAlive(() -> send(HEARTBEAT), this::readOne);
      case TERMINATE -> s.terminate(message.getTerminate().getReason());
      case JOIN -> s.protocolError("already joined: send Join only once per " + streamNoun());
      default -> s.protocolError("empty or unknown message kind; update the client");
    }
  }

  /** A client message that could not be parsed: INVALID_ARGUMENT, on every transport. */
  protected final void onMalformed(String what) {
    reject(RelayError.MALFORMED, what);
  }

  /** The ticket checked out, just before the hub seats its holder (the Join is not answered yet). */
  protected void verified(dev.checkmate.relay.ticket.Ticket ticket) {}

  /** Runs once when the stream has ended, whatever ended it (permit and telemetry already released). */
  protected void ended() {}

  /**
   * A keep-alive the relay sends on its own (gRPC-Web Receive, whose client cannot send one):
   * written only when the client can take it, else skipped — one unread is as good as many.
   */
  protected final void sendKeepAlive() {
    synchronized (this) {
      if (closed || !writable() || owedReply != null) {
        return;
      }
    }
    send(HEARTBEAT);
  }

  /** A scope around the Join (closing it cannot fail). */
  protected interface JoinScope extends AutoCloseable {
    @Override
    void close();
  }

  /** The context the Join runs in (the WebSocket transport continues the client's trace from it). */
  protected JoinScope joinContext(ClientMessage join) {
    return () -> { };
  }

  /** "Connect stream", "WebSocket": for messages a developer reads. */
  protected String streamNoun() {
    return "stream";
  }

  /**
   * Answers a keep-alive (a Heartbeat message, a WebSocket ping). Keep-alives are rate limited
   * (a client past the budget is closed with KEEPALIVE_RATE_LIMITED). The answer is written only
   * when the client can take it; otherwise it is owed — at most one, a newer keep-alive replaces
   * it — and the client is not read until it is written, then {@code thenRead} continues reading.
   * When the answer can be written at once, {@code thenRead} runs at once.
   */
  protected final void answerKeepAlive(Runnable reply, Runnable thenRead) {
    if (!keepAlives.tryTake(1)) {
      closeFor(RelayError.KEEPALIVE_RATE_LIMITED, "more than " + limits.keepAlivesPerSecond()
          + " heartbeats or pings per second; a keep-alive every few seconds is plenty");
      return;
    }
    boolean now;
    synchronized (this) {
      if (closed) {
        return;
      }
      now = writable() && owedReply == null;
      if (!now) {
        owedReply = reply;
        afterOwedReply = thenRead;
        markNotReady();
      }
    }
    if (now) {
      reply.run();
      thenRead.run();
    }
  }

  /** True while a keep-alive answer is owed: the transport must not read the client meanwhile. */
  protected final synchronized boolean readsHeld() {
    return owedReply != null;
  }

  /** The wire became writable again: owed answers go out, reads resume, the peer may send again. */
  protected final void onWritable() {
    Runnable reply;
    Runnable then;
    synchronized (this) {
      if (closed || !writable()) {
        return;
      }
      notReadySinceNanos = 0;
      unreadBytes = 0;
      reply = owedReply;
      then = afterOwedReply;
      owedReply = null;
      afterOwedReply = null;
    }
    if (reply != null) {
      reply.run();
      then.run();
    }
    Seat s = seat;
    if (s != null) {
      s.onWritable();
    }
  }

  /**
   * The client ended its side without terminating (gRPC half-close): the seat leaves and the
   * stream completes normally.
   */
  protected final void onHalfClosed(String detail) {
    Seat s = seat;
    if (s != null) {
      s.left(detail);
    }
    closeWith(Status.OK);
  }

  /** The wire is gone (cancelled, disconnected) without a terminate: nothing more can be written. */
  protected final void onGone(String detail) {
    cancelHelloTimer();
    helloSettled.set(true);
    synchronized (this) {
      closed = true;
      owedReply = null;
      afterOwedReply = null;
    }
    Seat s = seat;
    if (s != null) {
      s.left(detail);
    }
    release();
  }

  // ---- Participant (called by the hub, any thread) ----

  @Override
  public final void send(ServerMessage message) {
    int size = message.getSerializedSize();
    boolean overflow = false;
    synchronized (this) {
      if (closed) {
        return;
      }
      if (writable()) {
        unreadBytes = 0;
      } else {
        unreadBytes += size;
        markNotReady();
        overflow = unreadBytes > limits.maxUnreadBytes();
      }
      if (!overflow) {
        try {
          write(message);
        } catch (RuntimeException e) {
          closed = true; // the wire went away under us; its gone-callback cleans up
          return;
        }
        if (!writable()) {
          markNotReady();
        }
      }
    }
    if (overflow) {
      // Never from inside the hub's call (it may hold the session's lock): leave and close soon.
      runSoon(() -> closeFor(RelayError.NOT_READING, "the client did not read what the relay sent it ("
          + limits.maxUnreadBytes() + " bytes unread); read the stream, or it is closed"));
    }
  }

  /** Caller holds the lock. */
  private void markNotReady() {
    if (notReadySinceNanos == 0) {
      long now = System.nanoTime();
      notReadySinceNanos = now == 0 ? 1 : now;
    }
  }

  @Override
  public final boolean isReady() {
    synchronized (this) {
      return !closed && writable() && owedReply == null;
    }
  }

  @Override
  public final void requestNext() {
    synchronized (this) {
      if (closed) {
        return;
      }
    }
    readOne();
  }

  @Override
  public final long notReadingSinceNanos() {
    return notReadySinceNanos;
  }

  /** The hub ends this stream (session ended, replaced, limit broken). */
  @Override
  public final void close(Status status) {
    closeWith(status);
  }

  /**
   * Ends a stream for a reason this stream found after joining (or before): the seat leaves (the
   * peer is told its peer is reconnecting), the refusal is counted, the wire closes.
   */
  protected final void closeFor(RelayError error, String message) {
    Seat s = seat;
    synchronized (this) {
      if (closed) {
        return;
      }
    }
    Admission.Entry e = entry;
    if (e != null) {
      e.reject(error);
    }
    if (s != null) {
      s.left(error.metricLabel());
    }
    closeWith(error.toStatus(message));
  }

  private void closeWith(Status status) {
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      owedReply = null;
      afterOwedReply = null;
      try {
        terminate(status);
      } catch (RuntimeException ignored) {
        // Already cancelled by the client.
      }
    }
    cancelHelloTimer();
    release();
  }

  private void helloTimedOut() {
    if (helloSettled.compareAndSet(false, true)) {
      Admission.Entry e = entry;
      if (e != null) {
        e.reject(RelayError.HELLO_TIMEOUT);
      }
      closeWith(RelayError.HELLO_TIMEOUT.toStatus("no Join within " + limits.helloTimeout().toSeconds()
          + " s of opening the " + streamNoun()));
    }
  }

  private void cancelHelloTimer() {
    ScheduledFuture<?> t = helloTimer;
    if (t != null) {
      t.cancel(false);
    }
  }

  private final AtomicBoolean ended = new AtomicBoolean();

  private void release() {
    Admission.Entry e = entry;
    if (e != null) {
      e.release();
    }
    if (ended.compareAndSet(false, true)) {
      ended();
    }
  }

  /** True once the stream is closing or closed (writes are dropped). */
  protected final synchronized boolean isClosed() {
    return closed;
  }

  protected final Seat seat() {
    return seat;
  }

  protected final InetAddress address() {
    return address;
  }

  protected final Admission admission() {
    return admission;
  }

  @Override
  public final String transport() {
    return transport;
  }
}
