package dev.checkmate.relay.bench;

import dev.checkmate.relay.bench.BenchMain.Options;
import dev.checkmate.relay.bench.Clients.Fixture;
import dev.checkmate.relay.bench.Load.Result;
import dev.checkmate.relay.ticket.KeyRing;
import io.jsonwebtoken.security.Jwks;
import java.io.IOException;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * W7, cross-node round trip (issue 5: cross-node RTT / node-local RTT at most 1.6). One
 * nats-server and two relay nodes (child JVMs) sharing a ticket signing key. Node-local: both
 * participants of a session on node A. Cross-node: the prover joins A (A becomes the session's
 * home), the verifier joins B, so every frame crosses NATS once each way. The W1 round trip
 * (one frame in flight, latency from the planned send time) in alternating rounds.
 */
final class CrossNode {
  interface Starter {
    ServerProcess start(List<String> serveArgs, String name) throws Exception;
  }

  private final Options o;
  private final PrintStream out;
  private final Starter starter;
  private final Map<String, List<Result>> results = new LinkedHashMap<>();
  final List<String> ratioRows = new ArrayList<>();
  final Map<String, Double> headline = new LinkedHashMap<>();

  CrossNode(Options o, PrintStream out, Starter starter) {
    this.o = o;
    this.out = out;
    this.starter = starter;
  }

  void run(Clients.Factory cf) throws Exception {
    out.println();
    out.println("=== W7 cross-node round trip: two relay nodes joined by one nats-server; node-local (both peers on A) vs"
        + " cross-node (prover on A, verifier on B), " + o.rounds + " alternating rounds ===");
    String natsBinary = findNats();
    if (natsBinary == null) {
      out.println("W7 skipped: no nats-server on this machine (apt-get install nats-server)");
      return;
    }
    Path dir = Files.createTempDirectory("relay-bench-w7");
    Path key = dir.resolve("signing.jwk");
    Files.writeString(key, Jwks.UNSAFE_JSON(KeyRing.generate()));
    int natsPort = freePort();
    Process nats = new ProcessBuilder(natsBinary, "-a", "127.0.0.1", "-p", String.valueOf(natsPort))
        .redirectErrorStream(true).redirectOutput(dir.resolve("nats.log").toFile()).start();
    try {
      waitForPort(natsPort);
      String url = "nats://127.0.0.1:" + natsPort;
      try (ServerProcess a = starter.start(List.of("--nats=" + url, "--node-id=a", "--signing-key=" + key), "w7-a");
           ServerProcess b = starter.start(List.of("--nats=" + url, "--node-id=b", "--signing-key=" + key), "w7-b")) {
        out.println(String.format(Locale.ROOT, "%-5s %-11s %-6s %9s %9s %9s %9s | %8s %8s",
            "round", "layout", "size", "p50 us", "p99 us", "p99.9 us", "max us", "raw p50", "raw p99"));
        for (int round = 1; round <= o.rounds; round++) {
          for (boolean cross : round % 2 == 1 ? List.of(false, true) : List.of(true, false)) {
            try (Fixture fx = new Fixture(true, cf, a.port, cross ? b.port : a.port, o.window)) {
              fx.addPairs(1, 0);
              for (int size : o.sizes) {
                Load.roundTrip(fx, a, size, o.w1Rate, 0, Math.min(2, o.processWarmup / 2)); // JIT, untimed
                Result r = Load.roundTrip(fx, a, size, o.w1Rate, o.warmup, o.w1Seconds);
                String layout = cross ? "cross-node" : "node-local";
                results.computeIfAbsent(layout + "|" + size, k -> new ArrayList<>()).add(r);
                out.println(String.format(Locale.ROOT, "%-5d %-11s %-6d %9s %9s %9s %9s | %8s %8s", round, layout, size,
                    Workloads.us(r.p(50)), Workloads.us(r.p(99)), Workloads.us(r.p(99.9)),
                    Workloads.us(r.latency.getMaxValue()), Workloads.us(r.raw.getValueAtPercentile(50)),
                    Workloads.us(r.raw.getValueAtPercentile(99))));
              }
            }
          }
        }
      }
    } finally {
      nats.destroy();
    }
    for (int size : o.sizes) {
      List<Result> local = results.get("node-local|" + size);
      List<Result> cross = results.get("cross-node|" + size);
      if (local == null || cross == null) {
        continue;
      }
      double l50 = Workloads.median(raw(local, 50));
      double c50 = Workloads.median(raw(cross, 50));
      double l99 = Workloads.median(raw(local, 99));
      double c99 = Workloads.median(raw(cross, 99));
      double ratio = c50 / l50;
      headline.put("X.p50." + size, ratio);
      ratioRows.add(String.format(Locale.ROOT,
          "X  p50 %6d B: %5.2f  (cross-node %s us vs node-local %s us, from the actual send; p99 %s vs %s us)  target <= 1.6: %s",
          size, ratio, Workloads.fmt1(c50), Workloads.fmt1(l50), Workloads.fmt1(c99), Workloads.fmt1(l99),
          ratio <= 1.6 ? "MET" : "MISSED"));
    }
  }

  private static List<Double> raw(List<Result> rs, double q) {
    List<Double> l = new ArrayList<>();
    for (Result r : rs) {
      l.add(r.raw.getValueAtPercentile(q) / 1e3);
    }
    return l;
  }

  static String findNats() {
    String env = System.getenv("NATS_SERVER");
    for (String p : new String[] {env, "/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server"}) {
      if (p != null && Files.isExecutable(Path.of(p))) {
        return p;
      }
    }
    return null;
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  private static void waitForPort(int port) throws Exception {
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (System.nanoTime() < deadline) {
      try (Socket s = new Socket("127.0.0.1", port)) {
        return;
      } catch (IOException e) {
        Thread.sleep(50);
      }
    }
    throw new IOException("nats-server did not start on port " + port);
  }
}
