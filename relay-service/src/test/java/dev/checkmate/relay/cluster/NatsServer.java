package dev.checkmate.relay.cluster;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * A real nats-server process on loopback for cluster tests, configured like production (docs/cluster.md
 * §7): operator mode, one NATS user per relay node whose permissions come from the RELAY account's
 * scoped signing key ({@link NatsAccounts}), optional cluster routes, gateways and TLS. Finds the
 * binary in $NATS_SERVER, /usr/sbin/nats-server, /usr/bin/nats-server or on PATH. Public for the
 * soak harness (relay-soak), which runs these servers outside this package.
 */
public final class NatsServer implements AutoCloseable {
  public final String name;
  public final int port;
  public final int monitorPort;
  private final Path dir;
  private final String config;
  private final Map<String, String> env;
  private Process process;

  private NatsServer(Builder b) throws IOException {
    this.name = b.name;
    this.port = b.port;
    this.monitorPort = freePort();
    this.dir = b.dir;
    StringBuilder c = new StringBuilder();
    c.append("server_name: ").append(b.name).append('\n');
    c.append("listen: 127.0.0.1:").append(b.port).append('\n');
    c.append("http: 127.0.0.1:").append(monitorPort).append('\n');
    c.append("max_payload: 1MB\n");
    c.append(b.authConfig != null ? b.authConfig : NatsAccounts.get().serverConfig());
    if (b.tlsCert != null) {
      c.append("tls {\n  cert_file: \"").append(b.tlsCert).append("\"\n  key_file: \"").append(b.tlsKey).append("\"\n}\n");
    }
    if (b.clusterName != null) {
      c.append("cluster {\n  name: ").append(b.clusterName).append("\n  listen: 127.0.0.1:").append(b.clusterPort).append('\n');
      c.append("  routes: [");
      for (int i = 0; i < b.routes.size(); i++) {
        c.append(i > 0 ? ", " : "").append("nats-route://127.0.0.1:").append(b.routes.get(i));
      }
      c.append("]\n}\n");
    }
    if (b.gatewayName != null) {
      c.append("gateway {\n  name: ").append(b.gatewayName).append("\n  listen: 127.0.0.1:").append(b.gatewayPort).append('\n');
      c.append("  gateways: [");
      int i = 0;
      for (Map.Entry<String, Integer> g : b.gateways.entrySet()) {
        c.append(i++ > 0 ? ", " : "").append("{name: ").append(g.getKey()).append(", url: \"nats://127.0.0.1:")
            .append(g.getValue()).append("\"}");
      }
      c.append("]\n}\n");
    }
    this.config = c.toString();
    this.env = Map.copyOf(b.env);
  }

  public static Builder builder(Path dir, String name) {
    return new Builder(dir, name);
  }

  public static final class Builder {
    final Path dir;
    final String name;
    int port;
    String clusterName;
    int clusterPort;
    List<Integer> routes = new ArrayList<>();
    String gatewayName;
    int gatewayPort;
    Map<String, Integer> gateways = new LinkedHashMap<>();
    Path tlsCert;
    Path tlsKey;
    String authConfig;
    Map<String, String> env = new LinkedHashMap<>();

    Builder(Path dir, String name) {
      this.dir = dir;
      this.name = name;
      this.port = freePort();
    }

    public Builder cluster(String clusterName, int clusterPort, List<Integer> routes) {
      this.clusterName = clusterName;
      this.clusterPort = clusterPort;
      this.routes = routes;
      return this;
    }

    public Builder gateway(String gatewayName, int gatewayPort, Map<String, Integer> gateways) {
      this.gatewayName = gatewayName;
      this.gatewayPort = gatewayPort;
      this.gateways = gateways;
      return this;
    }

    /** Replaces operator mode with these configuration lines (e.g. an include of deploy's users). */
    public Builder auth(String config) {
      this.authConfig = config;
      return this;
    }

    /** Environment of the nats-server process (its configuration may refer to $VARIABLES). */
    public Builder env(String name, String value) {
      this.env.put(name, value);
      return this;
    }

    public Builder tls(Path cert, Path key) {
      this.tlsCert = cert;
      this.tlsKey = key;
      return this;
    }

    public NatsServer start() throws Exception {
      NatsServer s = new NatsServer(this);
      s.start();
      return s;
    }
  }

  public static String binary() {
    String env = System.getenv("NATS_SERVER");
    if (env != null && !env.isBlank()) {
      return env;
    }
    for (String p : List.of("/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server")) {
      if (Files.isExecutable(Path.of(p))) {
        return p;
      }
    }
    return "nats-server";
  }

  public static boolean available() {
    try {
      Process p = new ProcessBuilder(binary(), "--version").redirectErrorStream(true).start();
      return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0;
    } catch (IOException | InterruptedException e) {
      return false;
    }
  }

  /** (Re)starts the process with the same config and port; returns once it accepts clients. */
  public synchronized void start() throws Exception {
    Path conf = dir.resolve(name + ".conf");
    Files.writeString(conf, config);
    ProcessBuilder pb = new ProcessBuilder(binary(), "-c", conf.toString());
    pb.environment().putAll(env);
    process = pb
        .redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve(name + ".log").toFile()))
        .start();
    await("nats-server " + name + " listening", () -> canConnect(port), Duration.ofSeconds(10));
  }

  public String url() {
    return "nats://127.0.0.1:" + port;
  }

  /** Credentials of relay node {@code nodeId}: its own NATS user with the relay node permissions. */
  public Path credentials(String nodeId) {
    return NatsAccounts.get().nodeCredentials(dir, nodeId);
  }

  /** kill -9. */
  public synchronized void kill() throws InterruptedException {
    if (process != null) {
      process.destroyForcibly();
      process.waitFor(10, TimeUnit.SECONDS);
      process = null;
    }
  }

  /** The process id, or -1 while stopped. */
  public synchronized long pid() {
    return process != null && process.isAlive() ? process.pid() : -1;
  }

  public boolean running() {
    return process != null && process.isAlive();
  }

  /** The monitoring endpoint's JSON (/varz, /routez, /gatewayz, /connz). */
  public String monitor(String path) {
    try {
      HttpResponse<String> r = HttpClient.newHttpClient().send(
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + monitorPort + path)).timeout(Duration.ofSeconds(2)).build(),
          HttpResponse.BodyHandlers.ofString());
      return r.body();
    } catch (IOException e) {
      return "";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "";
    }
  }

  public void awaitRoutes(int n) throws InterruptedException {
    await(name + " has " + n + " routes", () -> monitor("/routez").contains("\"num_routes\": " + n), Duration.ofSeconds(15));
  }

  @Override
  public void close() throws InterruptedException {
    kill();
  }

  public static int freePort() {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      s.setReuseAddress(true);
      return s.getLocalPort();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  public static boolean canConnect(int port) {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 200);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  public static void await(String what, BooleanSupplier condition, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting for: " + what);
      }
      Thread.sleep(20);
    }
  }
}
