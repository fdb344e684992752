package dev.checkmate.relay.soak;

import dev.checkmate.relay.cluster.NatsAccounts;
import dev.checkmate.relay.cluster.NatsServer;
import dev.checkmate.relay.testing.CuttableProxy;
import dev.checkmate.relay.ticket.KeyRing;
import io.jsonwebtoken.security.Jwks;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The system under test, on loopback: nats-servers in operator mode with per-node users (one
 * cluster with routes, or two "regions" — clusters joined by gateways), relay processes sharing one
 * ticket key, each on its region's NATS servers, and a cutting proxy in front of each relay's gRPC
 * and HTTP ports. Every process is stopped by its PID on {@link #close()}.
 */
final class SoakCluster implements AutoCloseable {
  final List<NatsServer> nats = new ArrayList<>();
  /** Region of each NATS server (0 or 1). */
  final List<Integer> natsRegion = new ArrayList<>();
  final List<RelayNode> relays = new ArrayList<>();
  /** Per relay: a cutting proxy in front of its gRPC port and one in front of its HTTP port. */
  final List<CuttableProxy> grpcProxies = new ArrayList<>();
  final List<CuttableProxy> httpProxies = new ArrayList<>();
  /** NATS slow consumers seen by servers before they were killed (their counters restart at 0). */
  private final long[] slowConsumersBeforeRestart;
  private final SoakConfig config;

  private SoakCluster(SoakConfig config) {
    this.config = config;
    this.slowConsumersBeforeRestart = new long[config.natsServers()];
  }

  static SoakCluster start(SoakConfig config, Path dir) throws Exception {
    if (!NatsServer.available()) {
      throw new IllegalStateException("nats-server is needed (apt-get install -y nats-server, or set NATS_SERVER)");
    }
    SoakCluster c = new SoakCluster(config);
    try {
      c.startNats(dir);
      c.startRelays(dir);
      for (RelayNode r : c.relays) {
        c.grpcProxies.add(new CuttableProxy(r.grpcPort()));
        c.httpProxies.add(new CuttableProxy(r.httpPort()));
      }
      return c;
    } catch (Exception | Error e) {
      c.close();
      throw e;
    }
  }

  private void startNats(Path dir) throws Exception {
    int n = config.natsServers();
    int regions = config.regions();
    int[] routePorts = new int[n];
    int[] gatewayPorts = new int[regions];
    for (int i = 0; i < n; i++) {
      routePorts[i] = NatsServer.freePort();
      natsRegion.add(regions == 1 ? 0 : (i < (n + 1) / 2 ? 0 : 1));
    }
    for (int g = 0; g < regions; g++) {
      gatewayPorts[g] = NatsServer.freePort();
    }
    List<CompletableFuture<NatsServer>> starting = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      int region = natsRegion.get(i);
      List<Integer> routes = new ArrayList<>();
      for (int j = 0; j < n; j++) {
        if (j != i && natsRegion.get(j) == region) {
          routes.add(routePorts[j]);
        }
      }
      NatsServer.Builder b = NatsServer.builder(dir, "nats-" + i).cluster("region-" + region, routePorts[i], routes);
      if (regions > 1) {
        Map<String, Integer> gateways = new LinkedHashMap<>();
        for (int g = 0; g < regions; g++) {
          gateways.put("region-" + g, gatewayPorts[g]);
        }
        // One gateway listener per region (its first server); the others reach the other region
        // through their routes.
        boolean first = natsRegion.indexOf(region) == i;
        b.gateway("region-" + region, first ? gatewayPorts[region] : NatsServer.freePort(), gateways);
      }
      starting.add(CompletableFuture.supplyAsync(() -> {
        try {
          return b.start();
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      }));
    }
    for (CompletableFuture<NatsServer> f : starting) {
      nats.add(f.get(30, TimeUnit.SECONDS));
    }
    for (int i = 0; i < n; i++) {
      int region = natsRegion.get(i);
      long peers = natsRegion.stream().filter(r -> r == region).count() - 1;
      if (peers > 0) {
        nats.get(i).awaitRoutes((int) peers);
      }
    }
    if (regions > 1) {
      for (int i = 0; i < n; i++) {
        NatsServer s = nats.get(i);
        String other = "region-" + (1 - natsRegion.get(i));
        NatsServer.await(s.name + " has a gateway to " + other, () -> s.monitor("/gatewayz").contains("\"" + other + "\""),
            Duration.ofSeconds(20));
      }
    }
  }

  /** The NATS URLs a relay in {@code region} is given: its region's servers, starting at a different one per relay. */
  private List<String> natsUrls(int relay, int region) {
    List<String> mine = new ArrayList<>();
    for (int i = 0; i < nats.size(); i++) {
      if (natsRegion.get(i) == region) {
        mine.add(nats.get(i).url());
      }
    }
    List<String> rotated = new ArrayList<>();
    for (int i = 0; i < mine.size(); i++) {
      rotated.add(mine.get((relay + i) % mine.size()));
    }
    return rotated;
  }

  /** The region of relay {@code i}: with two regions, the last relay is alone in the second one. */
  int relayRegion(int i) {
    return config.regions() == 1 ? 0 : (i < config.relays() - 1 ? 0 : 1);
  }

  private void startRelays(Path dir) throws Exception {
    Path key = dir.resolve("signing.jwk");
    Files.writeString(key, Jwks.UNSAFE_JSON(KeyRing.generate()));
    List<CompletableFuture<Void>> starting = new ArrayList<>();
    for (int i = 0; i < config.relays(); i++) {
      String nodeId = "relay-" + i;
      List<String> args = new ArrayList<>(config.relayArgs());
      args.addAll(List.of("--signing-key", key.toString(),
          "--nats", String.join(",", natsUrls(i, relayRegion(i))),
          "--nats-creds", NatsAccounts.get().nodeCredentials(dir, nodeId).toString()));
      if (config.regions() > 1) {
        // Across regions: above the cross-region propagation (docs/cluster.md §6); loopback is quick.
        args.addAll(List.of("--cluster-claim-settle", "PT0.5S", "--cluster-lookup-timeout", "PT1S"));
      }
      RelayNode node = new RelayNode(i, nodeId, config.relayJvmArgs(), args, dir.resolve(nodeId + ".log"));
      relays.add(node);
      starting.add(CompletableFuture.runAsync(() -> {
        try {
          node.start();
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      }));
    }
    for (CompletableFuture<Void> f : starting) {
      f.get(120, TimeUnit.SECONDS);
    }
    for (RelayNode r : relays) {
      awaitLinkUp(r, Duration.ofSeconds(30));
    }
  }

  /** Waits until the relay's /metrics says its NATS link is up. */
  void awaitLinkUp(RelayNode r, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      Double up = Metrics.scrape(r.metricsPort()).get("relay_nats_link_up");
      if (up != null && up == 1.0) {
        return;
      }
      Thread.sleep(100);
    }
    throw new IllegalStateException(r.nodeId + ": NATS link not up within " + timeout);
  }

  /** "host:port" of relay {@code i}'s gRPC port (direct, or through its cutting proxy). */
  String grpcTarget(int i, boolean proxied) {
    return "127.0.0.1:" + (proxied ? grpcProxies.get(i).port() : relays.get(i).grpcPort());
  }

  /** http://host:port of relay {@code i}'s HTTP port (direct, or through its cutting proxy). */
  String httpEndpoint(int i, boolean proxied) {
    return "http://127.0.0.1:" + (proxied ? httpProxies.get(i).port() : relays.get(i).httpPort());
  }

  /** kill -9 of NATS server {@code i}; its slow-consumer count is kept. */
  void killNats(int i) throws InterruptedException {
    slowConsumersBeforeRestart[i] += natsSlowConsumers(i);
    nats.get(i).kill();
  }

  void restartNats(int i) throws Exception {
    nats.get(i).start();
  }

  /** Slow consumers the running NATS server {@code i} counted since it started (from /varz). */
  long natsSlowConsumers(int i) {
    NatsServer s = nats.get(i);
    if (!s.running()) {
      return 0;
    }
    Matcher m = Pattern.compile("\"slow_consumers\":\\s*(\\d+)").matcher(s.monitor("/varz"));
    return m.find() ? Long.parseLong(m.group(1)) : 0;
  }

  /** Slow consumers over the whole run, every server, across restarts. */
  long natsSlowConsumersTotal() {
    long n = 0;
    for (int i = 0; i < nats.size(); i++) {
      n += slowConsumersBeforeRestart[i] + natsSlowConsumers(i);
    }
    return n;
  }

  List<Long> pids() {
    List<Long> pids = new ArrayList<>();
    for (RelayNode r : relays) {
      pids.add(r.pid());
    }
    return pids;
  }

  @Override
  public void close() {
    for (CuttableProxy p : grpcProxies) {
      closeQuietly(p);
    }
    for (CuttableProxy p : httpProxies) {
      closeQuietly(p);
    }
    for (RelayNode r : relays) {
      closeQuietly(r);
    }
    for (NatsServer n : nats) {
      closeQuietly(n);
    }
  }

  private static void closeQuietly(AutoCloseable c) {
    try {
      c.close();
    } catch (Exception e) {
      // best effort: every process is killed by its PID
    }
  }
}
