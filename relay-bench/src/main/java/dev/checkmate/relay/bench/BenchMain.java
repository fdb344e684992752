package dev.checkmate.relay.bench;

import java.io.FileOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code java -jar relay-bench.jar all} runs W1–W5 against the relay and the direct echo baseline
 * (each server in its own child JVM) and prints the tables and ratios. See relay-bench/README.md.
 */
@Command(name = "relay-bench", mixinStandardHelpOptions = true,
    description = "CheckMate Relay benchmarks: relay vs direct grpc-java echo, open-loop, HdrHistogram.",
    subcommands = {BenchMain.All.class, BenchMain.ServeRelay.class, BenchMain.ServeEcho.class, BenchMain.ServeWsEcho.class,
        BenchMain.SigFloor.class})
public final class BenchMain implements Runnable {
  public static void main(String[] args) {
    System.exit(new CommandLine(new BenchMain()).execute(args));
  }

  @Override
  public void run() {
    CommandLine.usage(this, System.out);
  }

  /** Everything the full run can be tuned with; defaults are the documented full run. */
  public static final class Options {
    @Option(names = "--rounds", description = "alternating relay/echo rounds for W1 and W3 (default ${DEFAULT-VALUE})")
    public int rounds = 3;
    @Option(names = "--sizes", split = ",", description = "frame payload sizes in bytes (default 100,1024,16384)")
    public List<Integer> sizes = new ArrayList<>(List.of(100, 1024, 16384));
    @Option(names = "--workloads", split = ",", description = "which of w1,w2,w3,w4,w5 (and w6, telemetry overhead; w7, cross-node round trip; w8, session churn; w9, WebSocket round trip) to run (default w1-w5, w7)")
    public List<String> workloads = new ArrayList<>(List.of("w1", "w2", "w3", "w4", "w5", "w7"));
    @Option(names = "--warmup-seconds", description = "warm-up before each measured step (default ${DEFAULT-VALUE})")
    public double warmup = 0.5;
    @Option(names = "--measure-seconds", description = "measured window of each W2/W3 step (default ${DEFAULT-VALUE})")
    public double measure = 2;
    @Option(names = "--process-warmup-seconds", description = "untimed traffic at every size once per server process, for the JIT (default ${DEFAULT-VALUE})")
    public double processWarmup = 8;
    @Option(names = "--w1-seconds", description = "measured window of each W1 step (default ${DEFAULT-VALUE})")
    public double w1Seconds = 4;
    @Option(names = "--w1-rate", description = "W1 round trips per second, one in flight (default ${DEFAULT-VALUE})")
    public double w1Rate = 500;
    @Option(names = "--probe-seconds", description = "W3 saturation probe window (default ${DEFAULT-VALUE})")
    public double probeSeconds = 1.5;
    @Option(names = "--many", description = "W3 'many sessions' count (default ${DEFAULT-VALUE})")
    public int many = 100;
    @Option(names = "--w2-sessions", split = ",", description = "W2 active session counts (default 100,1000)")
    public List<Integer> w2Sessions = new ArrayList<>(List.of(100, 1000));
    @Option(names = "--w2-loads", split = ",", description = "W2 offered load as fractions of the relay's W3 max (default 0.25,0.5,0.8)")
    public List<Double> w2Loads = new ArrayList<>(List.of(0.25, 0.5, 0.8));
    @Option(names = "--slo-ms", description = "W3: a rate is sustainable while p99 <= this (default ${DEFAULT-VALUE} ms) and nothing is left undelivered")
    public double sloMs = 10;
    @Option(names = "--w4-dedicated", split = ",", description = "W4 steps, one connection per participant (default 1000; 10k would need 20k fds per process, the limit here is 20,000)")
    public List<Integer> w4Dedicated = new ArrayList<>(List.of(1000));
    @Option(names = "--w4-shared", split = ",", description = "W4 steps, participants multiplexed over --w4-shared-conns connections per side (default 1000,10000)")
    public List<Integer> w4Shared = new ArrayList<>(List.of(1000, 10000));
    @Option(names = "--w4-websocket", split = ",", description = "W4 steps over WebSocket, a socket per participant (default 1000; empty to skip)")
    public List<Integer> w4WebSocket = new ArrayList<>(List.of(1000));
    @Option(names = "--w4-shared-conns", description = "connections per side in the shared W4 layout (default ${DEFAULT-VALUE})")
    public int w4SharedConns = 50;
    @Option(names = "--w5-windows", split = ",", description = "relay flow-control windows for W5 (default 262144,65536)")
    public List<Integer> w5Windows = new ArrayList<>(List.of(262144, 65536));
    @Option(names = "--w5-recv-window", description = "the stalled receiver's own flow-control window (default ${DEFAULT-VALUE})")
    public int w5RecvWindow = 16384;
    @Option(names = "--window", description = "server flow-control window for W1-W4, relay and echo (default ${DEFAULT-VALUE}, the relay default)")
    public int window = 256 * 1024;
    @Option(names = "--client-threads", description = "client event-loop threads in the driver (default ${DEFAULT-VALUE})")
    public int clientThreads = 2;
    @Option(names = "--server-jvm", description = "JVM flags of the server child processes (default '${DEFAULT-VALUE}')")
    public String serverJvm = "-Xms1g -Xmx1g -XX:+UseG1GC";
    @Option(names = "--log-dir", description = "server logs and GC logs (default ${DEFAULT-VALUE})")
    public Path logDir = Path.of("bench-logs");
    @Option(names = "--out", description = "also write everything printed to this file")
    public Path out;
    @Option(names = "--relay-event-loop-threads", description = "gRPC network threads of the relay and the echo baseline alike (RelayConfig.eventLoopThreads; default ${DEFAULT-VALUE} = the relay default, one per two cores)")
    public int relayEventLoopThreads = 0;
    @Option(names = "--telemetry", description = "relay telemetry for W1-W5: on (default, the relay's default), off"
        + " (RelayConfig.telemetryEnabled(false)), or both = on plus W6: the same relay with telemetry on vs off, ratio in this run")
    public String telemetry = "on";

    // ---- W8 session churn
    @Option(names = "--w8-rates", split = ",", description = "W8 offered sessions/s, ascending; a layout stops at its first step that is unsustainable twice (default 100,250,500,1000,1500,2000,2500,3000,4000)")
    public List<Double> w8Rates = new ArrayList<>(List.of(100.0, 250.0, 500.0, 1000.0, 1500.0, 2000.0, 2500.0, 3000.0, 4000.0));
    @Option(names = "--w8-cpu-rate", description = "W8 the step whose CPU per session the summary compares across variants (default: the first rate)")
    public double w8CpuRate = 0;
    @Option(names = "--w8-layouts", split = ",", description = "W8 layouts: shared (a few HTTP/2 connections), dedicated (a connection per participant), websocket (default shared,dedicated,websocket)")
    public List<String> w8Layouts = new ArrayList<>(List.of("shared", "dedicated", "websocket"));
    @Option(names = "--w8-variants", split = ",", description = "W8 relays: relay, audit-off, telemetry-off, baseline (needs --w8-baseline-jar) (default relay,audit-off)")
    public List<String> w8Variants = new ArrayList<>(List.of("relay", "audit-off"));
    @Option(names = "--w8-baseline-jar", description = "W8 baseline: a relay-service jar of another build (e.g. main's), put first on the relay's classpath")
    public Path w8BaselineJar;
    @Option(names = "--w8-rounds", description = "W8 rounds, variants in alternating order (default ${DEFAULT-VALUE})")
    public int w8Rounds = 2;
    @Option(names = "--w8-warmup-seconds", description = "W8 warm-up per step (default ${DEFAULT-VALUE})")
    public double w8Warmup = 1;
    @Option(names = "--w8-measure-seconds", description = "W8 measured window per step (default ${DEFAULT-VALUE})")
    public double w8Measure = 3;
    @Option(names = "--w8-process-warmup-seconds", description = "W8 JIT warm-up per relay process: at most this long on the first layout (a fifth of it on each other) (default ${DEFAULT-VALUE})")
    public double w8ProcessWarmup = 40;
    @Option(names = "--w8-warm-sessions", description = "W8 JIT warm-up: sessions on the first layout (a fifth of it on each other), closed loop (default ${DEFAULT-VALUE})")
    public long w8WarmSessions = 30_000;
    @Option(names = "--w8-warm-concurrency", description = "W8 JIT warm-up: sessions open at once (default ${DEFAULT-VALUE})")
    public int w8WarmConcurrency = 16;
    @Option(names = "--w8-shared-conns", description = "W8 shared layout: HTTP/2 connections (default ${DEFAULT-VALUE})")
    public int w8SharedConns = 4;
    @Option(names = "--w8-slo-ms", description = "W8 sustainable = p99 session latency <= this, no failures (default ${DEFAULT-VALUE})")
    public double w8SloMs = 50;
    @Option(names = "--w8-timeout-seconds", description = "W8 a session not done after this counts as failed (default ${DEFAULT-VALUE})")
    public double w8TimeoutSeconds = 10;
    @Option(names = "--w8-max-in-flight", description = "W8 sessions open at once before new ones count as failed (fds: 2 per participant connection) (default ${DEFAULT-VALUE})")
    public int w8MaxInFlight = 3000;
    @Option(names = "--w8-floor-seconds", description = "W8 signature floor measurement time (default ${DEFAULT-VALUE})")
    public double w8FloorSeconds = 8;
    @Option(names = "--w8-profile-rate", description = "W8 cost of a session: one more step at this rate on the relay variant's first layout,"
        + " with JFR execution samples split by part (0 = off; default ${DEFAULT-VALUE})")
    public double w8ProfileRate = 0;
    @Option(names = "--w8-profile-seconds", description = "W8 cost-of-a-session step length (default ${DEFAULT-VALUE})")
    public double w8ProfileSeconds = 10;
    @Option(names = "--w8-ttl-seconds", description = "W8 session lifetime asked for in CreateSession: the relay remembers ended sessions that long (+ clock skew) (default ${DEFAULT-VALUE})")
    public int w8TtlSeconds = 60;
    @Option(names = "--w8-ws-threads", description = "W8 WebSocket client event-loop threads (default ${DEFAULT-VALUE})")
    public int w8WsThreads = 1;
    // ---- W9 WebSocket round trip
    @Option(names = "--w9-variants", split = ",", description = "W9 servers: echo (lean Netty WebSocket echo), relay, baseline, alloc-pooled, alloc-adaptive, alloc-unpooled (default echo,relay)")
    public List<String> w9Variants = new ArrayList<>(List.of("echo", "relay"));
    @Option(names = "--w9-sessions", description = "W9 paired WebSocket sessions (default ${DEFAULT-VALUE})")
    public int w9Sessions = 50;
    @Option(names = "--w9-size", description = "W9 frame payload bytes (default ${DEFAULT-VALUE})")
    public int w9Size = 1024;
    @Option(names = "--w9-rate", description = "W9 frames/s per session (default ${DEFAULT-VALUE})")
    public double w9Rate = 20;
    @Option(names = "--w9-seconds", description = "W9 measured seconds per round (default ${DEFAULT-VALUE})")
    public double w9Seconds = 10;
    @Option(names = "--w9-warmup-seconds", description = "W9 untimed traffic first, per server process (default ${DEFAULT-VALUE})")
    public double w9Warmup = 5;
    @Option(names = "--w9-rounds", description = "W9 rounds, variants in alternating order (default ${DEFAULT-VALUE})")
    public int w9Rounds = 3;
    @Option(names = "--w9-client-threads", description = "W9 WebSocket client event loops (default ${DEFAULT-VALUE})")
    public int w9ClientThreads = 2;
    @Option(names = "--relay-cpus", description = "run relay child JVMs on these CPUs only (taskset -c), e.g. 1 (default: not pinned)")
    public String relayCpus;
    @Option(names = "--driver-cpus", description = "pin this driver JVM to these CPUs (taskset), e.g. 0 (default: not pinned)")
    public String driverCpus;
  }

  @Command(name = "all", mixinStandardHelpOptions = true, description = "Run the workloads (default: the full run, ~12-15 min on 2 cores).")
  static final class All implements Callable<Integer> {
    @CommandLine.Mixin
    Options options = new Options();

    @Override
    public Integer call() throws Exception {
      if (!List.of("on", "off", "both").contains(options.telemetry)) {
        throw new CommandLine.ParameterException(new CommandLine(this), "--telemetry must be on, off or both");
      }
      PrintStream out = System.out;
      OutputStream file = null;
      if (options.out != null) {
        if (options.out.toAbsolutePath().getParent() != null) {
          Files.createDirectories(options.out.toAbsolutePath().getParent());
        }
        file = new FileOutputStream(options.out.toFile());
        out = new PrintStream(new Tee(System.out, file), true, StandardCharsets.UTF_8);
      }
      try {
        new Workloads(options, out).runAll();
      } finally {
        out.flush();
        if (file != null) {
          file.close();
        }
      }
      return 0;
    }
  }

  @Command(name = "serve-relay", description = "Child process: a relay with the benchmark configuration (stdin admin).")
  static final class ServeRelay implements Callable<Integer> {
    @Option(names = "--port")
    int port = 0;
    @Option(names = "--window")
    int window = 256 * 1024;
    @Option(names = "--telemetry", arity = "1")
    boolean telemetry = true;
    @Option(names = "--event-loop-threads")
    int eventLoopThreads = 0;
    @Option(names = "--nats", description = "cluster mode (W7): NATS URL")
    String nats;
    @Option(names = "--node-id")
    String nodeId;
    @Option(names = "--signing-key", description = "shared ticket signing key (W7: both nodes must trust each other's tickets)")
    java.nio.file.Path signingKey;
    @Option(names = "--hop-timing", description = "W7: time cross-node frames hop by hop (admin command 'hops')")
    boolean hopTiming;
    @Option(names = "--ws-port", description = "the relay's HTTP/WebSocket port (W8): -1 off, 0 any free port")
    int wsPort = -1;
    @Option(names = "--relay-option", description = "RelayConfig.Builder setting as name=value, repeatable (e.g. auditLog=off)")
    List<String> relayOptions = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
      Serve.cluster = nats == null ? null : new Serve.ClusterArgs(nats, nodeId, signingKey);
      Serve.hops = hopTiming ? new HopTimes() : null;
      Serve.eventLoopThreads = eventLoopThreads;
      Serve.webSocketPort = wsPort;
      Serve.relayOptions = List.copyOf(relayOptions);
      Serve.run("relay", port, window, telemetry);
      return 0;
    }
  }

  @Command(name = "serve-echo", description = "Child process: the direct grpc-java echo baseline (stdin admin).")
  static final class ServeEcho implements Callable<Integer> {
    @Option(names = "--port")
    int port = 0;
    @Option(names = "--window")
    int window = 256 * 1024;
    @Option(names = "--event-loop-threads")
    int eventLoopThreads = 0;

    @Override
    public Integer call() throws Exception {
      Serve.eventLoopThreads = eventLoopThreads;
      Serve.run("echo", port, window);
      return 0;
    }
  }

  @Command(name = "serve-wsecho", description = "Child process: the WebSocket echo baseline of W9 (stdin admin).")
  static final class ServeWsEcho implements Callable<Integer> {
    @Option(names = "--port")
    int port = 0;
    @Option(names = "--window")
    int window = 256 * 1024;

    @Override
    public Integer call() throws Exception {
      Serve.run("wsecho", port, window);
      return 0;
    }
  }

  @Command(name = "sigfloor", description = "Child process: Ed25519 and ticket CPU per operation; prints one FLOOR k=v line (W8).")
  static final class SigFloor implements Callable<Integer> {
    @Option(names = "--seconds")
    double seconds = 8;

    @Override
    public Integer call() throws Exception {
      StringBuilder b = new StringBuilder("FLOOR");
      SignatureFloor.measure(seconds).forEach((k, v) -> b.append(' ').append(k).append('=').append(String.format(java.util.Locale.ROOT, "%.3f", v)));
      System.out.println(b);
      return 0;
    }
  }

  private static final class Tee extends OutputStream {
    private final OutputStream a;
    private final OutputStream b;

    Tee(OutputStream a, OutputStream b) {
      this.a = a;
      this.b = b;
    }

    @Override
    public void write(int c) throws java.io.IOException {
      a.write(c);
      b.write(c);
    }

    @Override
    public void write(byte[] buf, int off, int len) throws java.io.IOException {
      a.write(buf, off, len);
      b.write(buf, off, len);
    }

    @Override
    public void flush() throws java.io.IOException {
      a.flush();
      b.flush();
    }
  }
}
