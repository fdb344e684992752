package dev.checkmate.relay.bench;

import dev.checkmate.relay.bench.BenchMain.Options;
import dev.checkmate.relay.bench.Clients.BenchStream;
import dev.checkmate.relay.bench.Clients.Fixture;
import dev.checkmate.relay.bench.Clients.Pair;
import dev.checkmate.relay.bench.Load.Result;
import dev.checkmate.relay.proto.v1.ClientMessage;
import dev.checkmate.relay.proto.v1.CreateSessionRequest;
import dev.checkmate.relay.proto.v1.CreateSessionResponse;
import dev.checkmate.relay.proto.v1.RelayServiceGrpc;
import dev.checkmate.relay.proto.v1.ServerMessage;
import dev.checkmate.relay.proto.v1.Terminate;
import io.grpc.ManagedChannel;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/** Runs W1–W5 and prints rows as it goes, then the summary and the ratio table. */
final class Workloads {
  static final int ON_READY_THRESHOLD = 32 * 1024; // grpc-java DEFAULT_ONREADY_THRESHOLD

  private final Options o;
  private final PrintStream out;
  private final List<String> serverFlags;
  private final String runId = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
  private int processes;

  /** Headline figures by name (the smoke test checks they exist). */
  final Map<String, Double> headline = new LinkedHashMap<>();

  private final Map<String, List<Result>> w1 = new LinkedHashMap<>();
  private final Map<String, List<Double>> w3Max = new LinkedHashMap<>();
  private final Map<String, List<Double>> w3Probe = new LinkedHashMap<>();
  private final Map<String, List<Result>> w3At = new LinkedHashMap<>();
  private final List<Result> w2 = new ArrayList<>();
  private final List<String> ratioRows = new ArrayList<>();

  Workloads(Options o, PrintStream out) {
    this.o = o;
    this.out = out;
    this.serverFlags = o.serverJvm.isBlank() ? List.of() : Arrays.asList(o.serverJvm.trim().split("\\s+"));
  }

  private boolean on(String w) {
    return o.workloads.contains(w);
  }

  private ServerProcess start(String kind, int window) throws Exception {
    return start(kind, window, !"off".equals(o.telemetry));
  }

  /** A server child process; a relay runs with telemetry on or off (W6 uses both). */
  private ServerProcess start(String kind, int window, boolean telemetry) throws Exception {
    boolean relay = kind.equals("relay");
    String name = runId + "-" + (++processes) + "-" + kind + (relay && !telemetry ? "-notelemetry" : "");
    return ServerProcess.start(kind, window, serverFlags, o.logDir, name,
        relay ? List.of("--telemetry=" + telemetry, "--event-loop-threads=" + o.relayEventLoopThreads)
            : List.of("--event-loop-threads=" + o.relayEventLoopThreads));
  }

  void runAll() throws Exception {
    long began = System.nanoTime();
    printMachine();
    String pinned = Machine.pinSelf(o.driverCpus);
    out.println("driver JVM: " + pinned + "; relay children: " + (o.relayCpus == null ? "not pinned" : "CPU(s) " + o.relayCpus));
    try (Clients.Factory cf = new Clients.Factory(o.clientThreads)) {
      out.printf("client transport: %s, %d event-loop thread(s) in the driver JVM; servers: one child JVM each%n%n",
          cf.epoll ? "epoll" : "nio", o.clientThreads);
      if (on("w1") || on("w3")) {
        roundsW1W3(cf);
      }
      if (on("w2")) {
        runW2(cf);
      }
      if (on("w4")) {
        runW4(cf);
      }
      if (on("w5")) {
        runW5(cf);
      }
      if (on("w7")) {
        CrossNode w7 = new CrossNode(o, out, (args, name) -> {
          List<String> serveArgs = new ArrayList<>(List.of("--telemetry=" + !"off".equals(o.telemetry),
              "--event-loop-threads=" + o.relayEventLoopThreads));
          serveArgs.addAll(args);
          return ServerProcess.start("relay", o.window, serverFlags, o.logDir, runId + "-" + (++processes) + "-" + name, serveArgs);
        });
        w7.run(cf);
        ratioRows.addAll(w7.hopRows);
        ratioRows.addAll(w7.ratioRows);
        headline.putAll(w7.headline);
      }
      SessionChurn.Launcher variants = launcher();
      if (on("w4") && !o.w4WebSocket.isEmpty()) {
        runW4WebSocket(cf, variants);
      }
      if (on("w8")) {
        SessionChurn w8 = new SessionChurn(o, out, variants);
        w8.run(cf);
        ratioRows.addAll(w8.ratioRows);
        headline.putAll(w8.headline);
      }
      if (on("w9")) {
        WebSocketRtt w9 = new WebSocketRtt(o, out, variants);
        w9.run(cf);
        ratioRows.addAll(w9.ratioRows);
        headline.putAll(w9.headline);
      }
      if (on("w6") || "both".equals(o.telemetry)) {
        TelemetryOverhead w6 = new TelemetryOverhead(o, out, telemetry -> start("relay", o.window, telemetry));
        w6.run(cf);
        ratioRows.addAll(w6.ratioRows);
        headline.putAll(w6.headline);
      }
    }
    out.println();
    out.println("=== Ratios (this run, same box; targets from the issues) ===");
    for (String r : ratioRows) {
      out.println(r);
    }
    out.printf(Locale.ROOT, "%nfinished in %.1f s; load average at end: %s%n", (System.nanoTime() - began) / 1e9, Machine.loadAverage());
  }

  /** Starts a server variant (W4 WebSocket, W8, W9) in its own JVM on --relay-cpus. */
  private SessionChurn.Launcher launcher() {
    return v -> {
      List<String> serveArgs = new ArrayList<>();
      if (v.kind().equals("relay")) {
        serveArgs.addAll(List.of("--telemetry=" + !"off".equals(o.telemetry), "--event-loop-threads=" + o.relayEventLoopThreads, "--ws-port=0"));
        for (String opt : v.relayOptions()) {
          serveArgs.add("--relay-option=" + opt);
        }
      }
      List<String> flags = new ArrayList<>(serverFlags);
      flags.addAll(v.jvmFlags());
      return ServerProcess.start(v.kind(), o.window, flags, o.logDir, runId + "-" + (++processes) + "-" + v.name(),
          serveArgs, o.relayCpus, v.classpath());
    };
  }

  // ---------------------------------------------------------------- machine

  private void printMachine() {
    out.println("=== CheckMate Relay benchmark " + runId + " ===");
    out.println("machine: " + Machine.cores() + " cores, " + Machine.cpuModel() + ", kernel "
        + Machine.read("/proc/sys/kernel/osrelease").trim() + ", " + Machine.memTotal());
    out.println("JDK: " + System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version"));
    out.println("driver JVM flags: " + ManagementFactory.getRuntimeMXBean().getInputArguments());
    out.println("server JVM flags: " + serverFlags + " -Xlog:gc:file=" + o.logDir + "/<run>-gc.log");
    out.println("grpc-java: " + io.grpc.ManagedChannel.class.getPackage().getImplementationVersion()
        + " (netty-shaded); server flow-control window " + o.window + " B; relay network threads: "
        + (o.relayEventLoopThreads == 0 ? "relay default (1 per 2 cores), same for echo" : o.relayEventLoopThreads + ", same for echo") + "; load average at start: " + Machine.loadAverage());
    out.println("cpu vulnerabilities: " + Machine.vulnerabilities());
    out.println("relay telemetry (W1-W5): " + ("off".equals(o.telemetry) ? "off (RelayConfig.telemetryEnabled(false))"
        : "on (the relay's default; no exporter configured)") + ("both".equals(o.telemetry) ? "; W6 compares on vs off" : ""));
    out.printf(Locale.ROOT, "options: process warm-up=%.0fs rounds=%d sizes=%s warmup=%.1fs measure=%.1fs w1=%.0f/s x %.1fs probe=%.1fs many=%d "
            + "w2=%s x %s slo(p99)=%.1fms w4=%s/%s(shared over %d conns/side) w5 windows=%s recv window=%d%n",
        o.processWarmup, o.rounds, o.sizes, o.warmup, o.measure, o.w1Rate, o.w1Seconds, o.probeSeconds, o.many, o.w2Sessions, o.w2Loads,
        o.sloMs, o.w4Dedicated, o.w4Shared, o.w4SharedConns, o.w5Windows, o.w5RecvWindow);
  }

  // ---------------------------------------------------------------- W1 + W3 (alternating rounds)

  private void roundsW1W3(Clients.Factory cf) throws Exception {
    out.println("=== W1 unloaded round trip, W3 max sustainable throughput: " + o.rounds
        + " alternating rounds (relay, echo, relay, echo, ...) ===");
    out.println("W1: one session, one frame in flight, " + fmt0(o.w1Rate) + " round trips/s planned; relay = A->relay->B->relay->A,"
        + " echo = A->echo->A. Latency from the planned send time (CO-corrected); 'raw' = from the actual send.");
    out.println("W3: saturation probe (closed loop, window per session), then open loop at 90/75/60/45/30/15 % of it;"
        + " max = first rate with p99 <= " + o.sloMs + " ms and every frame delivered. Relay = A->B one way, echo = A->echo->A;"
        + " both cost the server one read + one write per frame.");
    out.println();
    out.println(String.format(Locale.ROOT, "%-5s %-5s %-6s %-9s %9s %9s %9s %9s | %8s %8s %8s %9s %8s",
        "round", "srv", "size", "workload", "p50 us", "p99 us", "p99.9 us", "max us", "raw p50", "raw p99", "lag p99",
        "cpu us/f", "ctx/f"));
    int sessionsNeeded = Math.max(1, o.many);
    for (int round = 1; round <= o.rounds; round++) {
      for (String kind : List.of("relay", "echo")) {
        try (ServerProcess sp = start(kind, o.window);
             Fixture fx = new Fixture(kind.equals("relay"), cf, sp.port, o.window)) {
          fx.addPairs(on("w3") ? sessionsNeeded : 1, 0);
          warmProcess(fx, sp, Math.min(sessionsNeeded, fx.pairs.size()));
          if (on("w1")) {
            for (int size : o.sizes) {
              Result r = Load.roundTrip(fx, sp, size, o.w1Rate, o.warmup, o.w1Seconds);
              w1.computeIfAbsent(kind + "|" + size, k -> new ArrayList<>()).add(r);
              printLatencyRow(round, r, "W1 rtt");
            }
          }
          if (on("w3")) {
            for (int size : o.sizes) {
              for (int n : sessionsList()) {
                findMax(round, fx, sp, kind, size, n);
              }
            }
          }
        }
      }
    }
    if (on("w1")) {
      summaryW1();
    }
    if (on("w3")) {
      summaryW3();
    }
  }

  /**
   * Once per server process, before anything is measured: round trips and moderate open-loop
   * traffic at every size, so the JIT has compiled the hot paths of both sides (not timed).
   */
  private void warmProcess(Fixture fx, ServerProcess sp, int n) {
    double each = o.processWarmup / Math.max(1, o.sizes.size()) / 2;
    if (each <= 0) {
      return;
    }
    for (int size : o.sizes) {
      Load.roundTrip(fx, sp, size, o.w1Rate, 0, each);
      Load.openLoop(fx, sp, n, size, size >= 16384 ? 1000 : 3000, 0, each, 10_000_000_000L);
    }
  }

  private List<Integer> sessionsList() {
    return o.many > 1 ? List.of(1, o.many) : List.of(1);
  }

  private void findMax(int round, Fixture fx, ServerProcess sp, String kind, int size, int n) {
    int window = Math.max(4, Math.min(64, 1024 / n));
    Result probe = Load.probe(fx, sp, n, size, window, o.warmup, o.probeSeconds);
    double x = probe.deliveredPerSec;
    long slo = (long) (o.sloMs * 1e6);
    double max = 0;
    Result at = null;
    for (double f : new double[] {0.9, 0.75, 0.6, 0.45, 0.3, 0.15}) {
      Result r = Load.openLoop(fx, sp, n, size, f * x, o.warmup, o.measure, 2_000_000_000L);
      at = r;
      if (r.sustainable(slo)) {
        max = f * x;
        break;
      }
    }
    String key = kind + "|" + size + "|" + n;
    w3Max.computeIfAbsent(key, k -> new ArrayList<>()).add(max);
    w3Probe.computeIfAbsent(key, k -> new ArrayList<>()).add(x);
    w3At.computeIfAbsent(key, k -> new ArrayList<>()).add(at);
    out.println(String.format(Locale.ROOT, "%-5d %-5s %-6d W3 n=%-4d probe(w=%d) %s/s -> max sustainable %s/s at p50/p99/p99.9/max %s/%s/%s/%s us,"
            + " server cpu %.2f us/frame (%.2f cores), ctx %.2f/frame%s",
        round, kind, size, n, window, fmt0(x), fmt0(max), us(at.p(50)), us(at.p(99)), us(at.p(99.9)), us(at.latency.getMaxValue()),
        at.serverCpuUsPerFrame, at.serverCpuCores, at.serverCtxPerFrame,
        max == 0 ? " (NOT sustainable even at 15 %: delivered " + at.delivered + "/" + at.planned + ")" : ""));
  }

  private void printLatencyRow(Object round, Result r, String what) {
    out.println(String.format(Locale.ROOT, "%-5s %-5s %-6d %-9s %9s %9s %9s %9s | %8s %8s %8s %9.2f %8.2f",
        round, r.server, r.size, what, us(r.p(50)), us(r.p(99)), us(r.p(99.9)), us(r.latency.getMaxValue()),
        us(r.raw.getValueAtPercentile(50)), us(r.raw.getValueAtPercentile(99)), us(r.lag.getValueAtPercentile(99)),
        r.serverCpuUsPerFrame, r.serverCtxPerFrame));
  }

  private void summaryW1() {
    out.println();
    out.println("--- W1 summary: medians over rounds [min..max], microseconds ---");
    out.println(String.format(Locale.ROOT, "%-6s %-22s %-22s %-22s %-22s", "size", "relay p50", "echo p50", "relay p99", "echo p99"));
    for (int size : o.sizes) {
      List<Result> rl = w1.get("relay|" + size);
      List<Result> ec = w1.get("echo|" + size);
      if (rl == null || ec == null) {
        continue;
      }
      out.println(String.format(Locale.ROOT, "%-6d %-22s %-22s %-22s %-22s", size,
          spread(pct(rl, 50)), spread(pct(ec, 50)), spread(pct(rl, 99)), spread(pct(ec, 99))));
      out.println(String.format(Locale.ROOT, "%-6s p99.9 relay %s echo %s; max relay %s echo %s", "",
          spread(pct(rl, 99.9)), spread(pct(ec, 99.9)), spread(maxes(rl)), spread(maxes(ec))));
      double r50 = median(pct(rl, 50)) / median(pct(ec, 50));
      double r99 = median(pct(rl, 99)) / median(pct(ec, 99));
      List<Double> per50 = new ArrayList<>();
      List<Double> per99 = new ArrayList<>();
      for (int i = 0; i < Math.min(rl.size(), ec.size()); i++) {
        per50.add((double) rl.get(i).p(50) / ec.get(i).p(50));
        per99.add((double) rl.get(i).p(99) / ec.get(i).p(99));
      }
      List<Double> rawRl = new ArrayList<>();
      List<Double> rawEc = new ArrayList<>();
      rl.forEach(r -> rawRl.add(r.raw.getValueAtPercentile(50) / 1e3));
      ec.forEach(r -> rawEc.add(r.raw.getValueAtPercentile(50) / 1e3));
      ratioRows.add(String.format(Locale.ROOT, "R1 raw p50 %6d B: %5.2f  (from the actual send: relay %s us vs echo %s us;"
          + " differs from R1 when the generator itself was starved, see 'lag')", size,
          median(rawRl) / median(rawEc), fmt1(median(rawRl)), fmt1(median(rawEc))));
      headline.put("R1.p50." + size, r50);
      headline.put("R1.p99." + size, r99);
      ratioRows.add(String.format(Locale.ROOT, "R1 p50 %6d B: %5.2f  (per-round %s; relay %s us vs echo %s us)  target <= 2.3: %s",
          size, r50, ratios(per50), fmt1(median(pct(rl, 50))), fmt1(median(pct(ec, 50))), r50 <= 2.3 ? "MET" : "MISSED"));
      ratioRows.add(String.format(Locale.ROOT, "R1 p99 %6d B: %5.2f  (per-round %s; relay %s us vs echo %s us)  target <= 3:   %s",
          size, r99, ratios(per99), fmt1(median(pct(rl, 99))), fmt1(median(pct(ec, 99))), r99 <= 3 ? "MET" : "MISSED"));
    }
  }

  private void summaryW3() {
    out.println();
    out.println("--- W3 summary: max sustainable frames/s, median over rounds [min..max] ---");
    for (int size : o.sizes) {
      for (int n : sessionsList()) {
        List<Double> rl = w3Max.get("relay|" + size + "|" + n);
        List<Double> ec = w3Max.get("echo|" + size + "|" + n);
        if (rl == null || ec == null) {
          continue;
        }
        double r3 = median(rl) / median(ec);
        List<Double> per = new ArrayList<>();
        for (int i = 0; i < Math.min(rl.size(), ec.size()); i++) {
          per.add(ec.get(i) == 0 ? Double.NaN : rl.get(i) / ec.get(i));
        }
        out.println(String.format(Locale.ROOT, "%6d B n=%-4d relay %-28s echo %-28s probe relay %s echo %s; R3 %.2f",
            size, n, spread0(rl), spread0(ec), fmt0(median(w3Probe.get("relay|" + size + "|" + n))),
            fmt0(median(w3Probe.get("echo|" + size + "|" + n))), r3));
        headline.put("R3." + size + "." + n, r3);
        double r3probe = median(w3Probe.get("relay|" + size + "|" + n)) / median(w3Probe.get("echo|" + size + "|" + n));
        ratioRows.add(String.format(Locale.ROOT, "R3 probe %6d B n=%-4d: %5.2f  (saturation throughput, closed loop: relay %s/s vs echo %s/s)",
            size, n, r3probe, fmt0(median(w3Probe.get("relay|" + size + "|" + n))), fmt0(median(w3Probe.get("echo|" + size + "|" + n)))));
        ratioRows.add(String.format(Locale.ROOT, "R3 %6d B n=%-4d: %5.2f  (per-round %s; relay %s/s vs echo %s/s)  target >= 0.9: %s",
            size, n, r3, ratios(per), fmt0(median(rl)), fmt0(median(ec)), r3 >= 0.9 ? "MET" : "MISSED"));
      }
    }
  }

  // ---------------------------------------------------------------- W2

  private void runW2(Clients.Factory cf) throws Exception {
    out.println();
    out.println("=== W2 latency at fixed offered load (open loop), " + o.w2Loads + " of the relay's W3 max (n=" + o.many
        + ", median), same absolute rate for relay and echo; relay = one-way A->B, echo = A->echo->A ===");
    int maxN = Collections.max(o.w2Sessions);
    Map<String, Result> byKey = new LinkedHashMap<>();
    out.println(String.format(Locale.ROOT, "%-5s %-6s %-5s %-5s %10s %9s %9s %9s %9s %9s | %8s %9s %6s",
        "srv", "size", "n", "load", "offered/s", "deliv/s", "p50 us", "p99 us", "p99.9 us", "max us", "lag p99", "cpu us/f", "cores"));
    for (String kind : List.of("relay", "echo")) {
      try (ServerProcess sp = start(kind, o.window);
           Fixture fx = new Fixture(kind.equals("relay"), cf, sp.port, o.window)) {
        fx.addPairs(maxN, 0);
        warmProcess(fx, sp, Math.min(o.many, maxN));
        for (int size : o.sizes) {
          double base = referenceMax(size);
          for (int n : o.w2Sessions) {
            for (double f : o.w2Loads) {
              Result r = Load.openLoop(fx, sp, n, size, Math.max(1, f * base), o.warmup, o.measure, 2_000_000_000L);
              w2.add(r);
              byKey.put(kind + "|" + size + "|" + n + "|" + f, r);
              out.println(String.format(Locale.ROOT, "%-5s %-6d %-5d %-5.2f %10s %9s %9s %9s %9s %9s | %8s %9.2f %6.2f%s",
                  kind, size, n, f, fmt0(r.offeredPerSec), fmt0(r.deliveredPerSec), us(r.p(50)), us(r.p(99)), us(r.p(99.9)),
                  us(r.latency.getMaxValue()), us(r.lag.getValueAtPercentile(99)), r.serverCpuUsPerFrame, r.serverCpuCores,
                  r.delivered < r.planned ? "  (undelivered " + (r.planned - r.delivered) + ")" : ""));
            }
          }
        }
      }
    }
    for (int size : o.sizes) {
      for (int n : o.w2Sessions) {
        double f = o.w2Loads.contains(0.5) ? 0.5 : o.w2Loads.get(0);
        Result rl = byKey.get("relay|" + size + "|" + n + "|" + f);
        Result ec = byKey.get("echo|" + size + "|" + n + "|" + f);
        if (rl != null && ec != null) {
          double r4 = rl.serverCpuUsPerFrame / ec.serverCpuUsPerFrame;
          headline.put("R4." + size + "." + n, r4);
          ratioRows.add(String.format(Locale.ROOT,
              "R4 %6d B n=%-4d: %5.2f  server CPU per frame at %.0f %% load: relay %.2f us vs echo %.2f us (anchor <= ~1.5)",
              size, n, r4, f * 100, rl.serverCpuUsPerFrame, ec.serverCpuUsPerFrame));
        }
      }
    }
  }

  private double referenceMax(int size) {
    List<Double> l = w3Max.get("relay|" + size + "|" + o.many);
    if (l == null || median(l) <= 0) {
      l = w3Max.get("relay|" + size + "|1");
    }
    if (l != null && median(l) > 0) {
      return median(l);
    }
    return size >= 16384 ? 5_000 : 20_000; // W3 not run: a fixed, stated reference
  }

  // ---------------------------------------------------------------- W4

  private void runW4(Clients.Factory cf) throws Exception {
    out.println();
    out.println("=== W4 idle footprint: paired idle sessions (relay: 2 streams each) vs echo (1 stream each; x2 for"
        + " the same streams+connections); heap used after 3x System.gc() in the server JVM, minus the same after warm-up ===");
    out.println(String.format(Locale.ROOT, "%-9s %-5s %8s %10s %12s %12s %12s %12s %12s", "layout", "srv", "sessions",
        "heap MiB", "heap B/sess", "direct MiB", "direct B/s", "RSS MiB", "RSS B/sess"));
    Map<String, Double> perSession = new LinkedHashMap<>();
    for (String layout : List.of("dedicated", "shared")) {
      List<Integer> steps = layout.equals("dedicated") ? o.w4Dedicated : o.w4Shared;
      int conns = layout.equals("dedicated") ? 0 : o.w4SharedConns;
      if (steps.isEmpty()) {
        continue;
      }
      for (String kind : List.of("relay", "echo")) {
        try (ServerProcess sp = start(kind, o.window)) {
          warmUp(cf, sp, kind, Math.min(100, steps.get(0)));
          Map<String, Long> base = sp.stats(true);
          try (Fixture fx = new Fixture(kind.equals("relay"), cf, sp.port, o.window)) {
            int have = 0;
            for (int step : steps) {
              fx.addPairs(step - have, conns);
              have = step;
              Thread.sleep(500);
              Map<String, Long> s = sp.stats(true);
              double heapPer = (double) (s.get("heap") - base.get("heap")) / step;
              long direct = Math.max(0, s.get("direct")) + Math.max(0, s.get("nettyDirect"));
              long direct0 = Math.max(0, base.get("direct")) + Math.max(0, base.get("nettyDirect"));
              double directPer = (double) (direct - direct0) / step;
              double rssPer = (double) (s.get("rss") - base.get("rss")) / step;
              perSession.put(layout + "|" + kind + "|" + step, heapPer);
              out.println(String.format(Locale.ROOT, "%-9s %-5s %8d %10.1f %12.0f %12.1f %12.0f %12.1f %12.0f  (server sees %d %s)",
                  layout, kind, step, s.get("heap") / 1048576.0, heapPer, direct / 1048576.0, directPer,
                  s.get("rss") / 1048576.0, rssPer, s.get("sessions"), kind.equals("relay") ? "sessions" : "streams"));
            }
          }
        }
      }
      for (int step : steps) {
        Double rl = perSession.get(layout + "|relay|" + step);
        Double ec = perSession.get(layout + "|echo|" + step);
        if (rl == null || ec == null) {
          continue;
        }
        headline.put("W4.heapPerSession." + layout + "." + step, rl);
        ratioRows.add(String.format(Locale.ROOT,
            "W4 %-9s %6d sessions: relay heap %6.0f B/session (%.1f KiB, ~%.0fk sessions/GiB)  target <= 16 KiB: %s;"
                + " R5 = relay / (2 x echo stream+conn %.0f B) = %.2f",
            layout, step, rl, rl / 1024, (1L << 30) / Math.max(1, rl) / 1000, rl <= 16 * 1024 ? "MET" : "MISSED", 2 * ec,
            rl / (2 * ec)));
      }
    }
  }

  /**
   * W4 over WebSocket: paired idle sessions, a socket per participant, against the WebSocket echo
   * holding one socket per "pair" (x2 for the comparison), heap after GC minus the same after a
   * warm-up of 100 sessions opened and ended.
   */
  private void runW4WebSocket(Clients.Factory cf, SessionChurn.Launcher launcher) throws Exception {
    out.println();
    out.println("--- W4 WebSocket: paired idle sessions, a WebSocket per participant (relay) vs one per pair (echo; x2 for the comparison) ---");
    out.println(String.format(Locale.ROOT, "%-9s %-5s %8s %10s %12s %12s %12s %12s %12s", "layout", "srv", "sessions",
        "heap MiB", "heap B/sess", "direct MiB", "direct B/s", "RSS MiB", "RSS B/sess"));
    Map<String, Double> perSession = new LinkedHashMap<>();
    for (String kind : List.of("relay", "echo")) {
      boolean echo = kind.equals("echo");
      try (ServerProcess sp = launcher.start(SessionChurn.variants(o, List.of(kind)).get(0));
           WsClient client = new WsClient(o.clientThreads)) {
        List<WebSocketRtt.Pair> warm = WebSocketRtt.open(cf, client, sp, echo, Math.min(100, o.w4WebSocket.get(0)), o.window, null);
        WebSocketRtt.close(warm, echo);
        Thread.sleep(1000);
        Map<String, Long> base = sp.stats(true);
        List<WebSocketRtt.Pair> held = new ArrayList<>();
        for (int step : o.w4WebSocket) {
          held.addAll(WebSocketRtt.open(cf, client, sp, echo, step - held.size(), o.window, null));
          Thread.sleep(500);
          Map<String, Long> st = sp.stats(true);
          double heapPer = (double) (st.get("heap") - base.get("heap")) / step;
          long direct = Math.max(0, st.get("direct")) + Math.max(0, st.get("nettyDirect"));
          long direct0 = Math.max(0, base.get("direct")) + Math.max(0, base.get("nettyDirect"));
          double rssPer = (double) (st.get("rss") - base.get("rss")) / step;
          perSession.put(kind + "|" + step, heapPer);
          out.println(String.format(Locale.ROOT, "%-9s %-5s %8d %10.1f %12.0f %12.1f %12.0f %12.1f %12.0f  (server sees %d %s)",
              "websocket", kind, step, st.get("heap") / 1048576.0, heapPer, direct / 1048576.0, (double) (direct - direct0) / step,
              st.get("rss") / 1048576.0, rssPer, st.get("sessions"), echo ? "sockets" : "sessions"));
        }
        WebSocketRtt.close(held, echo);
      }
    }
    for (int step : o.w4WebSocket) {
      Double rl = perSession.get("relay|" + step);
      Double ec = perSession.get("echo|" + step);
      if (rl == null || ec == null) {
        continue;
      }
      headline.put("W4.heapPerSession.websocket." + step, rl);
      ratioRows.add(String.format(Locale.ROOT,
          "W4 websocket %6d sessions: relay heap %6.0f B/session (%.1f KiB)  target <= 16 KiB: %s; relay / (2 x echo socket %.0f B) = %.2f",
          step, rl, rl / 1024, rl <= 16 * 1024 ? "MET" : "MISSED", 2 * ec, rl / (2 * ec)));
    }
  }

  /** A few hundred sessions with some traffic, then ended: class loading, JIT and pools happen before the baseline. */
  private void warmUp(Clients.Factory cf, ServerProcess sp, String kind, int n) throws Exception {
    try (Fixture warm = new Fixture(kind.equals("relay"), cf, sp.port, o.window)) {
      warm.addPairs(n, 0);
      Load.openLoop(warm, sp, n, 1024, 5000, o.warmup, 2 * o.measure, 2_000_000_000L);
      terminate(warm);
    }
    Thread.sleep(300);
  }

  private static void terminate(Fixture fx) {
    if (!fx.relay) {
      return;
    }
    for (Pair p : fx.pairs) {
      try {
        p.a.send(ClientMessage.newBuilder().setTerminate(Terminate.newBuilder().setReason("bench")).build());
      } catch (RuntimeException ignored) {
        // gone
      }
    }
    for (Pair p : fx.pairs) {
      try {
        p.a.closed.get(5, TimeUnit.SECONDS);
      } catch (Exception ignored) {
        // best effort
      }
    }
  }

  // ---------------------------------------------------------------- W5

  private void runW5(Clients.Factory cf) throws Exception {
    out.println();
    out.println("=== W5 slow consumer: B stops reading (its own window " + o.w5RecvWindow + " B), A writes while isReady() ===");
    out.println("held by relay = (A wire bytes - A's own queue [grpc onReady threshold 32 KiB]) - B's window;"
        + " compared with 32 KiB + the relay's window. Wire bytes = gRPC message + 5-byte prefix (what HTTP/2 flow control counts).");
    out.println(String.format(Locale.ROOT, "%-8s %-6s %9s %11s %11s %11s %11s %11s %7s %11s %s", "window", "size", "A frames",
        "A wire B", "fwd->B B", "relay in B", "relay out B", "held B", "ratio", "heap +B", "A stalled / all delivered"));
    for (int window : o.w5Windows) {
      try (ServerProcess sp = start("relay", window)) {
        for (int size : o.sizes) {
          stall(cf, sp, window, size);
        }
      }
    }
  }

  private void stall(Clients.Factory cf, ServerProcess sp, int window, int size) throws Exception {
    ManagedChannel chA = cf.channel(sp.port, o.window);
    ManagedChannel chB = cf.channel(sp.port, o.w5RecvWindow);
    try {
      CreateSessionResponse s = RelayServiceGrpc.newBlockingStub(chA).withDeadlineAfter(30, TimeUnit.SECONDS)
          .createSession(CreateSessionRequest.getDefaultInstance());
      BenchStream a = BenchStream.open(chA, RelayServiceGrpc.getConnectMethod(), false);
      a.join(s.getProverTicket());
      Thread.sleep(100); // A seated first, so B's Joined says peer_present (B reads only that one message)
      BenchStream b = BenchStream.open(chB, RelayServiceGrpc.getConnectMethod(), true);
      AtomicLong bGot = new AtomicLong();
      b.handler = (st, f) -> bGot.incrementAndGet();
      new Pair(a, b);
      b.join(s.getVerifierTicket());
      b.paired.get(10, TimeUnit.SECONDS);
      a.paired.get(10, TimeUnit.SECONDS);
      Map<String, Long> before = sp.stats(true);
      var pad = Load.pad(size);
      long frames = 0;
      long wire = 0;
      long last = System.nanoTime();
      long began = last;
      while (System.nanoTime() - last < 1_500_000_000L && System.nanoTime() - began < 30_000_000_000L) {
        while (a.isReady()) {
          ClientMessage m = Load.frame(++a.seq, 0, 0, pad);
          a.send(m);
          frames++;
          wire += m.getSerializedSize() + 5;
          last = System.nanoTime();
        }
        LockSupport.parkNanos(1_000_000);
      }
      boolean stalled = !a.isReady();
      Map<String, Long> during = sp.stats(true);
      long fwdFrames = during.get("relayedFrames") - before.get("relayedFrames");
      ClientMessage sample = Load.frame(1, 0, 0, pad);
      long fwdWire = fwdFrames * (ServerMessage.newBuilder().setData(sample.getData()).build().getSerializedSize() + 5);
      long relayIn = wire - fwdWire - ON_READY_THRESHOLD;
      long relayOut = fwdWire - Math.min(fwdWire, o.w5RecvWindow);
      long held = relayIn + relayOut;
      double bound = ON_READY_THRESHOLD + window;
      double ratio = held / bound;
      long heapDelta = during.get("heap") - before.get("heap");
      b.out.request(Integer.MAX_VALUE);
      long deadline = System.nanoTime() + 30_000_000_000L;
      while (bGot.get() < frames && System.nanoTime() < deadline) {
        Thread.sleep(10);
      }
      boolean all = bGot.get() == frames;
      headline.put("W5.ratio." + window + "." + size, ratio);
      out.println(String.format(Locale.ROOT, "%-8d %-6d %9d %11d %11d %11d %11d %11d %7.2f %11d %s / %s",
          window, size, frames, wire, fwdWire, relayIn, relayOut, held, ratio, heapDelta, stalled ? "yes" : "NO",
          all ? "yes (" + frames + ")" : "NO (" + bGot.get() + "/" + frames + ")"));
      ratioRows.add(String.format(Locale.ROOT,
          "W5 window %7d, %6d B frames: held %7d B / (32 KiB + window = %.0f B) = %.2f (+- one frame %d B)  target <= 1: %s",
          window, size, held, bound, ratio, sample.getSerializedSize() + 5, ratio <= 1 ? "MET" : "MISSED"));
      a.send(ClientMessage.newBuilder().setTerminate(Terminate.newBuilder().setReason("bench")).build());
      a.closed.get(10, TimeUnit.SECONDS);
    } finally {
      chA.shutdownNow();
      chB.shutdownNow();
    }
  }

  // ---------------------------------------------------------------- helpers

  private static List<Double> pct(List<Result> rs, double q) {
    List<Double> l = new ArrayList<>();
    for (Result r : rs) {
      l.add(r.p(q) / 1e3);
    }
    return l;
  }

  private static List<Double> maxes(List<Result> rs) {
    List<Double> l = new ArrayList<>();
    for (Result r : rs) {
      l.add(r.latency.getMaxValue() / 1e3);
    }
    return l;
  }

  static double median(List<Double> l) {
    if (l == null || l.isEmpty()) {
      return Double.NaN;
    }
    List<Double> s = new ArrayList<>(l);
    Collections.sort(s);
    int n = s.size();
    return n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
  }

  private static String spread(List<Double> l) {
    return String.format(Locale.ROOT, "%s [%s..%s]", fmt1(median(l)), fmt1(Collections.min(l)), fmt1(Collections.max(l)));
  }

  private static String spread0(List<Double> l) {
    return String.format(Locale.ROOT, "%s [%s..%s]", fmt0(median(l)), fmt0(Collections.min(l)), fmt0(Collections.max(l)));
  }

  private static String ratios(List<Double> l) {
    StringBuilder b = new StringBuilder("[");
    for (int i = 0; i < l.size(); i++) {
      b.append(i == 0 ? "" : " ").append(String.format(Locale.ROOT, "%.2f", l.get(i)));
    }
    return b.append(']').toString();
  }

  static String us(long nanos) {
    if (nanos < 0) {
      return "-";
    }
    double u = nanos / 1e3;
    return u < 1000 ? String.format(Locale.ROOT, "%.1f", u) : String.format(Locale.ROOT, "%.0f", u);
  }

  static String fmt1(double v) {
    return v < 1000 ? String.format(Locale.ROOT, "%.1f", v) : String.format(Locale.ROOT, "%.0f", v);
  }

  static String fmt0(double v) {
    return String.format(Locale.ROOT, "%.0f", v);
  }
}
