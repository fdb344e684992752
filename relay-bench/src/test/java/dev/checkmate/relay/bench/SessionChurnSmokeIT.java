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
 * W8 (session churn) with tiny counts against real child-process relays: every layout, the audit
 * on/off variants, the signature floor. Asserts only that every figure was produced, never its
 * value (the box is shared).
 */
class SessionChurnSmokeIT {
  @TempDir
  Path logs;

  @Test
  void tinyChurnRunProducesEveryFigure() throws Exception {
    BenchMain.Options o = new BenchMain.Options();
    o.workloads = List.of("w8");
    o.w8Rates = List.of(20.0);
    o.w8Rounds = 1;
    o.w8Warmup = 0.1;
    o.w8Measure = 0.5;
    o.w8ProcessWarmup = 2;
    o.w8WarmSessions = 20;
    o.w8FloorSeconds = 0.5;
    o.w8SloMs = 60_000; // figures only: a cold JVM on a busy box may take its time
    o.w8ProfileRate = 20;
    o.w8ProfileSeconds = 0.5;
    o.serverJvm = "-Xms128m -Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1";
    o.logDir = logs;
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    Workloads w = new Workloads(o, new PrintStream(buf, true, StandardCharsets.UTF_8));
    w.runAll();
    String text = buf.toString(StandardCharsets.UTF_8);
    System.out.println(text);
    for (String key : List.of("W8.floor.bc", "W8.floor.jdk", "W8.ticketLayer",
        "W8.cpuPerSession.relay.shared", "W8.cpuPerSession.relay.dedicated", "W8.cpuPerSession.relay.websocket",
        "W8.cpuPerSession.audit-off.shared", "W8.maxRate.relay.shared", "W8.maxRate.relay.websocket",
        "W8.cpuOverFloor.relay.shared", "W8.cpuRatio.relay/audit-off.shared", "W8.cost.total")) {
      assertTrue(w.headline.containsKey(key), () -> "missing figure " + key + " in\n" + text);
      assertFalse(Double.isNaN(w.headline.get(key)), () -> "NaN figure " + key + " in\n" + text);
    }
    assertTrue(text.contains("=== W8 session churn"), text);
    assertTrue(text.contains("relay CPU by thread"), text);
    assertTrue(text.contains("--- cost of a session"), text);
  }
}
