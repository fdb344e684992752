package dev.checkmate.relay.telemetry;

import dev.checkmate.relay.cluster.ClusterLink;
import dev.checkmate.relay.cluster.ClusterRefusal;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/**
 * What cluster mode (dev.checkmate.relay.cluster) feeds: {@code relay_nats_link_up},
 * {@code relay_cross_node_frames_total{direction="in|out"}} and
 * {@code relay_cluster_refusals_total{reason}} (reasons: {@link ClusterRefusal}, a closed set). All
 * series stay absent until the cluster reports its link state once, so a single-node relay never
 * trips RelayNatsLinkDown. Thread-safe and cheap (a volatile write, a LongAdder increment).
 */
public final class ClusterTelemetry implements ClusterLink.Listener {
  private volatile int linkUp = -1; // -1 = not in cluster mode
  final LongAdder framesIn = new LongAdder();
  final LongAdder framesOut = new LongAdder();
  final Map<ClusterRefusal, LongAdder> refusals = new EnumMap<>(ClusterRefusal.class);

  public ClusterTelemetry() {
    for (ClusterRefusal r : ClusterRefusal.values()) {
      refusals.put(r, new LongAdder());
    }
  }

  /** The NATS connection is up (true) or down (false); called on every change and once at start. */
  @Override
  public void linkUp(boolean up) {
    linkUp = up ? 1 : 0;
  }

  @Override
  public void frame(ClusterLink.Direction direction) {
    (direction == ClusterLink.Direction.IN ? framesIn : framesOut).increment();
  }

  @Override
  public void refused(ClusterRefusal reason) {
    refusals.get(reason).increment();
  }

  boolean clusterMode() {
    return linkUp >= 0;
  }

  int linkUp() {
    return linkUp;
  }
}
