package dev.checkmate.relay.cluster;

import static dev.checkmate.relay.cluster.ClusterIT.joinAfter;
import static dev.checkmate.relay.cluster.ClusterIT.skipTo;
import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.DATA;
import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.JOINED;
import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.PEER_JOINED;
import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.SESSION_ENDED;

import dev.checkmate.relay.proto.v1.CreateSessionResponse;
import dev.checkmate.relay.testing.TestPeer;
import dev.checkmate.relay.testing.TestRelay;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * On demand, not in the normal build: what one session costs the NATS backplane, read from a real
 * nats-server's monitoring endpoint (messages, bytes, subscription inserts/removes) and its process
 * CPU, for sessions whose two participants are on one node and for sessions bridged across two.
 *
 * <pre>mvn -B -pl relay-service -am verify -Dtest=NatsCostReport -Dnats.report=true -Dsurefire.failIfNoSpecifiedTests=false [-Dnats.sessions=2000] [-Dnats.concurrency=8]</pre>
 *
 * Each session has the shape of relay-bench's session churn: CreateSession, two joins, 4 round
 * trips of 256 B, terminate; {@code nats.concurrency} sessions run at a time. The home node keeps
 * answering for an ended session until its tickets expire (ended sessions stay dead cluster-wide),
 * so its subscription outlives the session: the report also prints how many stay and what they cost
 * nats-server in memory. No assertion: it prints the figures docs/capacity.md and
 * infra/capacity/figures.json cite.
 */
@EnabledIfSystemProperty(named = "nats.report", matches = "true")
class NatsCostReport {
  static final int ROUND_TRIPS = 4;
  static final int PAYLOAD = 256;

  @TempDir
  static Path dir;
  @AutoClose
  static TwoNodes cluster;

  @BeforeAll
  static void start() throws Exception {
    // One client address opens every session here: lift the per-address join rate limit.
    cluster = TwoNodes.start(dir, c -> c.maxJoinAttemptsPerSecond(0));
  }

  @Test
  void report() throws Exception {
    int sessions = Integer.getInteger("nats.sessions", 2000);
    int concurrency = Integer.getInteger("nats.concurrency", 8);
    run(cluster.a, 100, concurrency); // warm-up, both layouts
    run(cluster.b, 100, concurrency);
    long subs0 = field(cluster.nats.monitor("/subsz"), "num_subscriptions");
    long mem0 = field(cluster.nats.monitor("/varz"), "mem");
    Map<String, Double> local = measure(cluster.a, sessions, concurrency);
    Map<String, Double> cross = measure(cluster.b, sessions, concurrency);
    long retained = field(cluster.nats.monitor("/subsz"), "num_subscriptions") - subs0;
    long mem = field(cluster.nats.monitor("/varz"), "mem") - mem0;
    System.out.printf("%nNATS COST REPORT (%d sessions per layout, %d at a time; each: 2 joins, %d round trips of %d B, terminate)%n",
        sessions, concurrency, ROUND_TRIPS, PAYLOAD);
    System.out.printf("  per session          %12s %12s%n", "node-local", "cross-node");
    for (String k : local.keySet()) {
      System.out.printf("  %-20s %12.1f %12.1f%n", k, local.get(k), cross.get(k));
    }
    double frames = 2.0 * ROUND_TRIPS;
    System.out.printf("  extra NATS messages (in+out) per relayed frame across nodes: %.2f%n",
        (cross.get("nats msgs in+out") - local.get("nats msgs in+out")) / frames);
    System.out.printf("  nats-server CPU per message (in+out): node-local run %.2f us, cross-node run %.2f us%n",
        local.get("nats cpu us") / local.get("nats msgs in+out"), cross.get("nats cpu us") / cross.get("nats msgs in+out"));
    System.out.printf("  subscriptions still held after both runs (ended sessions' homes, until their tickets expire): %d of %d sessions;"
        + " nats-server memory +%d KiB, %.0f B per held subscription%n%n", retained, 2 * sessions, mem / 1024, mem / (double) Math.max(1, retained));
  }

  /** Per-session deltas of nats-server's counters over {@code n} sessions with the verifier on {@code verifierNode}. */
  private static Map<String, Double> measure(TestRelay verifierNode, int n, int concurrency) throws Exception {
    long[] before = counters();
    long cpu0 = natsCpuMicros();
    long t0 = System.nanoTime();
    run(verifierNode, n, concurrency);
    double seconds = (System.nanoTime() - t0) / 1e9;
    Thread.sleep(500); // late unsubscribes of the last sessions
    long[] after = counters();
    long cpu1 = natsCpuMicros();
    Map<String, Double> out = new LinkedHashMap<>();
    out.put("nats msgs in+out", (after[0] + after[1] - before[0] - before[1]) / (double) n);
    out.put("nats bytes in+out", (after[2] + after[3] - before[2] - before[3]) / (double) n);
    out.put("subscriptions added", (after[4] - before[4]) / (double) n);
    out.put("subscriptions removed", (after[5] - before[5]) / (double) n);
    out.put("nats cpu us", (cpu1 - cpu0) / (double) n);
    out.put("sessions/s (rate)", n / seconds);
    return out;
  }

  private static void run(TestRelay verifierNode, int n, int concurrency) throws Exception {
    java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(concurrency);
    try {
      java.util.List<java.util.concurrent.Future<?>> done = new java.util.ArrayList<>();
      java.util.concurrent.atomic.AtomicInteger left = new java.util.concurrent.atomic.AtomicInteger(n);
      for (int t = 0; t < concurrency; t++) {
        done.add(pool.submit(() -> {
          while (left.getAndDecrement() > 0) {
            oneSession(verifierNode);
          }
          return null;
        }));
      }
      for (java.util.concurrent.Future<?> f : done) {
        f.get();
      }
    } finally {
      pool.shutdownNow();
    }
  }

  private static void oneSession(TestRelay verifierNode) throws Exception {
    byte[] payload = new byte[PAYLOAD];
    CreateSessionResponse s = cluster.a.createSession();
    try (TestPeer prover = cluster.a.join(s.getProverTicket()); TestPeer verifier = joinAfter(prover, verifierNode, s.getVerifierTicket())) {
      prover.next(JOINED);
      verifier.next(JOINED);
      skipTo(prover, PEER_JOINED);
      for (int r = 0; r < ROUND_TRIPS; r++) {
        prover.sendData(payload);
        skipTo(verifier, DATA);
        verifier.sendData(payload);
        skipTo(prover, DATA);
      }
      prover.terminate("done");
      skipTo(prover, SESSION_ENDED);
      skipTo(verifier, SESSION_ENDED);
    }
  }

  /** in_msgs, out_msgs, in_bytes, out_bytes (/varz), num_inserts, num_removes (/subsz). */
  private static long[] counters() {
    String varz = cluster.nats.monitor("/varz");
    String subsz = cluster.nats.monitor("/subsz");
    return new long[] {field(varz, "in_msgs"), field(varz, "out_msgs"), field(varz, "in_bytes"), field(varz, "out_bytes"),
        field(subsz, "num_inserts"), field(subsz, "num_removes")};
  }

  private static long field(String json, String name) {
    Matcher m = Pattern.compile("\"" + name + "\"\\s*:\\s*(\\d+)").matcher(json);
    if (!m.find()) {
      throw new AssertionError("no " + name + " in nats-server monitoring output: " + json);
    }
    return Long.parseLong(m.group(1));
  }

  /** The nats-server process's CPU time (user + system), found by its config file on the command line. */
  private static long natsCpuMicros() throws Exception {
    String conf = dir.resolve("n1.conf").toString();
    ProcessHandle p = ProcessHandle.allProcesses()
        .filter(h -> h.info().commandLine().orElse("").contains(conf)).findFirst()
        .orElseThrow(() -> new AssertionError("nats-server process not found"));
    String stat = Files.readString(Path.of("/proc/" + p.pid() + "/stat"));
    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    return (Long.parseLong(f[11]) + Long.parseLong(f[12])) * 10_000L; // utime + stime, USER_HZ = 100
  }
}
