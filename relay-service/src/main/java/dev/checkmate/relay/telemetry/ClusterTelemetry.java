package dev.checkmate.relay.telemetry;

import java.util.concurrent.atomic.LongAdder;

/**
 * What cluster mode (dev.checkmate.relay.cluster) feeds: {@code relay_nats_link_up} and
 * {@code relay_cross_node_frames_total{direction="in|out"}}. Both series stay absent until the
 * cluster reports its link state once, so a single-node relay never trips RelayNatsLinkDown.
 * Thread-safe and cheap (a volatile write, a LongAdder increment).
 */
public final class ClusterTelemetry {
  private volatile int linkUp = -1; // -1 = not in cluster mode
  final LongAdder framesIn = new LongAdder();
  final LongAdder framesOut = new LongAdder();

  /** The NATS connection is up (true) or down (false); call on every change and once at start. */
  public void natsLinkUp(boolean up) {
    linkUp = up ? 1 : 0;
  }

  /** One frame received from another node (to a participant held here). */
  public void frameIn() {
    framesIn.increment();
  }

  /** One frame sent to another node. */
  public void frameOut() {
    framesOut.increment();
  }

  boolean clusterMode() {
    return linkUp >= 0;
  }

  int linkUp() {
    return linkUp;
  }
}
