package dev.checkmate.relay.cluster;

import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.DATA;
import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.JOINED;
import static org.assertj.core.api.Assertions.assertThat;

import dev.checkmate.relay.proto.v1.CreateSessionResponse;
import dev.checkmate.relay.testing.TestPeer;
import io.grpc.Status;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real processes: a 3-node nats-server cluster (routes on loopback) and 3 relay JVMs. Peers on
 * different relays exchange frames; losing one NATS node is survived; losing all of NATS fails
 * cross-node sessions clearly while node-local ones continue, and pairing returns with NATS.
 *
 * <p>kill -9 of a relay mid-stream (the bridge, or the session's home) with the real SDK resuming:
 * client-sdk's {@code ClusterResumeProcessIT} (it needs the SDK, and client-sdk's tests depend on
 * relay-service, not the other way round; both run on {@link ProcessCluster}).
 */
@Timeout(120)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ClusterProcessIT {
  @TempDir
  static Path dir;
  static ProcessCluster cluster;
  static List<NatsServer> nats;
  static List<RelayProcess> relays;

  @BeforeAll
  static void startNats() throws Exception {
    cluster = ProcessCluster.startNats(dir);
    nats = cluster.nats();
    relays = cluster.relays();
  }

  @AfterAll
  static void stopNats() throws Exception {
    cluster.close();
  }

  /** Starts the relays that are not running (all at first; after a kill -9 test, the victim). */
  @BeforeEach
  void startRelays() throws Exception {
    cluster.startMissingRelays();
  }

  static CreateSessionResponse createSession(RelayProcess r) {
    return ProcessCluster.createSession(r);
  }

  static void awaitPairing(RelayProcess home, RelayProcess bridge) throws Exception {
    ProcessCluster.awaitPairing(home, bridge);
  }

  @Test
  @Order(1)
  void peersOnDifferentRelayProcessesExchangeFramesBothWays() throws Exception {
    for (int i = 0; i < 3; i++) {
      RelayProcess home = relays.get(i);
      RelayProcess bridge = relays.get((i + 2) % 3);
      CreateSessionResponse s = createSession(home);
      try (TestPeer p = home.join(s.getProverTicket())) {
        p.next(JOINED);
        try (TestPeer v = bridge.join(s.getVerifierTicket())) {
          assertThat(v.next(JOINED).getJoined().getPeerPresent()).isTrue();
          for (int k = 1; k <= 20; k++) {
            p.sendData(("p" + k).getBytes());
            v.sendData(("v" + k).getBytes());
          }
          for (int k = 1; k <= 20; k++) {
            assertThat(ClusterIT.skipTo(v, DATA).getData().getPayload().toStringUtf8()).isEqualTo("p" + k);
            assertThat(ClusterIT.skipTo(p, DATA).getData().getPayload().toStringUtf8()).isEqualTo("v" + k);
          }
        }
      }
    }
  }

  @Test
  @Order(4)
  void losingOneNatsNodeIsSurvived() throws Exception {
    CreateSessionResponse s = createSession(relays.get(0));
    try (TestPeer p = relays.get(0).join(s.getProverTicket())) {
      p.next(JOINED);
      try (TestPeer v = relays.get(1).join(s.getVerifierTicket())) {
        v.next(JOINED);
        p.sendData("one".getBytes());
        ClusterIT.skipTo(v, DATA);
        NatsServer victim = nats.get(0);
        victim.kill();
        try {
          Thread.sleep(1500); // relays on it fail over to the other NATS nodes
          for (int k = 0; k < 20; k++) {
            p.sendData(("after " + k).getBytes());
            v.sendData(("back " + k).getBytes());
          }
          for (int k = 0; k < 20; k++) {
            assertThat(ClusterIT.skipTo(v, DATA).getData().getPayload().toStringUtf8()).isEqualTo("after " + k);
            assertThat(ClusterIT.skipTo(p, DATA).getData().getPayload().toStringUtf8()).isEqualTo("back " + k);
          }
          // New cross-node sessions pair through the remaining NATS nodes.
          awaitPairing(relays.get(2), relays.get(0));
        } finally {
          victim.start();
          victim.awaitRoutes(2);
        }
      }
    }
  }

  @Test
  @Order(5)
  void losingAllOfNatsFailsCrossNodeSessionsClearlyKeepsNodeLocalPairingAndPairingReturnsWithIt() throws Exception {
    CreateSessionResponse cross = createSession(relays.get(0));
    CreateSessionResponse local = createSession(relays.get(2));
    TestPeer cp = relays.get(0).join(cross.getProverTicket());
    cp.next(JOINED);
    TestPeer cv = relays.get(1).join(cross.getVerifierTicket());
    cv.next(JOINED);
    TestPeer lp = relays.get(2).join(local.getProverTicket());
    lp.next(JOINED);
    TestPeer lv = relays.get(2).join(local.getVerifierTicket());
    lv.next(JOINED);
    for (NatsServer n : nats) {
      n.kill();
    }
    try {
      Status st = cv.awaitClose();
      assertThat(st.getCode()).isEqualTo(Status.Code.UNAVAILABLE);
      assertThat(st.getDescription()).contains("reconnect");
      lp.sendData("local".getBytes());
      assertThat(ClusterIT.skipTo(lv, DATA).getData().getPayload().toStringUtf8()).isEqualTo("local");
      // Local-first: a new session whose peers are both on one relay pairs without NATS.
      CreateSessionResponse fresh = createSession(relays.get(1));
      try (TestPeer p = relays.get(1).join(fresh.getProverTicket()); TestPeer v = relays.get(1).join(fresh.getVerifierTicket())) {
        p.next(JOINED);
        v.next(JOINED);
        p.sendData("no NATS".getBytes());
        assertThat(ClusterIT.skipTo(v, DATA).getData().getPayload().toStringUtf8()).isEqualTo("no NATS");
      }
      // A cross-node attempt fails fast: the bridge node knows the session lives elsewhere.
      try (TestPeer again = relays.get(1).join(cross.getVerifierTicket())) {
        Status refused = again.awaitClose();
        assertThat(refused.getCode()).isEqualTo(Status.Code.UNAVAILABLE);
        assertThat(refused.getDescription()).contains("cluster link down");
      }
    } finally {
      for (NatsServer n : nats) {
        n.start();
      }
      for (NatsServer n : nats) {
        n.awaitRoutes(2);
      }
    }
    awaitPairing(relays.get(1), relays.get(2));
    cp.close();
    lp.close();
    lv.close();
  }
}
