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
 * W6 (telemetry on vs off) with tiny counts against real child-process relays, one with telemetry
 * and one without. Asserts only that the ratios were produced, never their values (shared box).
 */
class TelemetryOverheadSmokeIT {
  @TempDir
  Path logs;

  @Test
  void telemetryBothRunsOnlyW6AndReportsTheRatio() throws Exception {
    BenchMain.Options o = new BenchMain.Options();
    o.workloads = List.of(); // nothing of W1-W5
    o.telemetry = "both";
    o.rounds = 1;
    o.sizes = List.of(100);
    o.processWarmup = 0.2;
    o.warmup = 0.1;
    o.probeSeconds = 0.3;
    o.many = 2;
    o.serverJvm = "-Xms128m -Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1";
    o.logDir = logs;
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    Workloads w = new Workloads(o, new PrintStream(buf, true, StandardCharsets.UTF_8));
    w.runAll();
    String text = buf.toString(StandardCharsets.UTF_8);
    System.out.println(text);
    for (String key : List.of("T1.100.1", "T1.100.2", "T2.100.1", "T2.100.2")) {
      assertTrue(w.headline.containsKey(key), () -> "missing figure " + key + " in\n" + text);
      assertFalse(Double.isNaN(w.headline.get(key)), () -> "NaN figure " + key + " in\n" + text);
    }
    assertTrue(text.contains("=== W6 telemetry overhead"), text);
    assertTrue(text.contains("T1    100 B n=1   :"), text);
    assertTrue(text.contains(" off "), "a relay without telemetry ran:\n" + text);
  }
}
