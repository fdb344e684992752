package dev.checkmate.relay.bench;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs every workload with tiny counts against real child-process servers. Asserts only that the
 * run completed and produced figures, never how fast anything was (the box is shared).
 */
class SmokeIT {
  @TempDir
  Path logs;

  @Test
  void tinyRunProducesEveryFigure() throws Exception {
    BenchMain.Options o = new BenchMain.Options();
    o.rounds = 1;
    o.sizes = List.of(100);
    o.processWarmup = 0.2;
    o.warmup = 0.1;
    o.measure = 0.3;
    o.w1Seconds = 0.3;
    o.w1Rate = 200;
    o.probeSeconds = 0.3;
    o.many = 3;
    o.w2Sessions = List.of(3);
    o.w2Loads = List.of(0.5);
    o.w4Dedicated = List.of(10);
    o.w4Shared = List.of();
    o.w4WebSocket = List.of(10);
    o.w4SharedConns = 2;
    o.w5Windows = List.of(65536);
    o.serverJvm = "-Xms128m -Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1";
    o.logDir = logs;
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    Workloads w = new Workloads(o, new PrintStream(buf, true, StandardCharsets.UTF_8));
    w.runAll();
    String text = buf.toString(StandardCharsets.UTF_8);
    System.out.println(text);
    for (String key : List.of("R1.p50.100", "R1.p99.100", "R3.100.1", "R3.100.3", "R4.100.3",
        "W4.heapPerSession.dedicated.10", "W4.heapPerSession.websocket.10", "W5.ratio.65536.100", "X.p50.100")) {
      assertTrue(w.headline.containsKey(key), () -> "missing figure " + key + " in\n" + text);
      assertFalse(Double.isNaN(w.headline.get(key)), () -> "NaN figure " + key + " in\n" + text);
    }
    assertTrue(text.contains("=== Ratios"), text);
    // W7 timed the cross-node hops and measured the bare NATS floor (numbers, not NaN).
    assertTrue(java.util.regex.Pattern.compile("W7 hops p50 +100 B .*relay A +\\d.*NATS +\\d.*ping-pong RTT \\(2 NATS transits\\) \\d")
        .matcher(text).find(), text);
  }
}
