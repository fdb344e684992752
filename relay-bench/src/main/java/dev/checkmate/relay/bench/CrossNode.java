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
 * W7, cross-node round trip (target: cross-node RTT / node-local RTT at most 1.6). One
 * nats-server and two relay nodes (child JVMs) sharing a ticket signing key. Node-local: both
 * participants of a session on node A. Cross-node: the prover joins A (A becomes the session's
 * home), the verifier joins B, so every frame crosses NATS once each way. The W1 round trip
 * (one frame in flight, latency from the planned send time) in alternating rounds. The relays time
 * every cross-node frame hop by hop ({@link HopTimes}): the sending relay (transport to NATS
 * publish), NATS (publish to the receiving relay's handler, both jnats clients and the server) and
 * the receiving relay (handler to the client's transport).
 */
final class CrossNode {
  interface Starter {
    ServerProcess start(List<String> serveArgs, String name) throws Exception;
  }

  private final Options o;
  private final PrintStream out;
  private final Starter starter;
  private final Map<String, List<Result>> results = new LinkedHashMap<>();
  private final Map<Integer, List<Hops>> hops = new LinkedHashMap<>();
  private final Map<Integer, List<Double>> natsFloor = new LinkedHashMap<>();
  final List<String> hopRows = new ArrayList<>();

  /**
   * One cross-node run's hop times (ns) at node A (the home: the prover's node) and node B (the
   * bridge: the verifier's). A to B is "down" (home to bridge), B to A is "up".
   */
  record Hops(Map<String, Long> a, Map<String, Long> b) {
    /** p50 of one hop: SEND on the sending node, TRANSIT and RECEIVE on the receiving one. */
    double p50(String hop, boolean up) {
      Map<String, Long> at = switch (hop) {
        case "send" -> up ? b : a;
        default -> up ? a : b;
      };
      Long v = at.get(hop + "_" + (up ? "up" : "down") + "_p50");
      return v == null ? Double.NaN : v / 1e3;
    }
  }
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
      try (ServerProcess a = starter.start(List.of("--nats=" + url, "--node-id=a", "--signing-key=" + key, "--hop-timing"), "w7-a");
           ServerProcess b = starter.start(List.of("--nats=" + url, "--node-id=b", "--signing-key=" + key, "--hop-timing"), "w7-b")) {
        out.println(String.format(Locale.ROOT, "%-5s %-11s %-6s %9s %9s %9s %9s | %8s %8s",
            "round", "layout", "size", "p50 us", "p99 us", "p99.9 us", "max us", "raw p50", "raw p99"));
        for (int round = 1; round <= o.rounds; round++) {
          for (boolean cross : round % 2 == 1 ? List.of(false, true) : List.of(true, false)) {
            try (Fixture fx = new Fixture(true, cf, a.port, cross ? b.port : a.port, o.window)) {
              fx.addPairs(1, 0);
              for (int size : o.sizes) {
                Load.roundTrip(fx, a, size, o.w1Rate, 0, Math.min(2, o.processWarmup / 2)); // JIT, untimed
                a.hops(); // reset
                b.hops();
                Result r = Load.roundTrip(fx, a, size, o.w1Rate, o.warmup, o.w1Seconds);
                if (cross) {
                  hops.computeIfAbsent(size, k -> new ArrayList<>()).add(new Hops(a.hops(), b.hops()));
                  // The floor of two NATS transits, same server, same minute: a bare jnats ping-pong.
                  natsFloor.computeIfAbsent(size, k -> new ArrayList<>()).add(natsPingPong(url, size, o.w1Rate, o.w1Seconds));
                }
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
      List<Hops> h = hops.get(size);
      if (h == null || h.isEmpty()) {
        continue;
      }
      hopRows.add(String.format(Locale.ROOT,
          "W7 hops p50 %6d B (median of rounds, us): A->B  relay A %6s | NATS %6s | relay B %6s    B->A  relay B %6s | NATS %6s | relay A %6s"
              + "    bare jnats ping-pong RTT (2 NATS transits) %s",
          size, med(h, "send", false), med(h, "transit", false), med(h, "receive", false),
          med(h, "send", true), med(h, "transit", true), med(h, "receive", true),
          Workloads.fmt1(Workloads.median(natsFloor.getOrDefault(size, List.of(Double.NaN))))));
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

  /**
   * p50 round trip (us) of a bare jnats ping-pong through the same nats-server: two connections in
   * this JVM, a dispatcher echoing "ping" to "pong", one message in flight at {@code rate}/s for
   * {@code seconds}. Two NATS transits with the same client library and threads as the relays.
   */
  static double natsPingPong(String url, int size, double rate, double seconds) throws Exception {
    io.nats.client.Connection ping = io.nats.client.Nats.connect(url);
    io.nats.client.Connection pong = io.nats.client.Nats.connect(url);
    try {
      io.nats.client.Dispatcher echo = pong.createDispatcher(m -> pong.publish("w7.pong", m.getData()));
      echo.subscribe("w7.ping");
      java.util.concurrent.atomic.AtomicReference<java.util.concurrent.CountDownLatch> back = new java.util.concurrent.atomic.AtomicReference<>();
      io.nats.client.Dispatcher d = ping.createDispatcher(m -> back.get().countDown());
      d.subscribe("w7.pong");
      ping.flush(java.time.Duration.ofSeconds(2));
      pong.flush(java.time.Duration.ofSeconds(2));
      byte[] payload = new byte[size];
      org.HdrHistogram.Histogram h = new org.HdrHistogram.Histogram(3);
      long interval = (long) (1e9 / rate);
      long end = System.nanoTime() + (long) (seconds * 1e9);
      int k = 0;
      while (System.nanoTime() < end) {
        java.util.concurrent.CountDownLatch l = new java.util.concurrent.CountDownLatch(1);
        back.set(l);
        long t0 = System.nanoTime();
        ping.publish("w7.ping", payload);
        if (!l.await(5, java.util.concurrent.TimeUnit.SECONDS)) {
          throw new IllegalStateException("NATS ping-pong lost a message");
        }
        if (k++ >= 50) { // first ones warm the JIT
          h.recordValue(System.nanoTime() - t0);
        }
        java.util.concurrent.locks.LockSupport.parkNanos(Math.max(0, t0 + interval - System.nanoTime()));
      }
      return h.getValueAtPercentile(50) / 1e3;
    } finally {
      ping.close();
      pong.close();
    }
  }

  private static String med(List<Hops> h, String hop, boolean up) {
    List<Double> v = new ArrayList<>();
    for (Hops x : h) {
      v.add(x.p50(hop, up));
    }
    return Workloads.fmt1(Workloads.median(v));
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
