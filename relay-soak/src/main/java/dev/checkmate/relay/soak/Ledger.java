package dev.checkmate.relay.soak;

import dev.checkmate.relay.testing.HashChain;
import java.nio.charset.StandardCharsets;
import java.util.BitSet;
import java.util.HexFormat;

/**
 * The accounts of one direction of one session: the sending side numbers and chains each frame it
 * hands to its SDK, the receiving side checks each frame its application gets. A frame seen before
 * is a duplicate; one with a smaller number than a frame already seen arrived out of order; one
 * whose chain differs from the receiver's (or that names another session or direction) is corrupt.
 * Whatever was sent and never seen is lost. Thread-safe.
 */
final class Ledger {
  /** What one delivery was. */
  enum Verdict { IN_ORDER, DUPLICATE, REORDERED, CORRUPT }

  final long session;
  final Frames.Direction direction;
  /** Text the receiving side's peer puts before each frame (the browser test page echoes "echo:" + frame). */
  private final String prefix;
  private byte[] sendChain = HashChain.start();
  private int sent;
  private byte[] receiveChain = HashChain.start();
  private int inOrder;
  private final BitSet seen = new BitSet();
  private int maxSeen;
  private boolean chainChecked = true;
  private long duplicates;
  private long reordered;
  private long corrupt;
  private long lastDeliveryNanos;

  Ledger(long session, Frames.Direction direction) {
    this(session, direction, "");
  }

  Ledger(long session, Frames.Direction direction, String prefix) {
    this.session = session;
    this.direction = direction;
    this.prefix = prefix;
  }

  /** The next frame to send (numbered and chained); counts it as sent. */
  synchronized byte[] next(boolean burst) {
    int seq = ++sent;
    String body = Frames.body(session, direction, seq, Frames.fillerBytes(session, seq, burst));
    sendChain = Frames.fold(sendChain, body);
    return Frames.frame(body, sendChain);
  }

  /**
   * For a receive-only ledger (the browser page's echoes of another ledger's frames): how many
   * frames should arrive.
   */
  synchronized void expect(int frames) {
    sent = frames;
  }

  /** Checks one frame the receiving application got. */
  synchronized Verdict delivered(byte[] payload) {
    lastDeliveryNanos = System.nanoTime();
    String text = new String(payload, StandardCharsets.US_ASCII);
    if (!text.startsWith(prefix)) {
      corrupt++;
      return Verdict.CORRUPT;
    }
    Frames.Parsed f = Frames.parse(text.substring(prefix.length()).getBytes(StandardCharsets.US_ASCII));
    if (f == null || f.session() != session || f.direction() != direction || f.seq() < 1 || f.seq() > Integer.MAX_VALUE) {
      corrupt++;
      return Verdict.CORRUPT;
    }
    int seq = (int) f.seq();
    if (seen.get(seq)) {
      duplicates++;
      return Verdict.DUPLICATE;
    }
    seen.set(seq);
    if (seq < maxSeen) {
      reordered++;
      chainChecked = false; // the chain can only be checked over an in-order stream
      return Verdict.REORDERED;
    }
    maxSeen = seq;
    if (seq == inOrder + 1 && chainChecked) {
      receiveChain = Frames.fold(receiveChain, f.body());
      inOrder = seq;
      if (!HexFormat.of().formatHex(receiveChain).equals(f.chainHex())) {
        corrupt++;
        chainChecked = false;
        return Verdict.CORRUPT;
      }
      return Verdict.IN_ORDER;
    }
    chainChecked = false; // a gap: what comes after it cannot be chained (the missing ones count as lost or reordered)
    return Verdict.IN_ORDER;
  }

  synchronized int sent() {
    return sent;
  }

  /** Distinct frames the receiver got. */
  synchronized int delivered() {
    return seen.cardinality();
  }

  /** True once every frame sent has been delivered. */
  synchronized boolean complete() {
    return seen.cardinality() == sent;
  }

  synchronized long lost() {
    return sent - seen.cardinality();
  }

  synchronized long duplicates() {
    return duplicates;
  }

  synchronized long reordered() {
    return reordered;
  }

  synchronized long corrupt() {
    return corrupt;
  }

  synchronized long lastDeliveryNanos() {
    return lastDeliveryNanos;
  }
}
