package dev.checkmate.relay.testing;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.regex.MatchResult;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A relay in its own JVM ({@code RelayMain} on the test classpath, through {@link JvmProcess}), so
 * a test can measure what the relay process itself holds — heap after a full GC ({@code jcmd}),
 * open descriptors and sockets ({@code /proc/<pid>/fd}) — while clients in the test JVM attack
 * it. Started with {@code -XX:+ExitOnOutOfMemoryError}, so the relay runs in this one JVM (no
 * relaunch). Stopped by its PID when closed ({@link #kill} = kill -9, {@link #terminate} = SIGTERM,
 * the relay's graceful drain).
 */
public final class ChildRelay implements AutoCloseable {
  private static final Pattern LISTENING = Pattern.compile(
      "CheckMate Relay listening on [^:]+:(\\d+).*?(?:WebSocket/HTTP on port (\\d+))?(?:, metrics on port (\\d+))?;");

  public final int grpcPort;
  public final int httpPort;
  /** The Prometheus /metrics port, or -1 (the default: metrics off). */
  public final int metricsPort;
  public final ManagedChannel channel;
  private final JvmProcess process;

  private ChildRelay(JvmProcess process, int grpcPort, int httpPort, int metricsPort) {
    this.process = process;
    this.grpcPort = grpcPort;
    this.httpPort = httpPort;
    this.metricsPort = metricsPort;
    this.channel = NettyChannelBuilder.forAddress("127.0.0.1", grpcPort).usePlaintext().build();
  }

  /**
   * Starts a relay on loopback with ephemeral ports, the HTTP port on, telemetry off and {@code args}
   * added (a flag in {@code args} replaces the default), in a JVM with {@code jvmArgs} (e.g. "-Xmx256m").
   */
  public static ChildRelay start(List<String> jvmArgs, List<String> args) throws Exception {
    return start(jvmArgs, args, null);
  }

  /**
   * The same, with the relay's output appended to {@code logFile} (for long runs; only its start is
   * then kept in memory for {@link #logText}). For metrics pass {@code --metrics-port 0 --telemetry}.
   */
  public static ChildRelay start(List<String> jvmArgs, List<String> args, Path logFile) throws Exception {
    List<String> cmd = new ArrayList<>(jvmArgs);
    cmd.add("-XX:+ExitOnOutOfMemoryError");
    cmd.addAll(JvmProcess.classPathMain(dev.checkmate.relay.RelayMain.class));
    String[][] defaults = {{"--bind", "127.0.0.1"}, {"--grpc-port", "0"}, {"--ws-port", "0"}, {"--metrics-port", "-1"},
        {"--no-telemetry"}, {"--drain-seconds", "0"}};
    for (String[] d : defaults) {
      // The relay's CLI refuses a flag given twice: a default goes only where args do not set it.
      String flag = d[0].replace("--no-", "--");
      if (args.stream().noneMatch(a -> a.equals(flag) || a.equals(d[0]) || a.startsWith(flag + "="))) {
        cmd.addAll(List.of(d));
      }
    }
    cmd.addAll(args);
    JvmProcess p = JvmProcess.start(cmd, java.util.Map.of(), logFile);
    try {
      MatchResult m = p.awaitMatch(LISTENING, Duration.ofSeconds(60));
      return new ChildRelay(p, Integer.parseInt(m.group(1)), m.group(2) == null ? -1 : Integer.parseInt(m.group(2)),
          m.group(3) == null ? -1 : Integer.parseInt(m.group(3)));
    } catch (AssertionError | RuntimeException e) {
      p.close();
      throw e;
    }
  }

  public long pid() {
    return process.pid();
  }

  public boolean alive() {
    return process.process().isAlive();
  }

  /** Heap in use right after a full GC of the relay process ({@code jcmd GC.run}, then {@code GC.heap_info}). */
  public long heapAfterGcBytes() throws Exception {
    jcmd("GC.run");
    String info = jcmd("GC.heap_info");
    // G1: " garbage-first heap   total 262144K, used 12345K"; Serial: " def new generation   total …K, used …K"
    // and " tenured generation   total …K, used …K"; Parallel: " PSYoungGen …" and " ParOldGen …". The heap is
    // the sum of those lines (Metaspace and class space print "used" first and are not heap).
    Matcher m = Pattern.compile("(?m)^\\s*\\S.*?\\s+total\\s+\\d+K, used (\\d+)K").matcher(info);
    long used = 0;
    boolean found = false;
    while (m.find()) {
      used += Long.parseLong(m.group(1));
      found = true;
    }
    if (!found) {
      throw new IllegalStateException("cannot read heap use from jcmd output:\n" + info);
    }
    return used * 1024;
  }

  /** File descriptors the relay process holds now. */
  public int openDescriptors() throws IOException {
    try (var s = Files.list(Path.of("/proc", Long.toString(pid()), "fd"))) {
      return (int) s.count();
    }
  }

  /** Sockets the relay process holds now (its descriptors that are sockets). */
  public int openSockets() throws IOException {
    int n = 0;
    try (var s = Files.list(Path.of("/proc", Long.toString(pid()), "fd"))) {
      for (Path fd : (Iterable<Path>) s::iterator) {
        try {
          if (Files.readSymbolicLink(fd).toString().startsWith("socket:")) {
            n++;
          }
        } catch (IOException gone) {
          // closed while listing
        }
      }
    }
    return n;
  }

  private String jcmd(String command) throws Exception {
    Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
    Process p = new ProcessBuilder(jcmd.toString(), Long.toString(pid()), command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IllegalStateException("jcmd " + command + " failed: " + out);
    }
    return out;
  }

  /** kill -9: the relay dies at once, holding whatever it held. */
  public void kill() throws InterruptedException {
    channel.shutdownNow();
    process.close();
  }

  /**
   * SIGTERM: the relay drains (health NOT_SERVING, no new streams, open sessions get its
   * {@code --drain-seconds}) and exits; returns its exit code.
   */
  public int terminate(Duration timeout) throws InterruptedException {
    channel.shutdownNow();
    return process.terminate(timeout);
  }

  /** What the relay printed so far (stdout and stderr). */
  public String logText() {
    return process.output();
  }

  @Override
  public void close() throws InterruptedException {
    channel.shutdownNow();
    process.close();
  }
}
