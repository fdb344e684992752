package dev.checkmate.relay.cluster;

import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.DATA;
import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.JOINED;

import dev.checkmate.relay.proto.v1.CreateSessionRequest;
import dev.checkmate.relay.proto.v1.CreateSessionResponse;
import dev.checkmate.relay.proto.v1.RelayServiceGrpc;
import dev.checkmate.relay.testing.TestPeer;
import io.grpc.Status;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A cluster of real processes on loopback for integration tests: three nats-servers joined by
 * routes (the documented accounts and permissions) and three relay JVMs ({@link RelayProcess}), each
 * listing every NATS server, its "own" first. Relays a test killed are started again by
 * {@link #startMissingRelays()}. Used by the relay's cluster tests and by the SDK's resume tests.
 */
public final class ProcessCluster implements AutoCloseable {
  private static final int SIZE = 3;

  private final Path dir;
  private final List<NatsServer> nats = new ArrayList<>();
  private final List<RelayProcess> relays = new ArrayList<>();

  private ProcessCluster(Path dir) {
    this.dir = dir;
  }

  /** Starts the three nats-servers and waits for their routes; no relay yet. */
  public static ProcessCluster startNats(Path dir) throws Exception {
    ClusterFixture.requireNats();
    ProcessCluster cluster = new ProcessCluster(dir);
    int[] routePorts = {NatsServer.freePort(), NatsServer.freePort(), NatsServer.freePort()};
    for (int i = 0; i < SIZE; i++) {
      List<Integer> routes = new ArrayList<>();
      for (int j = 0; j < SIZE; j++) {
        if (j != i) {
          routes.add(routePorts[j]);
        }
      }
      cluster.nats.add(NatsServer.builder(dir, "nats-" + i).cluster("relay-test", routePorts[i], routes).start());
    }
    for (NatsServer n : cluster.nats) {
      n.awaitRoutes(SIZE - 1);
    }
    return cluster;
  }

  /**
   * Starts the relays that are not running (all at first; after a kill -9, the victim) and waits
   * until each one's NATS link carries a cross-node session to the next.
   */
  public void startMissingRelays() throws Exception {
    List<CompletableFuture<RelayProcess>> starting = new ArrayList<>();
    for (int i = 0; i < SIZE; i++) {
      if (relays.size() > i && relays.get(i).alive()) {
        starting.add(CompletableFuture.completedFuture(relays.get(i)));
        continue;
      }
      List<String> urls = new ArrayList<>();
      for (int j = 0; j < SIZE; j++) {
        urls.add(nats.get((i + j) % SIZE).url());
      }
      String id = "relay-" + i + "-" + System.nanoTime() % 100_000;
      starting.add(CompletableFuture.supplyAsync(() -> {
        try {
          return RelayProcess.start(dir, id, urls);
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      }));
    }
    List<RelayProcess> started = new ArrayList<>();
    for (CompletableFuture<RelayProcess> f : starting) {
      started.add(f.get(90, TimeUnit.SECONDS));
    }
    for (RelayProcess r : relays) {
      if (!started.contains(r)) {
        r.close();
      }
    }
    relays.clear();
    relays.addAll(started);
    for (int i = 0; i < SIZE; i++) {
      awaitPairing(relays.get(i), relays.get((i + 1) % SIZE));
    }
  }

  public List<NatsServer> nats() {
    return Collections.unmodifiableList(nats);
  }

  public List<RelayProcess> relays() {
    return Collections.unmodifiableList(relays);
  }

  /** {@code host:port} of relay {@code i}'s gRPC port. */
  public String target(int i) {
    return "127.0.0.1:" + relays.get(i).port;
  }

  public static CreateSessionResponse createSession(RelayProcess r) {
    return RelayServiceGrpc.newBlockingStub(r.channel).withDeadlineAfter(10, TimeUnit.SECONDS)
        .createSession(CreateSessionRequest.getDefaultInstance());
  }

  /** Retries a cross-node pairing until it works (links come up asynchronously). */
  public static void awaitPairing(RelayProcess home, RelayProcess bridge) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (true) {
      CreateSessionResponse s = createSession(home);
      try (TestPeer p = home.join(s.getProverTicket())) {
        Status failed = null;
        try {
          p.next(JOINED);
          try (TestPeer v = bridge.join(s.getVerifierTicket())) {
            v.next(JOINED);
            p.sendData("ping".getBytes());
            ClusterIT.skipTo(v, DATA);
            return;
          }
        } catch (AssertionError e) {
          failed = p.closed.getNow(null);
          if (System.nanoTime() > deadline) {
            throw new AssertionError("no cross-node pairing " + home.nodeId + " -> " + bridge.nodeId + " (" + failed + ")", e);
          }
        }
      }
      Thread.sleep(200);
    }
  }

  @Override
  public void close() throws Exception {
    for (RelayProcess r : relays) {
      r.close();
    }
    relays.clear();
    for (NatsServer n : nats) {
      n.close();
    }
  }
}
