package dev.checkmate.relay.cluster;

import static dev.checkmate.relay.cluster.ClusterFixture.link;
import static dev.checkmate.relay.cluster.ClusterFixture.node;
import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.DATA;
import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.JOINED;
import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.PEER_LEFT;
import static org.assertj.core.api.Assertions.assertThat;

import dev.checkmate.relay.proto.v1.CreateSessionResponse;
import dev.checkmate.relay.testing.TestCertificates;
import dev.checkmate.relay.testing.TestPeer;
import dev.checkmate.relay.testing.TestRelay;
import io.grpc.Status;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The NATS link itself: losing and regaining it, and TLS with credentials to NATS. */
@Timeout(90)
class ClusterLinkTest {
  @TempDir
  Path dir;

  @Test
  void whenNatsIsDownLocalSessionsContinueCrossNodeOnesFailClearlyAndPairingReturnsWithNats() throws Exception {
    ClusterFixture.requireNats();
    try (NatsServer nats = NatsServer.builder(dir, "down").start();
        TestRelay a = node(dir, "down-a", nats);
        TestRelay b = node(dir, "down-b", nats)) {
      CreateSessionResponse cross = a.createSession();
      CreateSessionResponse local = a.createSession();
      TestPeer crossProver = a.join(cross.getProverTicket());
      crossProver.next(JOINED);
      TestPeer crossVerifier = b.join(cross.getVerifierTicket());
      crossVerifier.next(JOINED);
      TestPeer localProver = a.join(local.getProverTicket());
      localProver.next(JOINED);
      TestPeer localVerifier = a.join(local.getVerifierTicket());
      localVerifier.next(JOINED);
      crossProver.sendData("before".getBytes());
      assertThat(ClusterTest.skipTo(crossVerifier, DATA).getData().getPayload().toStringUtf8()).isEqualTo("before");

      nats.kill();
      TestRelay.await("link down", () -> !link(a).isUp() && !link(b).isUp());

      // Node-local sessions keep working.
      localProver.sendData("still here".getBytes());
      assertThat(ClusterTest.skipTo(localVerifier, DATA).getData().getPayload().toStringUtf8()).isEqualTo("still here");
      // The cross-node session's bridge participant is told to reconnect; its peer at the home sees it leave.
      Status bridged = crossVerifier.awaitClose();
      assertThat(bridged.getCode()).isEqualTo(Status.Code.UNAVAILABLE);
      assertThat(bridged.getDescription()).contains("reconnect");
      ClusterTest.skipTo(crossProver, PEER_LEFT);
      // A new join that would need another node fails at once with a clear status.
      CreateSessionResponse fresh = b.createSession();
      try (TestPeer p = a.join(fresh.getProverTicket())) {
        Status st = p.awaitClose();
        assertThat(st.getCode()).isEqualTo(Status.Code.UNAVAILABLE);
        assertThat(st.getDescription()).contains("cluster link down");
      }

      nats.start();
      TestRelay.await("link up again", () -> link(a).isUp() && link(b).isUp());
      CreateSessionResponse again = a.createSession();
      try (TestPeer p = a.join(again.getProverTicket())) {
        p.next(JOINED);
        try (TestPeer v = b.join(again.getVerifierTicket())) {
          assertThat(v.next(JOINED).getJoined().getPeerPresent()).isTrue();
          v.sendData("after".getBytes());
          assertThat(ClusterTest.skipTo(p, DATA).getData().getPayload().toStringUtf8()).isEqualTo("after");
        }
      }
      // The interrupted session resumes too: the verifier reconnects (now through NATS again).
      try (TestPeer v2 = b.join(cross.getVerifierTicket())) {
        assertThat(v2.next(JOINED).getJoined().getPeerPresent()).isTrue();
        crossProver.sendData("resumed".getBytes());
        assertThat(ClusterTest.skipTo(v2, DATA).getData().getPayload().toStringUtf8()).isEqualTo("resumed");
      }
      crossProver.close();
      localProver.close();
      localVerifier.close();
    }
  }

  @Test
  void relaysReachNatsOverTlsWithCredentials() throws Exception {
    ClusterFixture.requireNats();
    TestCertificates.Pem pem = TestCertificates.create(dir);
    try (NatsServer nats = NatsServer.builder(dir, "tls").tls(pem.certificate(), pem.privateKey()).start();
        TestRelay a = TestRelay.start(ClusterFixture.nodeConfig(dir, "tls-a", List.of("tls://127.0.0.1:" + nats.port))
            .natsCaCertificate(pem.certificate()));
        TestRelay b = TestRelay.start(ClusterFixture.nodeConfig(dir, "tls-b", List.of("tls://127.0.0.1:" + nats.port))
            .natsCaCertificate(pem.certificate()))) {
      ClusterFixture.awaitUp(a);
      ClusterFixture.awaitUp(b);
      CreateSessionResponse s = a.createSession();
      try (TestPeer p = a.join(s.getProverTicket())) {
        p.next(JOINED);
        try (TestPeer v = b.join(s.getVerifierTicket())) {
          v.next(JOINED);
          p.sendData("over tls".getBytes());
          assertThat(ClusterTest.skipTo(v, DATA).getData().getPayload().toStringUtf8()).isEqualTo("over tls");
        }
      }
    }
  }

  @Test
  void wrongNatsCredentialsKeepTheLinkDownAndCrossNodeJoinsFailClearly() throws Exception {
    ClusterFixture.requireNats();
    try (NatsServer nats = NatsServer.builder(dir, "auth").start();
        TestRelay a = TestRelay.start(ClusterFixture.nodeConfig(dir, "auth-a", List.of(nats.url())).natsPassword("wrong"))) {
      Thread.sleep(1000);
      assertThat(link(a).isUp()).isFalse();
      CreateSessionResponse s = a.createSession();
      try (TestPeer p = a.join(s.getProverTicket())) {
        assertThat(p.awaitClose().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
      }
    }
  }
}
