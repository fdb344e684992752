package dev.checkmate.relay.client;

import java.util.ArrayDeque;

/**
 * The frames this side sent that the peer has not acknowledged yet, kept exactly as sent (numbered,
 * sealed) so they can be sent again after a loss; bounded in frames and bytes. Pure: no locks, no
 * I/O, no clock; the session calls it under its lock. The browser SDK's {@code ResumeBuffer} is the
 * same, and both pass the {@code resumeBuffer} cases of testvectors/resume-v1.json.
 *
 * <p>Without resume ({@link #counting()}) it keeps no frames and never back-pressures; it only
 * counts, so that a peer restart can still report how many frames the peer never acknowledged.
 *
 * @param <F> a frame as written (the Java SDK keeps the ClientMessage)
 */
final class ResumeBuffer<F> {
  private record Entry<F>(long seq, F frame, int bytes, boolean application) {}

  private final boolean keep;
  private final int maxFrames;
  private final long maxBytes;
  private final ArrayDeque<Entry<F>> unacked = new ArrayDeque<>();
  private ArrayDeque<Entry<F>> resend = new ArrayDeque<>();
  /** Counting mode: the seqs of non-application frames not yet acknowledged (a handshake's few). */
  private final ArrayDeque<Long> controlSeqs = new ArrayDeque<>();
  private long bytes;
  private long acked;
  private long lastSeq;

  private ResumeBuffer(boolean keep, int maxFrames, long maxBytes) {
    this.keep = keep;
    this.maxFrames = maxFrames;
    this.maxBytes = maxBytes;
  }

  /** Keeps frames for retransmission, at most {@code maxFrames} / {@code maxBytes} (one always fits). */
  static <F> ResumeBuffer<F> keeping(int maxFrames, long maxBytes) {
    return new ResumeBuffer<>(true, maxFrames, maxBytes);
  }

  /** Keeps nothing, only counts (no resume). */
  static <F> ResumeBuffer<F> counting() {
    return new ResumeBuffer<>(false, Integer.MAX_VALUE, Long.MAX_VALUE);
  }

  /** Whether a frame of {@code frameBytes} fits; an empty buffer always takes one frame. */
  boolean hasRoom(int frameBytes) {
    return unacked.isEmpty() || (unacked.size() < maxFrames && bytes + frameBytes <= maxBytes);
  }

  /**
   * Keeps a frame just written. {@code application}: it carries an application payload (not an
   * end-to-end handshake message), so it counts when frames are reported lost.
   */
  void add(long seq, F frame, int frameBytes, boolean application) {
    lastSeq = seq;
    if (!keep) {
      if (!application) {
        controlSeqs.addLast(seq);
      }
      return;
    }
    unacked.addLast(new Entry<>(seq, frame, frameBytes, application));
    bytes += frameBytes;
  }

  /**
   * The peer has every frame up to {@code seq}: forget them. An ack beyond the last frame sent is
   * clamped to it (a confused or malicious peer cannot make us forget frames we have not sent yet);
   * an old ack changes nothing. Returns how many frames were released.
   */
  int onAck(long seq) {
    long upTo = Math.min(seq, lastSeq);
    if (upTo <= acked) {
      return 0;
    }
    int released = (int) (upTo - acked);
    acked = upTo;
    while (!controlSeqs.isEmpty() && controlSeqs.peekFirst() <= upTo) {
      controlSeqs.pollFirst();
    }
    if (!keep) {
      return released;
    }
    released = 0;
    while (!unacked.isEmpty() && unacked.peekFirst().seq() <= upTo) {
      bytes -= unacked.pollFirst().bytes();
      released++;
    }
    return released;
  }

  /** Queues every unacknowledged frame to be sent again, oldest first (after a re-pairing). */
  void markResend() {
    resend = new ArrayDeque<>(unacked);
  }

  /** The next frame to send again, skipping those acknowledged meanwhile; null when done. */
  F nextResend() {
    Entry<F> e;
    while ((e = resend.poll()) != null) {
      if (e.seq() > acked) {
        return e.frame();
      }
    }
    return null;
  }

  /**
   * Forgets everything and starts the numbering over (the peer restarted: its new incarnation
   * never saw these frames). Returns how many application frames were dropped unacknowledged.
   */
  int clear() {
    int application = keep ? 0 : (int) (lastSeq - acked) - controlSeqs.size();
    controlSeqs.clear();
    for (Entry<F> e : unacked) {
      if (e.application()) {
        application++;
      }
    }
    unacked.clear();
    resend.clear();
    bytes = 0;
    acked = 0;
    lastSeq = 0;
    return application;
  }

  /** The highest seq the peer acknowledged. */
  long acked() {
    return acked;
  }

  int size() {
    return unacked.size();
  }

  long bytes() {
    return bytes;
  }
}
