package dev.checkmate.relay.cluster;

import dev.checkmate.relay.testing.TestPeer;
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
 * A relay node in its own JVM ({@code java -cp <test classpath> dev.checkmate.relay.RelayMain}), so
 * tests can kill -9 it. Its output goes to {@code <dir>/<nodeId>.log}.
 */
public final class RelayProcess implements AutoCloseable {
  private static final Pattern LISTENING = Pattern.compile("CheckMate Relay listening on [^:]+:(\\d+)");
  private static final Pattern METRICS = Pattern.compile("metrics on port (\\d+)");

  final String nodeId;
  final int port;
  /** The Prometheus endpoint's port, or -1 (started without metrics). */
  final int metricsPort;
  final ManagedChannel channel;
  private final Process process;

  private RelayProcess(String nodeId, Process process, int port, int metricsPort) {
    this.nodeId = nodeId;
    this.process = process;
    this.port = port;
    this.metricsPort = metricsPort;
    this.channel = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
  }

  static RelayProcess start(Path dir, String nodeId, List<String> natsUrls) throws Exception {
    return start(dir, nodeId, natsUrls, false);
  }

  /** With {@code metrics}, telemetry is on and /metrics listens on an ephemeral port ({@link #metric}). */
  static RelayProcess start(Path dir, String nodeId, List<String> natsUrls, boolean metrics) throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    // The container's -XX:+ExitOnOutOfMemoryError: one JVM per node, no launcher (lifecycle.Relauncher).
    cmd.addAll(List.of("-Xmx256m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-XX:+ExitOnOutOfMemoryError"));
    cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), "dev.checkmate.relay.RelayMain"));
    cmd.addAll(List.of("--bind", "127.0.0.1", "--grpc-port", "0", "--ws-port", "-1"));
    cmd.addAll(metrics ? List.of("--metrics-port", "0") : List.of("--metrics-port", "-1", "--no-telemetry"));
    cmd.addAll(List.of("--drain-seconds", "0",
        "--signing-key", ClusterFixture.signingKey(dir).toString(),
        "--node-id", nodeId, "--nats", String.join(",", natsUrls),
        "--nats-creds", NatsAccounts.get().nodeCredentials(dir, nodeId).toString()));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment().keySet().removeIf(k -> k.startsWith("RELAY_") || k.startsWith("OTEL_"));
    Process p = pb.start();
    CompletableFuture<int[]> port = new CompletableFuture<>();
    Path log = dir.resolve(nodeId + ".log");
    Thread pump = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
          PrintWriter w = new PrintWriter(Files.newBufferedWriter(log))) {
        String line;
        while ((line = r.readLine()) != null) {
          w.println(line);
          w.flush();
          Matcher m = LISTENING.matcher(line);
          if (m.find()) {
            Matcher mp = METRICS.matcher(line);
            port.complete(new int[] {Integer.parseInt(m.group(1)), mp.find() ? Integer.parseInt(mp.group(1)) : -1});
          }
        }
      } catch (IOException ignored) {
        // process gone
      }
      port.completeExceptionally(new IllegalStateException("relay " + nodeId + " exited; see " + log));
    }, "relay-process-" + nodeId);
    pump.setDaemon(true);
    pump.start();
    try {
      int[] ports = port.get(60, TimeUnit.SECONDS);
      return new RelayProcess(nodeId, p, ports[0], ports[1]);
    } catch (Exception e) {
      p.destroyForcibly();
      throw new IllegalStateException("relay " + nodeId + " did not start: " + e + "; log:\n"
          + (Files.exists(log) ? Files.readString(log) : ""), e);
    }
  }

  /**
   * The sum of a counter's samples whose labels contain {@code labelFragment} (e.g.
   * {@code reason="proof"}), from this relay's /metrics; 0 when absent.
   */
  double metric(String name, String labelFragment) throws Exception {
    return metric(metricsPort, name, labelFragment);
  }

  /** The same from the /metrics of any relay (e.g. an in-process one started with a metrics port). */
  static double metric(int metricsPort, String name, String labelFragment) throws Exception {
    String text = java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(
        java.net.URI.create("http://127.0.0.1:" + metricsPort + "/metrics")).build(),
        java.net.http.HttpResponse.BodyHandlers.ofString()).body();
    double sum = 0;
    for (String line : text.split("\n")) {
      if (line.startsWith(name + "{") && line.contains(labelFragment)) {
        sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
      }
    }
    return sum;
  }

  TestPeer join(String ticket) {
    return TestPeer.join(channel, ticket);
  }

  /** kill -9. */
  public void kill() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor(10, TimeUnit.SECONDS);
  }

  public boolean alive() {
    return process.isAlive();
  }

  @Override
  public void close() throws InterruptedException {
    channel.shutdownNow();
    if (process.isAlive()) {
      process.destroy();
      if (!process.waitFor(5, TimeUnit.SECONDS)) {
        kill();
      }
    }
  }
}
