package dev.checkmate.relay.bench;

import dev.checkmate.relay.RelayConfig;
import dev.checkmate.relay.RelayServer;
import io.grpc.Server;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryUsage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;

/**
 * The server side of a benchmark, run in its own JVM (started by {@link ServerProcess}) so the
 * server never shares a heap, GC or JIT with the load generator. Admin protocol on stdin/stdout:
 * it prints {@code READY port=.. pid=..}; {@code stats} answers one {@code STATS k=v ...} line
 * (heap used after explicit full GCs, direct memory, RSS, sessions); {@code hops} one
 * {@code HOPS k=v ...} line (W7 hop timing); EOF or {@code quit} exits.
 */
final class Serve {
  private Serve() {}

  static final int MAX_FRAME_BYTES = 64 * 1024;

  /** The relay configuration every benchmark uses: defaults, with per-participant rate limits lifted. */
  static RelayConfig relayConfig(int port, int window) {
    return relayConfig(port, window, true);
  }

  /** {@code telemetry=false}: no OpenTelemetry at all (W6 compares both). */
  /** W7: set by serve-relay when the node joins a cluster. */
  record ClusterArgs(String natsUrl, String nodeId, java.nio.file.Path signingKey) {}

  static volatile ClusterArgs cluster;
  /** W7 --hop-timing: the cluster hooks that time cross-node frames. */
  static volatile HopTimes hops;
  /** Set by serve-relay: RelayConfig.eventLoopThreads (0 = grpc-java's default). */
  static volatile int eventLoopThreads;
  /** Set by serve-relay: the HTTP port (WebSocket, W8); -1 = off, 0 = any free port. */
  static volatile int webSocketPort = -1;
  /** Set by serve-relay: extra RelayConfig.Builder settings, "method=value" (see {@link #applyOption}). */
  static volatile java.util.List<String> relayOptions = java.util.List.of();

  static RelayConfig relayConfig(int port, int window, boolean telemetry) {
    RelayConfig.Builder b = relayBuilder(port, window, telemetry).eventLoopThreads(eventLoopThreads).webSocketPort(webSocketPort);
    for (String option : relayOptions) {
      applyOption(b, option);
    }
    ClusterArgs c = cluster;
    if (c != null) {
      b.natsUrls(java.util.List.of(c.natsUrl())).nodeId(c.nodeId()).signingKey(c.signingKey());
      if (hops != null) {
        b.clusterHooks(hops);
      }
    }
    return b.build();
  }

  private static RelayConfig.Builder relayBuilder(int port, int window, boolean telemetry) {
    return RelayConfig.builder()
        .telemetryEnabled(telemetry)
        .grpcPort(port)
        .maxFrameBytes(MAX_FRAME_BYTES)
        .maxFramesPerSecond(10_000_000)
        .maxBytesPerSecond(Long.MAX_VALUE / 4)
        .maxStreamsPerAddress(100_000)
        .maxJoinAttemptsPerSecond(0) // every bench client comes from 127.0.0.1
        .maxConnectionsPerAddress(0) // likewise: W4 and W8 open thousands of connections from it
        .flowControlWindow(window)
        .idleTimeout(Duration.ofMinutes(30))
        .defaultSessionTtl(Duration.ofMinutes(50))
        .drainTimeout(Duration.ZERO);
  }

  /**
   * Applies "name=value" by calling the builder method {@code name} with the value converted to
   * its parameter type (enum constant, String, int, long, boolean, Duration). By name rather than
   * by a compiled call, so that this benchmark also drives a baseline relay built from an older
   * commit (put first on the classpath) that lacks newer settings: asking such a relay for a
   * setting it does not have fails loudly here.
   */
  static void applyOption(RelayConfig.Builder b, String option) {
    int eq = option.indexOf('=');
    if (eq <= 0) {
      throw new IllegalArgumentException("relay option must be name=value: " + option);
    }
    String name = option.substring(0, eq);
    String value = option.substring(eq + 1);
    for (java.lang.reflect.Method m : RelayConfig.Builder.class.getMethods()) {
      if (!m.getName().equals(name) || m.getParameterCount() != 1) {
        continue;
      }
      Class<?> t = m.getParameterTypes()[0];
      Object arg;
      if (t.isEnum()) {
        arg = enumConstant(t, value);
      } else if (t == String.class) {
        arg = value;
      } else if (t == int.class) {
        arg = Integer.parseInt(value);
      } else if (t == long.class) {
        arg = Long.parseLong(value);
      } else if (t == boolean.class) {
        arg = Boolean.parseBoolean(value);
      } else if (t == Duration.class) {
        arg = Duration.parse(value);
      } else {
        continue;
      }
      try {
        m.invoke(b, arg);
        return;
      } catch (ReflectiveOperationException e) {
        throw new IllegalArgumentException("relay option " + option + ": " + e.getCause(), e);
      }
    }
    throw new IllegalArgumentException("this relay has no setting " + name + " (RelayConfig.Builder." + name + ")");
  }

  @SuppressWarnings({"unchecked", "rawtypes"})
  private static Object enumConstant(Class<?> type, String value) {
    return Enum.valueOf((Class) type, value.toUpperCase(Locale.ROOT).replace('-', '_'));
  }

  static void run(String kind, int port, int window) throws Exception {
    run(kind, port, window, true);
  }

  private static jdk.jfr.Recording recording;

  static void run(String kind, int port, int window, boolean telemetry) throws Exception {
    java.util.function.LongSupplier sessions;
    java.util.function.LongSupplier relayedFrames;
    java.util.function.LongSupplier relayedBytes;
    int boundPort;
    int wsPort = -1;
    if (kind.equals("relay")) {
      RelayServer relay = RelayServer.start(relayConfig(port, window, telemetry));
      boundPort = relay.grpcPort();
      wsPort = relay.webSocketPort();
      sessions = () -> relay.hub().sessionCount();
      relayedFrames = () -> relay.hub().stats().framesRelayed();
      relayedBytes = () -> relay.hub().stats().bytesRelayed();
    } else if (kind.equals("wsecho")) {
      io.netty.channel.Channel ch = WsEchoServer.start(port, Math.max(1, Runtime.getRuntime().availableProcessors() / 2));
      boundPort = ((java.net.InetSocketAddress) ch.localAddress()).getPort();
      wsPort = boundPort;
      sessions = WsEchoServer.SOCKETS::get;
      relayedFrames = () -> -1;
      relayedBytes = () -> -1;
    } else {
      EchoService echo = new EchoService();
      Server server = EchoService.start(echo, port, window, MAX_FRAME_BYTES);
      boundPort = server.getPort();
      sessions = () -> echo.liveStreams.get();
      relayedFrames = () -> -1;
      relayedBytes = () -> -1;
    }
    System.out.println("READY port=" + boundPort + " pid=" + ProcessHandle.current().pid() + " ws=" + wsPort);
    System.out.flush();
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    String line;
    while ((line = in.readLine()) != null) {
      line = line.trim();
      if (line.equals("quit")) {
        break;
      }
      if (line.equals("hops")) {
        System.out.println(hops == null ? "HOPS" : hops.report());
        System.out.flush();
      } else if (line.equals("jfr-start")) {
        // Execution samples every millisecond (W8's cost breakdown); nothing else recorded.
        recording = new jdk.jfr.Recording();
        recording.enable("jdk.ExecutionSample").withPeriod(Duration.ofMillis(1));
        recording.start();
        System.out.println("JFR started");
        System.out.flush();
      } else if (line.startsWith("jfr-dump ") && recording != null) {
        recording.stop();
        recording.dump(Path.of(line.substring("jfr-dump ".length())));
        recording.close();
        recording = null;
        System.out.println("JFR dumped");
        System.out.flush();
      }
      if (line.equals("stats") || line.equals("stats-nogc")) {
        if (line.equals("stats")) {
          fullGc();
        }
        System.out.println(stats(sessions.getAsLong(), relayedFrames.getAsLong(), relayedBytes.getAsLong()));
        System.out.flush();
      }
    }
    Runtime.getRuntime().halt(0);
  }

  private static void fullGc() throws InterruptedException {
    for (int i = 0; i < 3; i++) {
      System.gc();
      Thread.sleep(150);
    }
  }

  static String stats(long sessions, long relayedFrames, long relayedBytes) {
    MemoryUsage heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
    long direct = -1;
    long directCount = -1;
    for (BufferPoolMXBean pool : ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)) {
      if (pool.getName().equals("direct")) {
        direct = pool.getMemoryUsed();
        directCount = pool.getCount();
      }
    }
    long nettyDirect;
    try {
      nettyDirect = io.grpc.netty.shaded.io.netty.util.internal.PlatformDependent.usedDirectMemory();
    } catch (Throwable t) {
      nettyDirect = -1;
    }
    return String.format(Locale.ROOT,
        "STATS heap=%d committed=%d direct=%d directCount=%d nettyDirect=%d rss=%d sessions=%d relayedFrames=%d relayedBytes=%d",
        heap.getUsed(), heap.getCommitted(), direct, directCount, nettyDirect, rssBytes(), sessions, relayedFrames, relayedBytes);
  }

  static long rssBytes() {
    try {
      for (String l : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (l.startsWith("VmRSS:")) {
          return Long.parseLong(l.replaceAll("[^0-9]", "")) * 1024;
        }
      }
    } catch (Exception ignored) {
      // not Linux
    }
    return -1;
  }
}
