package dev.checkmate.relay.session;

import dev.checkmate.relay.error.RelayError;
import dev.checkmate.relay.proto.v1.Frame;
import dev.checkmate.relay.proto.v1.Role;
import dev.checkmate.relay.security.RateLimit;
import dev.checkmate.relay.ticket.Ticket;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A seat in a session held on this node.
 *
 * <p>Flow control follows grpc-java's manual flow-control example, across two streams: the relay
 * asks this participant for its next frame only after the previous one was handed to a peer that
 * is still ready. When the peer is not ready, {@link #waiting} is set and the peer's on-ready
 * signal ({@link #onWritable} on the peer's seat) asks for the next frame. So a stalled receiver
 * holds at most its outbound buffer (grpc's 32 KiB ready threshold plus one frame) and the
 * sender's flow-control window in the relay.
 */
final class LocalSeat implements Seat {
  private static final int HOP_SAMPLE_MASK = 63;
  final Session session;
  final Session.Slot slot;
  final Participant participant;
  final Ticket ticket;
  private final SessionHub hub;
  private final RateLimit frameBudget;
  private final RateLimit byteBudget;
  private final int maxFrameBytes;
  /** Frames read from this participant; only its transport thread touches it (hop-latency sampling). */
  private int framesRead;

  /** The peer's seat once paired and the rendezvous buffer is flushed; null otherwise. */
  volatile LocalSeat forwardTarget;
  /** Set while this participant's reads are paused because its peer cannot take more. */
  final AtomicBoolean waiting = new AtomicBoolean();

  LocalSeat(SessionHub hub, Session session, Session.Slot slot, Participant participant, Ticket ticket, long nowNanos) {
    this.hub = hub;
    this.session = session;
    this.slot = slot;
    this.participant = participant;
    this.ticket = ticket;
    this.maxFrameBytes = hub.config().maxFrameBytes();
    // The role's budgets, kept across reconnects with the same ticket (no refill by reconnecting).
    this.frameBudget = slot.frameBudget(hub.config());
    this.byteBudget = slot.byteBudget(hub.config());
  }

  @Override
  public String sessionId() {
    return session.id;
  }

  @Override
  public Role role() {
    return slot.role;
  }

  /** The hot path: one frame read from this participant. Runs on the transport's thread. */
  @Override
  public void onFrame(Frame frame) {
    int size = frame.getPayload().size();
    if (size > maxFrameBytes) {
      session.violation(this, RelayError.FRAME_TOO_LARGE,
          "frame payload of " + size + " bytes exceeds the limit of " + maxFrameBytes + " bytes; split it into smaller frames");
      return;
    }
    long now = System.nanoTime();
    if (!frameBudget.tryTake(1)) {
      session.violation(this, RelayError.RATE_LIMITED,
          "more than " + hub.config().maxFramesPerSecond() + " frames per second; slow down or batch frames");
      return;
    }
    if (!byteBudget.tryTake(size)) {
      session.violation(this, RelayError.RATE_LIMITED,
          "more than " + hub.config().maxBytesPerSecond() + " payload bytes per second; slow down");
      return;
    }
    session.lastActivityNanos = now;
    LocalSeat target = forwardTarget;
    if (target != null) {
      target.participant.sendData(frame);
      hub.stats().framesRelayed.increment();
      hub.stats().bytesRelayed.add(size);
      if ((++framesRead & HOP_SAMPLE_MASK) == 0) {
        // 1 in 64 frames: read (rate checks included) until handed to the peer's transport.
        hub.listener().hopLatency(target.participant.transport(), System.nanoTime() - now);
      }
      readNextWhenPeerReady(target);
    } else {
      session.bufferOrForward(this, frame);
    }
  }

  /** Resume: forwards the participant's cumulative ack to the peer (dropped while the peer is away). */
  @Override
  public void onAck(dev.checkmate.relay.proto.v1.Ack ack) {
    if (!frameBudget.tryTake(1)) {
      session.violation(this, RelayError.RATE_LIMITED,
          "more than " + hub.config().maxFramesPerSecond() + " frames and acks per second; acknowledge less often");
      return;
    }
    LocalSeat target = forwardTarget;
    if (target != null) {
      target.participant.send(dev.checkmate.relay.proto.v1.ServerMessage.newBuilder()
          .setAck(ack).build());
      readNextWhenPeerReady(target);
    } else {
      participant.requestNext();
    }
  }

  /** Asks for the next frame now if the peer can take it, else parks until the peer's on-ready. */
  void readNextWhenPeerReady(LocalSeat target) {
    if (target.participant.isReady()) {
      participant.requestNext();
      return;
    }
    waiting.set(true);
    hub.stats().stalls.increment();
    hub.listener().stalled(target.participant.transport());
    // The peer may have become ready between the check and the flag: re-check to never miss it.
    if (target.participant.isReady() && waiting.compareAndSet(true, false)) {
      participant.requestNext();
    }
  }

  /**
   * This participant's stream can take more: frames its peer's slot holds for it go out, and the
   * peer's reads resume once nothing is held back.
   */
  @Override
  public void onWritable() {
    LocalSeat peer = forwardTarget;
    if (peer == null || peer.forwardTarget != this) {
      // Slow path (the session's lock): the peer's slot may hold frames for this participant.
      peer = session.writable(this);
    }
    if (peer != null && peer.forwardTarget == this && peer.waiting.compareAndSet(true, false)) {
      peer.participant.requestNext();
    }
  }

  /** Resumes reads parked on a peer that is gone: the next frame goes to the rendezvous buffer. */
  void unpark() {
    if (waiting.compareAndSet(true, false)) {
      participant.requestNext();
    }
  }

  /** The participant ended the session on purpose. */
  @Override
  public void terminate(String reason) {
    session.terminate(this, reason);
  }

  /** The participant's stream is gone (cancelled, failed or half-closed) without a terminate. */
  @Override
  public void left(String detail) {
    session.left(this, detail);
  }

  /** The participant broke the protocol (e.g. a second Join on the same stream). */
  @Override
  public void protocolError(String message) {
    session.violation(this, RelayError.MALFORMED, message);
  }
}
