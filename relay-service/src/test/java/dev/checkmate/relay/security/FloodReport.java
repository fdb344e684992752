package dev.checkmate.relay.security;

import dev.checkmate.relay.RelayConfig;
import dev.checkmate.relay.testing.TestRelay;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * On demand, not in the normal build: honest clients' round-trip latency with and without a flood
 * from another loopback address, in one run against one relay.
 *
 * <pre>mvn -B -pl relay-service test -Dtest=FloodReport -Dflood.report=true [-Dflood.seconds=5] [-Dflood.threads=2]</pre>
 *
 * Prints p50/p90/p99 of the echo round trip (prover → verifier → prover through the relay) and how
 * many honest sessions completed per second, unloaded and under the flood. Target: flooded p50
 * within 2× unloaded. No assertion on timing.
 */
@EnabledIfSystemProperty(named = "flood.report", matches = "true")
class FloodReport {

  @Test
  void report() throws Exception {
    int seconds = Integer.getInteger("flood.seconds", 5);
    int threads = Integer.getInteger("flood.threads", 2);
    try (TestRelay relay = TestRelay.start(RelayConfig.builder()
        .maxConnectionsPerAddress(8)
        .maxStreamsPerAddress(64)
        .helloTimeout(Duration.ofMillis(500)))) {
      run(relay, 1, null); // warm-up
      Result quiet = run(relay, seconds, null);
      Result flooded;
      long joins;
      long conns;
      try (Flood flood = new Flood(relay.server.grpcPort(), "127.0.0.2", threads)) {
        Thread.sleep(300);
        flooded = run(relay, seconds, flood);
        joins = flood.bogusJoins.get();
        conns = flood.connections.get();
      }
      System.out.printf("%nFLOOD REPORT (%d s per phase, %d flood stream threads from 127.0.0.2; honest from 127.0.0.1)%n",
          seconds, threads);
      System.out.printf("  unloaded: %s%n", quiet);
      System.out.printf("  flooded : %s%n", flooded);
      System.out.printf("  flood sent %d bogus joins (%.0f/s), opened %d connections; %d refused at accept%n",
          joins, joins / (double) seconds, conns, relay.server.connectionLimiter().refused());
      System.out.printf("  p50 ratio flooded/unloaded = %.2f (target <= 2)%n%n",
          flooded.percentile(50) / (double) quiet.percentile(50));
    }
  }

  record Result(long[] rtts, int sessions, double seconds) {
    long percentile(int p) {
      if (rtts.length == 0) {
        return 0;
      }
      return rtts[Math.min(rtts.length - 1, (int) Math.ceil(p / 100.0 * rtts.length) - 1)];
    }

    @Override
    public String toString() {
      return String.format("%d sessions (%.1f/s), %d round trips, RTT p50 %.2f ms, p90 %.2f ms, p99 %.2f ms",
          sessions, sessions / seconds, rtts.length, percentile(50) / 1e6, percentile(90) / 1e6, percentile(99) / 1e6);
    }
  }

  private static Result run(TestRelay relay, int seconds, Flood flood) throws Exception {
    List<Long> all = new ArrayList<>();
    int sessions = 0;
    long start = System.nanoTime();
    long deadline = start + TimeUnit.SECONDS.toNanos(seconds);
    while (System.nanoTime() < deadline) {
      for (long r : Flood.honestSession(relay.channel, 20, Duration.ofSeconds(10))) {
        all.add(r);
      }
      sessions++;
    }
    long[] rtts = all.stream().mapToLong(Long::longValue).toArray();
    Arrays.sort(rtts);
    return new Result(rtts, sessions, (System.nanoTime() - start) / 1e9);
  }
}
