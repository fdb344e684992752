package dev.checkmate.relay.bench;

import dev.checkmate.relay.cluster.ClusterHooks;
import java.util.Locale;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * W7: where a cross-node frame spends its time, recorded by a relay node's {@link ClusterHooks}
 * (serve-relay --hop-timing). One histogram per hop and direction; {@link #report} answers the admin
 * command {@code hops} with p50/p99 in nanoseconds and counts since the previous report. TRANSIT
 * subtracts System.nanoTime() values of two JVMs on one host (CLOCK_MONOTONIC on Linux, so they
 * compare).
 */
final class HopTimes implements ClusterHooks {
  private final Recorder[] recorders = new Recorder[6];

  HopTimes() {
    for (int i = 0; i < recorders.length; i++) {
      recorders[i] = new Recorder(3);
    }
  }

  @Override
  public boolean timeHops() {
    return true;
  }

  @Override
  public void hop(Hop hop, boolean up, long nanos) {
    if (nanos > 0) {
      recorders[hop.ordinal() * 2 + (up ? 1 : 0)].recordValue(nanos);
    }
  }

  /** One line: {@code HOPS send_down_p50=.. send_down_p99=.. send_down_n=.. ...} (ns), then resets. */
  String report() {
    StringBuilder b = new StringBuilder("HOPS");
    for (Hop hop : Hop.values()) {
      for (boolean up : new boolean[] {false, true}) {
        Histogram h = recorders[hop.ordinal() * 2 + (up ? 1 : 0)].getIntervalHistogram();
        String k = hop.name().toLowerCase(Locale.ROOT) + "_" + (up ? "up" : "down");
        b.append(' ').append(k).append("_p50=").append(h.getValueAtPercentile(50))
            .append(' ').append(k).append("_p99=").append(h.getValueAtPercentile(99))
            .append(' ').append(k).append("_n=").append(h.getTotalCount());
      }
    }
    return b.toString();
  }
}
