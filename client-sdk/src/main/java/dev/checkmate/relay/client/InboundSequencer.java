package dev.checkmate.relay.client;

/**
 * Decides what happens to each frame from the peer, by sequence number, before anything else sees
 * it (before end-to-end decryption and before the application), and when to acknowledge. Pure: no
 * locks, no I/O, no clock; the session calls it under its lock. The browser SDK's {@code
 * InboundSequencer} is the same; both pass the {@code inbound} and {@code ackPolicy} cases of
 * testvectors/resume-v1.json.
 *
 * <p>{@link #offer}: the next frame in order is accepted; with resume, a frame already accepted is
 * a retransmission (dropped, and the peer is told again soon that we have it) and a frame ahead of
 * the next one is dropped (the peer resends everything unacknowledged in order after a
 * re-pairing); without resume both are protocol violations. While fenced (the peer restarted, or
 * this side replaced an earlier incarnation of itself) every frame is dropped until the peer's
 * first ack naming this side's incarnation lifts the fence.
 *
 * <p>{@link #delivered}: an accepted frame reached the application (or the end-to-end layer
 * consumed it). Only delivered frames are acknowledged, so a frame the SDK holds when its process
 * dies is not acknowledged and the sender reports it lost instead of believing it arrived. The ack
 * policy (docs/resume.md, "Acknowledgements"): cumulative; at once after {@value
 * #ACK_EVERY_FRAMES} frames or {@value #ACK_EVERY_BYTES} payload bytes delivered since the last
 * ack, else {@value #ACK_DELAY_MILLIS} ms after the first one not yet acknowledged; a duplicate
 * asks for the same delayed ack.
 */
final class InboundSequencer {
  static final int ACK_EVERY_FRAMES = 16;
  static final long ACK_EVERY_BYTES = 64 * 1024;
  static final long ACK_DELAY_MILLIS = 50;

  enum Verdict { DELIVER, DUPLICATE, AHEAD, FENCED, VIOLATION }

  /** What the session does about acknowledgements. */
  enum AckAction { NONE, NOW, SOON }

  private final boolean resume;
  private long accepted;
  private long delivered;
  private long lastAcked;
  private int framesSinceAck;
  private long bytesSinceAck;
  private boolean fenced;
  private long duplicates;
  private long ahead;

  /** {@code resume}: tolerate retransmissions (duplicates and frames ahead are dropped, not fatal). */
  InboundSequencer(boolean resume) {
    this.resume = resume;
  }

  Verdict offer(long seq) {
    if (fenced) {
      return Verdict.FENCED;
    }
    if (seq == accepted + 1) {
      accepted = seq;
      return Verdict.DELIVER;
    }
    if (!resume) {
      return Verdict.VIOLATION;
    }
    if (seq <= accepted) {
      duplicates++;
      return Verdict.DUPLICATE;
    }
    ahead++;
    return Verdict.AHEAD;
  }

  /** The ack a verdict calls for: a duplicate means the peer missed our last ack. */
  static AckAction ackFor(Verdict verdict) {
    return verdict == Verdict.DUPLICATE ? AckAction.SOON : AckAction.NONE;
  }

  /** Accepted frame {@code seq} (in order) reached the application; returns when to acknowledge. */
  AckAction delivered(long seq, int payloadBytes) {
    delivered = seq;
    framesSinceAck++;
    bytesSinceAck += payloadBytes;
    return framesSinceAck >= ACK_EVERY_FRAMES || bytesSinceAck >= ACK_EVERY_BYTES ? AckAction.NOW : AckAction.SOON;
  }

  /** The cumulative ack to send: the highest seq delivered. */
  long ackValue() {
    return delivered;
  }

  /** Whether the ack moved since the last one sent. */
  boolean ackPending() {
    return delivered != lastAcked;
  }

  /** An ack carrying {@link #ackValue()} was sent: the batch counters start over. */
  void acked() {
    lastAcked = delivered;
    framesSinceAck = 0;
    bytesSinceAck = 0;
  }

  /** The highest seq accepted in order (the next frame expected is this + 1). */
  long lastAccepted() {
    return accepted;
  }

  /** The peer restarted: its new incarnation numbers from 1. */
  void reset() {
    accepted = 0;
    delivered = 0;
    lastAcked = 0;
    framesSinceAck = 0;
    bytesSinceAck = 0;
  }

  /** Drops every frame until {@link #liftFence()}. */
  void fence() {
    fenced = true;
  }

  void liftFence() {
    fenced = false;
  }

  boolean fenced() {
    return fenced;
  }

  long duplicates() {
    return duplicates;
  }

  long ahead() {
    return ahead;
  }
}
