package dev.checkmate.relay.testing;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A relay in its own JVM ({@code RelayMain} on the test classpath), so a test can measure what
 * the relay process itself holds — heap after a full GC ({@code jcmd}), open descriptors
 * ({@code /proc/<pid>/fd}) — while clients in the test JVM attack it. Output goes to a log file in
 * the given folder. Stopped by its PID when closed.
 */
public final class ChildRelay implements AutoCloseable {
  private static final Pattern LISTENING = Pattern.compile(
      "CheckMate Relay listening on [^:]+:(\\d+).*?(?:WebSocket/HTTP on port (\\d+))?(?:, metrics on port (\\d+))?;");

  public final int grpcPort;
  public final int httpPort;
  public final ManagedChannel channel;
  public final Path log;
  private final Process process;

  private ChildRelay(Process process, int grpcPort, int httpPort, Path log) {
    this.process = process;
    this.grpcPort = grpcPort;
    this.httpPort = httpPort;
    this.log = log;
    this.channel = NettyChannelBuilder.forAddress("127.0.0.1", grpcPort).usePlaintext().build();
  }

  /**
   * Starts a relay on loopback with ephemeral ports, the HTTP port on, telemetry off and {@code args}
   * added (later flags win), in a JVM with {@code jvmArgs} (e.g. "-Xmx256m").
   */
  public static ChildRelay start(Path dir, String name, List<String> jvmArgs, List<String> args) throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(jvmArgs);
    cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), "dev.checkmate.relay.RelayMain"));
    cmd.addAll(List.of("--bind", "127.0.0.1", "--grpc-port", "0", "--ws-port", "0", "--metrics-port", "-1",
        "--no-telemetry", "--drain-seconds", "0"));
    cmd.addAll(args);
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment().keySet().removeIf(k -> k.startsWith("RELAY_") || k.startsWith("OTEL_"));
    Process p = pb.start();
    CompletableFuture<int[]> ports = new CompletableFuture<>();
    Path log = dir.resolve(name + ".log");
    Thread pump = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
          PrintWriter w = new PrintWriter(Files.newBufferedWriter(log))) {
        String line;
        while ((line = r.readLine()) != null) {
          w.println(line);
          w.flush();
          Matcher m = LISTENING.matcher(line);
          if (m.find()) {
            ports.complete(new int[] {Integer.parseInt(m.group(1)), m.group(2) == null ? -1 : Integer.parseInt(m.group(2))});
          }
        }
      } catch (IOException ignored) {
        // process gone
      }
      ports.completeExceptionally(new IllegalStateException("relay " + name + " exited; see " + log));
    }, "child-relay-" + name);
    pump.setDaemon(true);
    pump.start();
    try {
      int[] pp = ports.get(60, TimeUnit.SECONDS);
      return new ChildRelay(p, pp[0], pp[1], log);
    } catch (Exception e) {
      p.destroyForcibly();
      throw new IllegalStateException("relay " + name + " did not start: " + e + "; log:\n"
          + (Files.exists(log) ? Files.readString(log) : ""), e);
    }
  }

  public long pid() {
    return process.pid();
  }

  public boolean alive() {
    return process.isAlive();
  }

  /** Heap in use right after a full GC of the relay process ({@code jcmd GC.run}, then {@code GC.heap_info}). */
  public long heapAfterGcBytes() throws Exception {
    jcmd("GC.run");
    String info = jcmd("GC.heap_info");
    // G1: "garbage-first heap   total 262144K, used 12345K"; Serial/Parallel: "... total ..., used ...K"
    Matcher m = Pattern.compile("(?m)^\\s*\\S.*?heap\\s+total\\s+\\d+K, used (\\d+)K").matcher(info);
    if (!m.find()) {
      throw new IllegalStateException("cannot read heap use from jcmd output:\n" + info);
    }
    return Long.parseLong(m.group(1)) * 1024;
  }

  /** File descriptors the relay process holds now. */
  public int openDescriptors() throws IOException {
    try (var s = Files.list(Path.of("/proc", Long.toString(process.pid()), "fd"))) {
      return (int) s.count();
    }
  }

  /** Sockets the relay process holds now (its descriptors that are sockets). */
  public int openSockets() throws IOException {
    int n = 0;
    try (var s = Files.list(Path.of("/proc", Long.toString(process.pid()), "fd"))) {
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
    Process p = new ProcessBuilder(jcmd.toString(), Long.toString(process.pid()), command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IllegalStateException("jcmd " + command + " failed: " + out);
    }
    return out;
  }

  public String logText() throws IOException {
    return Files.readString(log);
  }

  @Override
  public void close() throws InterruptedException {
    channel.shutdownNow();
    if (process.isAlive()) {
      process.destroy();
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
      }
    }
  }
}
