package dev.checkmate.relay.bench;

import dev.checkmate.relay.bench.BenchMain.Options;
import dev.checkmate.relay.bench.ChurnDriver.Result;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * W8, session churn: full short sessions per second. One session = CreateSession, the prover
 * joins, the verifier joins, {@value ChurnPeers#ROUND_TRIPS} round trips of
 * {@value ChurnPeers#PAYLOAD_BYTES} B, the prover terminates, the relay closes both. Open loop at
 * stepped rates (ascending; a layout stops at its first unsustainable step), latencies from each
 * session's planned start (coordinated-omission corrected). Layouts: a few shared HTTP/2
 * connections, one connection per participant, and WebSocket joins (tickets made beforehand).
 * Each relay variant runs in its own JVM (optionally pinned to its own CPUs), variants in
 * alternating order per round; the signature floor (2 signs + 2 verifies) is measured in its own
 * JVM on the relay's CPUs and printed beside the relay's CPU per session.
 */
final class SessionChurn {
  /**
   * A server to measure: this build with some settings or JVM flags, a baseline relay-service jar
   * put first on the classpath, or (W9) the WebSocket echo baseline.
   */
  record Variant(String name, String kind, String classpath, List<String> relayOptions, List<String> jvmFlags, String description) {}

  interface Launcher {
    ServerProcess start(Variant v) throws Exception;
  }

  private final Options o;
  private final PrintStream out;
  private final Launcher launcher;
  private final List<Variant> variants;
  final List<String> ratioRows = new ArrayList<>();
  final Map<String, Double> headline = new LinkedHashMap<>();
  /** variant|layout|rate -> results over rounds. */
  private final Map<String, List<Result>> results = new LinkedHashMap<>();
  /** variant|layout -> max sustainable rate per round. */
  private final Map<String, List<Double>> maxRates = new LinkedHashMap<>();
  private Map<String, Double> floor = Map.of();

  SessionChurn(Options o, PrintStream out, Launcher launcher) {
    this.o = o;
    this.out = out;
    this.launcher = launcher;
    this.variants = variants(o, o.w8Variants);
  }

  /** The variants named (relay, audit-off, telemetry-off, baseline, alloc-pooled, alloc-adaptive, alloc-unpooled, echo). */
  static List<Variant> variants(Options o, List<String> names) {
    List<Variant> v = new ArrayList<>();
    for (String name : names) {
      switch (name) {
        case "relay" -> v.add(new Variant("relay", "relay", null, List.of(), List.of(), "this build, default settings (telemetry and audit on)"));
        case "audit-off" -> v.add(new Variant("audit-off", "relay", null, List.of("auditLog=off"), List.of(), "this build, audit log off"));
        case "telemetry-off" -> v.add(new Variant("telemetry-off", "relay", null, List.of("telemetryEnabled=false"), List.of(),
            "this build, telemetry off (no OpenTelemetry, no audit)"));
        case "alloc-pooled", "alloc-adaptive", "alloc-unpooled" -> {
          String type = name.substring("alloc-".length());
          v.add(new Variant(name, "relay", null, List.of(), List.of("-Dio.netty.allocator.type=" + type),
              "this build, Netty allocator '" + type + "' for the HTTP/WebSocket port (-Dio.netty.allocator.type)"));
        }
        case "echo" -> v.add(new Variant("echo", "wsecho", null, List.of(), List.of(),
            "a lean Netty WebSocket echo server (same Netty, one event loop): the baseline of W9"));
        case "baseline" -> {
          if (o.w8BaselineJar == null) {
            throw new IllegalArgumentException("variant baseline needs --w8-baseline-jar (a relay-service jar of the build to compare with)");
          }
          v.add(new Variant("baseline", "relay", o.w8BaselineJar + java.io.File.pathSeparator + System.getProperty("java.class.path"),
              List.of(), List.of(), "relay-service from " + o.w8BaselineJar.getFileName() + " (first on the classpath), default settings"));
        }
        default -> {
          if (name.startsWith("jar:")) {
            // Another build of relay-service, first on the classpath: e.g. the stages of a change.
            java.nio.file.Path jar = java.nio.file.Path.of(name.substring(4));
            String label = jar.getFileName().toString().replaceFirst("\\.jar$", "");
            v.add(new Variant(label, "relay", jar + java.io.File.pathSeparator + System.getProperty("java.class.path"),
                List.of(), List.of(), "relay-service from " + jar.getFileName() + " (first on the classpath), default settings"));
            continue;
          }
          throw new IllegalArgumentException("unknown variant " + name
            + " (relay, audit-off, telemetry-off, baseline, alloc-pooled, alloc-adaptive, alloc-unpooled, echo, jar:PATH)");
        }
      }
    }
    return v;
  }

  void run(Clients.Factory cf) throws Exception {
    out.println();
    out.printf(Locale.ROOT, "=== W8 session churn: CreateSession + 2 joins + %d round trips of %d B + terminate; open loop at %s sessions/s,"
            + " %.1f s warm-up + %.1f s measured per step, %d round(s) alternating variants; SLO p99 session latency <= %.0f ms ===%n",
        ChurnPeers.ROUND_TRIPS, ChurnPeers.PAYLOAD_BYTES, o.w8Rates, o.w8Warmup, o.w8Measure, o.w8Rounds, o.w8SloMs);
    out.println("session lifetime (ttl_seconds) " + o.w8TtlSeconds + " s; relay CPUs: " + (o.relayCpus == null ? "not pinned" : o.relayCpus) + "; driver: "
        + (o.driverCpus == null ? "not pinned" : "CPU(s) " + o.driverCpus) + "; layouts: " + o.w8Layouts
        + "; shared = " + o.w8SharedConns + " HTTP/2 connections for everything, dedicated = a connection per participant"
        + " (CreateSession on the issuer's own connection), websocket = a WebSocket per participant, tickets made before the clock starts");
    for (Variant v : variants) {
      out.println("variant " + v.name() + ": " + v.description() + (v.relayOptions().isEmpty() ? "" : " " + v.relayOptions()));
    }
    out.println("latencies from the planned start: setup = until both participants know their peer is there,"
        + " session = until the relay closed both; us/sess = relay process CPU in the window (all threads but the JIT compilers, shown apart)"
        + " / sessions completed in it; relay = relay cores used;"
        + " 'others' = machine busy cores - relay - driver (other users of this box)");
    floor = measureFloor();
    printFloor();
    out.println();
    out.println(String.format(Locale.ROOT, "%-3s %-13s %-16s %7s %8s | %7s %7s | %7s %7s %7s | %5s | %8s %6s %6s %6s %7s | %s",
        "rnd", "variant", "layout", "offered", "achieved", "set p50", "set p99", "ses p50", "ses p99", "ses max", "fail",
        "us/sess", "relay", "driver", "others", "lag p99", "load"));
    ChurnDriver driver = new ChurnDriver(o.w8MaxInFlight, (long) (o.w8TimeoutSeconds * 1e9));
    try {
      for (int round = 1; round <= o.w8Rounds; round++) {
        List<Variant> order = new ArrayList<>(variants);
        Collections.rotate(order, -(round - 1));
        for (Variant v : order) {
          runVariant(cf, driver, round, v);
        }
      }
    } finally {
      driver.close();
    }
    summary();
  }

  private void runVariant(Clients.Factory cf, ChurnDriver driver, int round, Variant v) throws Exception {
    try (ServerProcess sp = launcher.start(v)) {
      ChurnDriver.Probe probe = new ChurnDriver.Probe() {
        @Override
        public long relayCpuNanos() {
          return sp.cpuNanos();
        }

        @Override
        public Map<String, Long> relayThreadTicks() {
          return Machine.threadTicks(sp.pid);
        }
      };
      // JIT warm-up of this process (not measured): closed loop, so it never overloads the relay;
      // most sessions on the shared layout, a share on each other layout for its own code paths.
      long t0 = System.nanoTime();
      StringBuilder warmed = new StringBuilder();
      for (String layoutName : o.w8Layouts) {
        // Half the budget on the first layout, the rest shared by the others (their own code paths).
        boolean first = layoutName.equals(o.w8Layouts.get(0));
        int others = Math.max(1, o.w8Layouts.size() - 1);
        double seconds = o.w8Layouts.size() == 1 ? o.w8ProcessWarmup : first ? o.w8ProcessWarmup / 2 : o.w8ProcessWarmup / 2 / others;
        long[] failed = new long[1];
        try (ChurnDriver.Layout layout = layout(cf, sp, layoutName)) {
          long done = driver.warm(layout, o.w8WarmConcurrency, o.w8WarmSessions, seconds, failed);
          warmed.append(' ').append(layoutName).append(' ').append(done).append(failed[0] > 0 ? " (" + failed[0] + " failed)" : "");
        }
      }
      out.printf(Locale.ROOT, "    %s: process warm-up, closed loop x%d: %s sessions in %.1f s%n", v.name(), o.w8WarmConcurrency,
          warmed.toString().trim(), (System.nanoTime() - t0) / 1e9);
      for (String layoutName : o.w8Layouts) {
        double max = 0;
        try (ChurnDriver.Layout layout = layout(cf, sp, layoutName)) {
          for (double rate : o.w8Rates) {
            Result r = step(driver, layout, layoutName, probe, rate, v, round);
            if (!r.sustainable((long) (o.w8SloMs * 1e6))) {
              // Once more: on a shared box a neighbour's burst can sink one step.
              Thread.sleep(1000);
              r = step(driver, layout, layoutName, probe, rate, v, round);
              if (!r.sustainable((long) (o.w8SloMs * 1e6))) {
                break;
              }
            }
            max = rate;
          }
        }
        maxRates.computeIfAbsent(v.name() + "|" + layoutName, k -> new ArrayList<>()).add(max);
      }
      // Last, so that its recording (and a rate that may be too high) disturbs no other step.
      if (o.w8ProfileRate > 0 && round == 1 && v.name().equals("relay")) {
        try (ChurnDriver.Layout layout = layout(cf, sp, o.w8Layouts.get(0))) {
          profile(driver, layout, probe, sp);
        }
      }
    }
  }

  /** One measured step; kept (a retried step is kept twice: the summary takes medians) and printed. */
  private Result step(ChurnDriver driver, ChurnDriver.Layout layout, String layoutName, ChurnDriver.Probe probe, double rate,
      Variant v, int round) throws Exception {
    Result r = driver.run(layout, probe, rate, o.w8Warmup, o.w8Measure);
    r.relay = v.name();
    results.computeIfAbsent(v.name() + "|" + layoutName + "|" + fmt0(rate), k -> new ArrayList<>()).add(r);
    printRow(round, r);
    return r;
  }

  private ChurnDriver.Layout layout(Clients.Factory cf, ServerProcess sp, String name) {
    return switch (name) {
      case "shared" -> new ChurnGrpc(cf, sp.port, o.window, false, o.w8SharedConns, o.w8TtlSeconds);
      case "dedicated" -> new ChurnGrpc(cf, sp.port, o.window, true, 0, o.w8TtlSeconds);
      case "websocket" -> {
        if (sp.wsPort <= 0) {
          throw new IllegalStateException("relay has no WebSocket port");
        }
        yield new ChurnWebSocket(cf, sp.port, sp.wsPort, o.window, o.w8WsThreads, o.w8TtlSeconds);
      }
      default -> throw new IllegalArgumentException("unknown W8 layout " + name + " (shared, dedicated, websocket)");
    };
  }

  private void printRow(int round, Result r) {
    double others = r.machineBusyCores - r.relayCores - r.driverCores;
    String fails = r.failures.isEmpty() ? "" : " failures " + r.failures;
    out.println(String.format(Locale.ROOT, "%-3d %-13s %-16s %7s %8s | %7s %7s | %7s %7s %7s | %5d | %8.1f %6.2f %6.2f %6.2f %7s | %s%s",
        round, r.relay, r.layout, fmt0(r.offered), fmt0(r.achieved()), ms(r.p(r.setup, 50)), ms(r.p(r.setup, 99)),
        ms(r.p(r.session, 50)), ms(r.p(r.session, 99)), ms(r.session.getTotalCount() == 0 ? -1 : r.session.getMaxValue()),
        r.failed() + (r.planned - r.completed - r.failed()), r.relayCpuUsPerSession, r.relayCores, r.driverCores, others,
        ms(r.p(r.lag, 99)), r.loadAverage, fails));
    StringBuilder threads = new StringBuilder();
    r.relayThreadUs.forEach((k, v) -> threads.append(' ').append(k).append(' ').append(String.format(Locale.ROOT, "%.0f", v)));
    out.println("      relay CPU by thread, us/session:" + threads);
  }

  // ---------------------------------------------------------------- cost of a session

  /**
   * One more step (after all others) at --w8-profile-rate, a rate the relay sustains, with the relay
   * recording execution samples (JFR), split by
   * {@link ProfileSplit} into the parts of a session on the network thread; with the other thread
   * groups' CPU and the signature floor, that is where each microsecond of a session goes.
   */
  private void profile(ChurnDriver driver, ChurnDriver.Layout layout, ChurnDriver.Probe probe, ServerProcess sp) throws Exception {
    java.nio.file.Path jfr = o.logDir.toAbsolutePath().resolve("w8-profile-" + sp.pid + ".jfr");
    // The microseconds come from a step without a recording (starting one makes the JIT recompile
    // and slows everything for a while); the recording at the same rate only splits them.
    Result r = driver.run(layout, probe, o.w8ProfileRate, o.w8Warmup, o.w8Measure);
    sp.command("jfr-start");
    driver.run(layout, probe, o.w8ProfileRate, 0, o.w8ProfileSeconds);
    sp.command("jfr-dump " + jfr);
    Map<String, Double> shares = ProfileSplit.split(jfr, "relay-net");
    double net = r.relayThreadUs.getOrDefault("net", Double.NaN);
    out.println();
    out.printf(Locale.ROOT, "--- cost of a session: relay, %s, %s sessions/s: CPU per session by thread group from a %.0f s step, the network"
            + " thread's split by part from JFR execution samples (every 1 ms, %.0f samples) of a %.0f s step after it at the same rate;"
            + " recording in %s; machine: others %.2f cores, load %s ---%n", layout.name(), fmt0(o.w8ProfileRate), o.w8Measure,
        shares.get("samples"), o.w8ProfileSeconds, jfr, r.machineBusyCores - r.relayCores - r.driverCores, r.loadAverage);
    out.printf(Locale.ROOT, "%-44s %9s %7s%n", "part", "us/sess", "share");
    double total = r.relayCpuUsPerSession;
    for (Map.Entry<String, Double> e : shares.entrySet()) {
      if (e.getKey().equals("samples") || e.getValue() == 0) {
        continue;
      }
      double us = e.getValue() * net;
      out.printf(Locale.ROOT, "  network thread: %-28s %9.1f %6.1f%%%n", e.getKey(), us, 100 * us / total);
      headline.put("W8.cost." + e.getKey(), us);
    }
    for (Map.Entry<String, Double> e : r.relayThreadUs.entrySet()) {
      if (!e.getKey().equals("net") && !e.getKey().equals("jit")) {
        out.printf(Locale.ROOT, "  %-44s %9.1f %6.1f%%%n", "thread group " + e.getKey(), e.getValue(), 100 * e.getValue() / total);
      }
    }
    out.printf(Locale.ROOT, "  %-44s %9.1f  (JIT compiler threads, not counted: %.1f)%n", "total relay CPU per session", total,
        r.relayThreadUs.getOrDefault("jit", 0.0));
    out.printf(Locale.ROOT, "  %-44s %9.1f  (floor measured apart: %.1f)%n", "of which Ed25519 (2 signs + 2 verifies)",
        (shares.getOrDefault("Ed25519 verify", 0.0) + shares.getOrDefault("Ed25519 sign", 0.0)) * net, sessionFloor("bc"));
    headline.put("W8.cost.total", total);
  }

  // ---------------------------------------------------------------- the signature floor

  /** Runs {@code sigfloor} in its own JVM on the relay's CPUs and reads its figures. */
  private Map<String, Double> measureFloor() throws IOException, InterruptedException {
    String java = ProcessHandle.current().info().command().orElse(System.getProperty("java.home") + "/bin/java");
    List<String> cmd = new ArrayList<>(Machine.pinPrefix(o.relayCpus));
    cmd.add(java);
    cmd.addAll(serverFlags());
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add(BenchMain.class.getName());
    cmd.add("sigfloor");
    cmd.add("--seconds=" + o.w8FloorSeconds);
    Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
    Map<String, Double> f = new LinkedHashMap<>();
    try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = r.readLine()) != null) {
        if (line.startsWith("FLOOR ")) {
          ServerProcess.parse(line).forEach((k, v) -> f.put(k, Double.parseDouble(v)));
        }
      }
    }
    if (!p.waitFor(5 * 60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
    }
    return f;
  }

  private List<String> serverFlags() {
    return o.serverJvm.isBlank() ? List.of() : List.of(o.serverJvm.trim().split("\\s+"));
  }

  /** 2 signs (CreateSession's tickets) + 2 verifies (the joins) with one implementation. */
  private double sessionFloor(String impl) {
    return 2 * floor.getOrDefault(impl + ".sign", Double.NaN) + 2 * floor.getOrDefault(impl + ".verify", Double.NaN);
  }

  private void printFloor() {
    out.println();
    out.println("--- signature floor (own JVM on the relay's CPUs; thread CPU per operation, median of batches) ---");
    out.println(String.format(Locale.ROOT, "Ed25519 of a ticket's signing input: BouncyCastle rfc8032 sign %.1f us, verify %.1f us;"
            + " JDK sign %.1f us, verify %.1f us",
        floor.get("bc.sign"), floor.get("bc.verify"), floor.get("jdk.sign"), floor.get("jdk.verify")));
    out.println(String.format(Locale.ROOT, "whole tickets (jjwt): this relay (seam) issue %.1f us, verify %.1f us; jjwt+JDK EdDSA issue %.1f,"
            + " verify %.1f; jjwt+BouncyCastle JCA provider issue %.1f, verify %.1f",
        floor.get("ticket.issue"), floor.get("ticket.verify"), floor.get("jjwt-jdk.issue"), floor.get("jjwt-jdk.verify"),
        floor.get("jjwt-bcjca.issue"), floor.get("jjwt-bcjca.verify")));
    out.println(String.format(Locale.ROOT, "session floor = 2 signs + 2 verifies: BouncyCastle %.1f us, JDK %.1f us;"
            + " ticket layer (2 issue + 2 verify, this relay) %.1f us",
        sessionFloor("bc"), sessionFloor("jdk"), 2 * floor.get("ticket.issue") + 2 * floor.get("ticket.verify")));
    headline.put("W8.floor.bc", sessionFloor("bc"));
    headline.put("W8.floor.jdk", sessionFloor("jdk"));
    headline.put("W8.ticketLayer", 2 * floor.get("ticket.issue") + 2 * floor.get("ticket.verify"));
  }

  // ---------------------------------------------------------------- summary

  private void summary() {
    out.println();
    out.println("--- W8 summary: medians over rounds [min..max] ---");
    double ref = o.w8CpuRate > 0 ? o.w8CpuRate : o.w8Rates.get(0);
    long slo = (long) (o.w8SloMs * 1e6);
    for (Variant v : variants) {
      String lib = v.name().equals("baseline") ? "jdk" : "bc";
      for (String layout : o.w8Layouts) {
        List<Double> max = maxRates.get(v.name() + "|" + layout);
        if (max == null) {
          continue;
        }
        double maxMedian = Workloads.median(max);
        List<Result> atRef = results.getOrDefault(v.name() + "|" + layout + "|" + fmt0(ref), List.of());
        List<Result> atMax = results.getOrDefault(v.name() + "|" + layout + "|" + fmt0(maxMedian), List.of());
        double cpuRef = median(atRef, r -> r.relayCpuUsPerSession);
        double cpuMax = median(atMax, r -> r.relayCpuUsPerSession);
        // WebSocket sessions had their tickets made before the window: only the 2 verifies are in it.
        double sessionFloor = layout.equals("websocket")
            ? 2 * floor.getOrDefault(lib + ".verify", Double.NaN) : sessionFloor(lib);
        out.println(String.format(Locale.ROOT,
            "%-13s %-10s max rate (p99 <= %.0f ms, no failures) %s/s; at %s/s: relay %.1f us/session = %.2f x floor (%.1f us, %s),"
                + " setup p50/p99 %s/%s ms, session p50/p99 %s/%s ms; at max: %.1f us/session",
            v.name(), layout, o.w8SloMs, spread0(max), fmt0(ref), cpuRef, cpuRef / sessionFloor, sessionFloor,
            layout.equals("websocket") ? "2 verifies" : "2 signs + 2 verifies", ms(medianLong(atRef, r -> r.p(r.setup, 50))),
            ms(medianLong(atRef, r -> r.p(r.setup, 99))), ms(medianLong(atRef, r -> r.p(r.session, 50))),
            ms(medianLong(atRef, r -> r.p(r.session, 99))), cpuMax));
        String key = v.name() + "." + layout;
        headline.put("W8.maxRate." + key, maxMedian);
        headline.put("W8.cpuPerSession." + key, cpuRef);
        headline.put("W8.cpuOverFloor." + key, cpuRef / sessionFloor);
        if (v.name().equals("relay") && layout.equals("shared")) {
          ratioRows.add(String.format(Locale.ROOT, "W8 relay CPU per full session (shared, %s/s): %.1f us  target <= 300 us: %s",
              fmt0(ref), cpuRef, cpuRef <= 300 ? "MET" : "MISSED"));
          ratioRows.add(String.format(Locale.ROOT, "W8 relay CPU per session / signature floor: %.2f (floor %.1f us)  target <= 2.0: %s",
              cpuRef / sessionFloor, sessionFloor, cpuRef / sessionFloor <= 2.0 ? "MET" : "MISSED"));
          ratioRows.add(String.format(Locale.ROOT, "W8 full sessions/s with p99 session latency <= %.0f ms (shared, relay on %s): %s"
                  + "  target >= 3000 per relay core: %s",
              o.w8SloMs, o.relayCpus == null ? "unpinned CPUs" : "CPU(s) " + o.relayCpus, fmt0(maxMedian),
              maxMedian >= 3000 && o.relayCpus != null && !o.relayCpus.contains(",") && !o.relayCpus.contains("-") ? "MET"
                  : o.relayCpus == null ? "n/a (relay not pinned to one core)" : "MISSED"));
        }
      }
    }
    for (String layout : o.w8Layouts) {
      compare("baseline", "relay", layout, "this relay vs baseline");
      compare("audit-off", "relay", layout, "audit on vs off");
      compare("telemetry-off", "relay", layout, "telemetry on vs off");
    }
    if (results.values().stream().flatMap(List::stream).noneMatch(r -> r.sustainable(slo))) {
      out.println("(no step was sustainable: see the failures column)");
    }
  }

  /** CPU per session and max rate of {@code b} relative to {@code a}, same layout, same run. */
  private void compare(String a, String b, String layout, String what) {
    List<Double> maxA = maxRates.get(a + "|" + layout);
    List<Double> maxB = maxRates.get(b + "|" + layout);
    if (maxA == null || maxB == null) {
      return;
    }
    String ref = fmt0(o.w8CpuRate > 0 ? o.w8CpuRate : o.w8Rates.get(0));
    double cpuA = median(results.getOrDefault(a + "|" + layout + "|" + ref, List.of()), r -> r.relayCpuUsPerSession);
    double cpuB = median(results.getOrDefault(b + "|" + layout + "|" + ref, List.of()), r -> r.relayCpuUsPerSession);
    double mA = Workloads.median(maxA);
    double mB = Workloads.median(maxB);
    headline.put("W8.cpuRatio." + b + "/" + a + "." + layout, cpuB / cpuA);
    ratioRows.add(String.format(Locale.ROOT, "W8 %-10s %s: relay CPU per session %.1f vs %.1f us (%s %.2f, %+.1f us); max rate %s vs %s/s (x%.2f)",
        layout, what, cpuB, cpuA, b + "/" + a, cpuB / cpuA, cpuB - cpuA, fmt0(mB), fmt0(mA), mA > 0 ? mB / mA : Double.NaN));
  }

  private static double median(List<Result> rs, java.util.function.ToDoubleFunction<Result> f) {
    List<Double> l = new ArrayList<>();
    for (Result r : rs) {
      l.add(f.applyAsDouble(r));
    }
    return Workloads.median(l);
  }

  private static long medianLong(List<Result> rs, java.util.function.ToLongFunction<Result> f) {
    List<Double> l = new ArrayList<>();
    for (Result r : rs) {
      l.add((double) f.applyAsLong(r));
    }
    return l.isEmpty() ? -1 : (long) Workloads.median(l);
  }

  private static String spread0(List<Double> l) {
    return String.format(Locale.ROOT, "%s [%s..%s]", fmt0(Workloads.median(l)), fmt0(Collections.min(l)), fmt0(Collections.max(l)));
  }

  static String ms(long nanos) {
    if (nanos < 0) {
      return "-";
    }
    double m = nanos / 1e6;
    return m < 10 ? String.format(Locale.ROOT, "%.2f", m) : String.format(Locale.ROOT, "%.1f", m);
  }

  private static String fmt0(double v) {
    return String.format(Locale.ROOT, "%.0f", v);
  }
}
