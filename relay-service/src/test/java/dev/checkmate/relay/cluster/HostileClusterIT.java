package dev.checkmate.relay.cluster;

import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.JOINED;
import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.PEER_LEFT;
import static org.assertj.core.api.Assertions.assertThat;

import dev.checkmate.relay.proto.v1.CreateSessionRequest;
import dev.checkmate.relay.proto.v1.CreateSessionResponse;
import dev.checkmate.relay.proto.v1.RelayServiceGrpc;
import dev.checkmate.relay.proto.v1.ServerMessage;
import dev.checkmate.relay.security.HostileClients;
import dev.checkmate.relay.testing.ChildRelay;
import dev.checkmate.relay.testing.HonestSession;
import dev.checkmate.relay.testing.RawSocketClient;
import dev.checkmate.relay.testing.TestPeer;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The hostile-client suite across two nodes: relays A and B in their own JVMs on one nats-server
 * (per-node NATS users, as documented), an honest session bridged between them (prover on A,
 * verifier on B) for the whole run, and attacks aimed at A — keep-alive floods that never read, a
 * participant that never reads while its peer on B sends, forged tickets, connections by the
 * hundred. The honest session's hash chain must hold, each attacker gets its documented status,
 * and neither node's heap after a full GC grows past the bound.
 */
@Timeout(180)
class HostileClusterIT {
  static final long HEAP_BOUND = 32L * 1024 * 1024;

  @TempDir
  static Path dir;
  static NatsServer nats;
  static ChildRelay a;
  static ChildRelay b;

  @BeforeAll
  static void start() throws Exception {
    ClusterFixture.requireNats();
    nats = NatsServer.builder(dir, "n1").start();
    a = node("node-a");
    b = node("node-b");
  }

  private static ChildRelay node(String nodeId) throws Exception {
    return ChildRelay.start(List.of("-Xmx256m", "-XX:+UseG1GC"), List.of(
        "--signing-key", ClusterFixture.signingKey(dir).toString(),
        "--node-id", nodeId, "--nats", nats.url(),
        "--nats-creds", NatsAccounts.get().nodeCredentials(dir, nodeId).toString(),
        "--max-join-attempts-per-second", "20",
        "--write-stall-timeout", "PT3S",
        "--http-request-timeout", "PT2S",
        "--grpc-handshake-timeout", "PT2S"));
  }

  @AfterAll
  static void stop() throws Exception {
    if (a != null) {
      a.close();
    }
    if (b != null) {
      b.close();
    }
    if (nats != null) {
      nats.close();
    }
  }

  @Test
  void attacksOnOneNodeLeaveABridgedHonestSessionIntactAndBothNodesBounded() throws Exception {
    // The nodes' links come up in the background: the first bridged session proves they are up.
    long upBy = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    HonestSession.Result warm;
    do {
      try (HonestSession w = HonestSession.across(HonestSession.Wire.GRPC, new HonestSession.Endpoint(a.channel, a.httpPort),
          new HonestSession.Endpoint(b.channel, b.httpPort), Duration.ZERO)) {
        Thread.sleep(500);
        warm = w.stop();
      }
    } while (warm.roundTrips() == 0 && System.nanoTime() < upBy);
    assertThat(warm.roundTrips()).as("a bridged session works before the attacks").isPositive();

    long heapA = a.heapAfterGcBytes();
    long heapB = b.heapAfterGcBytes();
    HonestSession honest = HonestSession.across(HonestSession.Wire.WEBSOCKET, new HonestSession.Endpoint(a.channel, a.httpPort),
        new HonestSession.Endpoint(b.channel, b.httpPort), Duration.ofMillis(20));
    HonestSession.Result result;
    try {
      keepAliveFloodOnA();
      participantOnANeverReadsWhileItsPeerOnBSends();
      forgedTicketsOnA();
      connectionsHeldOnA();
    } finally {
      result = honest.stop();
    }
    long afterA = a.heapAfterGcBytes();
    long afterB = b.heapAfterGcBytes();
    System.out.printf("node A heap after GC %d KiB (baseline %d KiB), node B %d KiB (baseline %d KiB); honest bridged: %s%n",
        afterA / 1024, heapA / 1024, afterB / 1024, heapB / 1024, result);
    assertThat(result.failure()).as("honest bridged session").isNull();
    assertThat(result.chainIntact()).isTrue();
    assertThat(result.roundTrips()).isGreaterThan(20);
    assertThat(afterA - heapA).as("node A heap left by the attacks").isLessThan(HEAP_BOUND);
    assertThat(afterB - heapB).as("node B heap left by the attacks").isLessThan(HEAP_BOUND);
    assertThat(a.alive() && b.alive()).isTrue();
  }

  private static void keepAliveFloodOnA() throws Exception {
    List<RawSocketClient> sockets = new ArrayList<>();
    try {
      for (int i = 0; i < 8; i++) {
        sockets.add(HostileClients.webSocket("127.0.8.1", a.httpPort));
      }
      long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
      while (System.nanoTime() < end) {
        for (RawSocketClient ws : sockets) {
          try {
            ws.offer(RawSocketClient.wsPing());
          } catch (java.io.IOException closed) {
            // closed by the relay: expected
          }
        }
        Thread.sleep(1);
      }
      for (RawSocketClient ws : sockets) {
        byte[] got = ws.readUntilWebSocketClose(10_000);
        assertThat(RawSocketClient.wsCloseCode(got)).isEqualTo(4429);
      }
    } finally {
      sockets.forEach(RawSocketClient::close);
    }
  }

  private static void participantOnANeverReadsWhileItsPeerOnBSends() throws Exception {
    CreateSessionResponse s = RelayServiceGrpc.newBlockingStub(b.channel).createSession(CreateSessionRequest.getDefaultInstance());
    ManagedChannel attacker = HostileClients.smallWindowChannel("127.0.8.2", a.grpcPort);
    try (TestPeer prover = TestPeer.join(b.channel, s.getProverTicket())) {
      prover.next(JOINED);
      HostileClients.NeverReadingCall call = HostileClients.NeverReadingCall.connect(attacker);
      call.send(HostileClients.join(s.getVerifierTicket()).toByteArray());
      ServerMessage left = null;
      long sent = 0;
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      while (left == null && System.nanoTime() < deadline) {
        if (prover.isReady()) {
          prover.sendData(new byte[8 * 1024]);
          sent += 8 * 1024;
        } else {
          Thread.sleep(2);
        }
        for (ServerMessage m; (m = prover.received.poll()) != null; ) {
          if (m.getKindCase() == PEER_LEFT) {
            left = m;
          }
        }
      }
      System.out.printf("cross-node: the prover on B sent %d KiB before the relay let the reader on A go%n", sent / 1024);
      assertThat(left).as("the prover on B is told its peer on A stopped reading").isNotNull();
      assertThat(sent).as("bounded by windows and credits, not by time").isLessThan(4L * 1024 * 1024);
      Status st = call.drainAndAwaitClose(10);
      assertThat(st.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
      assertThat(st.getDescription()).contains("read nothing the relay sent");
    } finally {
      attacker.shutdownNow();
    }
  }

  private static void forgedTicketsOnA() throws Exception {
    ManagedChannel ch = HostileClients.smallWindowChannel("127.0.8.3", a.grpcPort);
    int limited = 0;
    int checked = 0;
    try {
      for (int i = 0; i < 300; i++) {
        try (TestPeer p = TestPeer.join(ch, "eyJhbGciOiJFZERTQSJ9.eyJzaWQiOiJ4In0." + "A".repeat(86))) {
          Status st = p.awaitClose();
          if (st.getCode() == Status.Code.RESOURCE_EXHAUSTED) {
            limited++;
          } else if (st.getCode() == Status.Code.UNAUTHENTICATED) {
            checked++;
          }
        }
      }
    } finally {
      ch.shutdownNow();
    }
    assertThat(limited + checked).isEqualTo(300);
    assertThat(limited).as("refused by the join-attempt budget before any signature work").isGreaterThan(200);
  }

  private static void connectionsHeldOnA() throws Exception {
    List<RawSocketClient> held = new ArrayList<>();
    try {
      for (int addr = 4; addr <= 5; addr++) {
        for (int i = 0; i < 150; i++) {
          held.add(RawSocketClient.connect("127.0.8." + addr, i % 2 == 0 ? a.httpPort : a.grpcPort, 0));
        }
      }
      // Both deadlines are 2 s from accept; accepting 300 at once takes a moment on a busy machine.
      long t0 = System.nanoTime();
      int open = held.size();
      while (open > 0 && System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(15)) {
        Thread.sleep(250);
        open = 0;
        for (RawSocketClient c : held) {
          if (!c.closedByPeer()) {
            c.readFor(0);
            open += c.closedByPeer() ? 0 : 1;
          }
        }
      }
      System.out.printf("node A closed 300 silent connections within %d ms%n", (System.nanoTime() - t0) / 1_000_000);
      assertThat(open).as("silent connections still open on node A 15 s after their deadlines").isZero();
    } finally {
      held.forEach(RawSocketClient::close);
    }
  }
}
