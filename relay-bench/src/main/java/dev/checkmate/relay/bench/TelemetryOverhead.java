package dev.checkmate.relay.bench;

import dev.checkmate.relay.bench.BenchMain.Options;
import dev.checkmate.relay.bench.Clients.Fixture;
import dev.checkmate.relay.bench.Load.Result;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * W6, telemetry overhead (target: at most 10 % relayed-throughput loss). The same relay with
 * telemetry on (the default: metrics, gRPC server spans, relay spans, audit log; no exporter, as
 * the embedded relay defaults to) and off ({@code RelayConfig.telemetryEnabled(false)}: no
 * OpenTelemetry at all), each in its own child JVM, in alternating rounds (on/off, then off/on,
 * so drift on the shared box hits both). Per size and session count: the W3 saturation probe
 * (closed loop, one way A->B), i.e. relayed frames/s, and the server's CPU per frame.
 * Reported as T1 = throughput on / off (target >= 0.90) and T2 = CPU per frame on / off.
 */
final class TelemetryOverhead {
  /** Starts a relay child process with telemetry on (true) or off. */
  interface Starter {
    ServerProcess start(boolean telemetry) throws Exception;
  }

  private final Options o;
  private final PrintStream out;
  private final Starter starter;
  private final Map<String, List<Double>> throughput = new LinkedHashMap<>();
  private final Map<String, List<Double>> cpuPerFrame = new LinkedHashMap<>();
  final List<String> ratioRows = new ArrayList<>();
  final Map<String, Double> headline = new LinkedHashMap<>();

  TelemetryOverhead(Options o, PrintStream out, Starter starter) {
    this.o = o;
    this.out = out;
    this.starter = starter;
  }

  void run(Clients.Factory cf) throws Exception {
    out.println();
    out.println("=== W6 telemetry overhead: relay with telemetry on vs off (RelayConfig.telemetryEnabled), " + o.rounds
        + " alternating rounds; W3 saturation probe (closed loop, one way A->B) per size and session count ===");
    out.println(String.format(Locale.ROOT, "%-5s %-9s %-6s %-5s %12s %10s %7s", "round", "telemetry", "size", "n",
        "frames/s", "cpu us/f", "cores"));
    List<Integer> ns = o.many > 1 ? List.of(1, o.many) : List.of(1);
    for (int round = 1; round <= o.rounds; round++) {
      List<Boolean> order = round % 2 == 1 ? List.of(true, false) : List.of(false, true);
      for (boolean telemetry : order) {
        try (ServerProcess sp = starter.start(telemetry);
             Fixture fx = new Fixture(true, cf, sp.port, o.window)) {
          fx.addPairs(Collections.max(ns), 0);
          warm(fx, sp, Collections.max(ns));
          for (int size : o.sizes) {
            for (int n : ns) {
              int window = Math.max(4, Math.min(64, 1024 / n));
              Result r = Load.probe(fx, sp, n, size, window, o.warmup, o.probeSeconds);
              String key = (telemetry ? "on" : "off") + "|" + size + "|" + n;
              throughput.computeIfAbsent(key, k -> new ArrayList<>()).add(r.deliveredPerSec);
              cpuPerFrame.computeIfAbsent(key, k -> new ArrayList<>()).add(r.serverCpuUsPerFrame);
              out.println(String.format(Locale.ROOT, "%-5d %-9s %-6d %-5d %12.0f %10.2f %7.2f", round, telemetry ? "on" : "off",
                  size, n, r.deliveredPerSec, r.serverCpuUsPerFrame, r.serverCpuCores));
            }
          }
        }
      }
    }
    out.println();
    out.println("--- W6 summary: medians over rounds ---");
    for (int size : o.sizes) {
      for (int n : ns) {
        double on = median(throughput.get("on|" + size + "|" + n));
        double off = median(throughput.get("off|" + size + "|" + n));
        double cpuOn = median(cpuPerFrame.get("on|" + size + "|" + n));
        double cpuOff = median(cpuPerFrame.get("off|" + size + "|" + n));
        double t1 = off > 0 ? on / off : Double.NaN;
        double t2 = cpuOff > 0 ? cpuOn / cpuOff : Double.NaN;
        headline.put("T1." + size + "." + n, t1);
        headline.put("T2." + size + "." + n, t2);
        out.println(String.format(Locale.ROOT, "%6d B n=%-4d on %s/s [%s] off %s/s [%s]; cpu/frame on %.2f us off %.2f us",
            size, n, fmt0(on), spread(throughput.get("on|" + size + "|" + n)), fmt0(off),
            spread(throughput.get("off|" + size + "|" + n)), cpuOn, cpuOff));
        ratioRows.add(String.format(Locale.ROOT, "T1 %6d B n=%-4d: %5.2f  relayed throughput, telemetry on / off (%s/s vs %s/s)  target >= 0.90: %s",
            size, n, t1, fmt0(on), fmt0(off), t1 >= 0.9 ? "MET" : "MISSED"));
        ratioRows.add(String.format(Locale.ROOT, "T2 %6d B n=%-4d: %5.2f  server CPU per relayed frame, telemetry on / off (%.2f us vs %.2f us)",
            size, n, t2, cpuOn, cpuOff));
      }
    }
  }

  /** Untimed traffic at every size once per process, for the JIT (like W1-W3's process warm-up). */
  private void warm(Fixture fx, ServerProcess sp, int n) {
    double each = o.processWarmup / Math.max(1, o.sizes.size());
    if (each <= 0) {
      return;
    }
    for (int size : o.sizes) {
      Load.openLoop(fx, sp, n, size, size >= 16384 ? 1000 : 3000, 0, each, 10_000_000_000L);
    }
  }

  private static double median(List<Double> l) {
    if (l == null || l.isEmpty()) {
      return Double.NaN;
    }
    List<Double> s = new ArrayList<>(l);
    Collections.sort(s);
    int m = s.size();
    return m % 2 == 1 ? s.get(m / 2) : (s.get(m / 2 - 1) + s.get(m / 2)) / 2;
  }

  private static String spread(List<Double> l) {
    if (l == null || l.isEmpty()) {
      return "-";
    }
    return fmt0(Collections.min(l)) + ".." + fmt0(Collections.max(l));
  }

  private static String fmt0(double v) {
    return String.format(Locale.ROOT, "%,.0f", v);
  }
}
