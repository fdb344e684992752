package dev.checkmate.relay.client;

/**
 * Decides what happens to each frame from the peer, by sequence number, before anything else sees
 * it (before end-to-end decryption and before the application), and when to acknowledge. Pure: no
 * locks, no I/O, no clock; the session calls it under its lock. The browser SDK's {@code
 * InboundSequencer} is the same; both pass the {@code inbound} and {@code ackPolicy} cases of
 * testvectors/resume-v1.json.
 *
 * <p>Verdicts: the next frame in order is delivered; with resume, a frame already delivered is a
 * retransmission (dropped, and the peer is told again soon that we have it) and a frame ahead of
 * the next one is dropped (the peer resends everything unacknowledged in order after a re-pairing);
 * without resume both are protocol violations. While fenced (the peer restarted, or this side
 * replaced an earlier incarnation of itself) every frame is dropped until the peer's first ack
 * naming this side's incarnation lifts the fence.
 *
 * <p>The ack policy (docs/resume.md, "Acknowledgements"): acknowledge cumulatively, at once after
 * {@value #ACK_EVERY_FRAMES} new frames or {@value #ACK_EVERY_BYTES} new payload bytes, else
 * {@value #ACK_DELAY_MILLIS} ms after the first unacknowledged one; a duplicate asks for the same
 * delayed ack.
 */
final class InboundSequencer {
  static final int ACK_EVERY_FRAMES = 16;
  static final long ACK_EVERY_BYTES = 64 * 1024;
  static final long ACK_DELAY_MILLIS = 50;

  enum Verdict { DELIVER, DUPLICATE, AHEAD, FENCED, VIOLATION }

  /** What the session does about acknowledgements after a frame. */
  enum AckAction { NONE, NOW, SOON }

  record Step(Verdict verdict, AckAction ack) {}

  private static final Step DELIVER_NOW = new Step(Verdict.DELIVER, AckAction.NOW);
  private static final Step DELIVER_SOON = new Step(Verdict.DELIVER, AckAction.SOON);
  private static final Step DUPLICATE = new Step(Verdict.DUPLICATE, AckAction.SOON);
  private static final Step AHEAD = new Step(Verdict.AHEAD, AckAction.NONE);
  private static final Step FENCED = new Step(Verdict.FENCED, AckAction.NONE);
  private static final Step VIOLATION = new Step(Verdict.VIOLATION, AckAction.NONE);

  private final boolean resume;
  private long last;
  private long lastAcked;
  private int framesSinceAck;
  private long bytesSinceAck;
  private boolean fenced;
  private long duplicates;
  private long ahead;
  private long fencedOut;

  /** {@code resume}: tolerate retransmissions (duplicates and frames ahead are dropped, not fatal). */
  InboundSequencer(boolean resume) {
    this.resume = resume;
  }

  Step offer(long seq, int payloadBytes) {
    if (fenced) {
      fencedOut++;
      return FENCED;
    }
    if (seq == last + 1) {
      last = seq;
      framesSinceAck++;
      bytesSinceAck += payloadBytes;
      return framesSinceAck >= ACK_EVERY_FRAMES || bytesSinceAck >= ACK_EVERY_BYTES ? DELIVER_NOW : DELIVER_SOON;
    }
    if (!resume) {
      return VIOLATION;
    }
    if (seq <= last) {
      duplicates++;
      return DUPLICATE;
    }
    ahead++;
    return AHEAD;
  }

  /** The cumulative ack to send: the highest seq delivered in order. */
  long ackValue() {
    return last;
  }

  /** Whether the ack moved since the last one sent. */
  boolean ackPending() {
    return last != lastAcked;
  }

  /** An ack carrying {@link #ackValue()} was sent: the batch counters start over. */
  void acked() {
    lastAcked = last;
    framesSinceAck = 0;
    bytesSinceAck = 0;
  }

  /** The seq after which the next frame is expected (frames delivered since the last reset). */
  long lastDelivered() {
    return last;
  }

  /** The peer restarted: its new incarnation numbers from 1. */
  void reset() {
    last = 0;
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

  long fencedOut() {
    return fencedOut;
  }
}
