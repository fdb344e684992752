package dev.checkmate.relay.cluster;

import static dev.checkmate.relay.cluster.ClusterFixture.link;
import static dev.checkmate.relay.cluster.ClusterFixture.node;
import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.DATA;
import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.JOINED;
import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.PEER_JOINED;
import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.PEER_LEFT;
import static org.assertj.core.api.Assertions.assertThat;

import dev.checkmate.relay.proto.v1.CreateSessionResponse;
import dev.checkmate.relay.proto.v1.RelayServiceGrpc;
import dev.checkmate.relay.proto.v1.TerminateSessionRequest;
import dev.checkmate.relay.testing.TestCertificates;
import dev.checkmate.relay.testing.TestPeer;
import dev.checkmate.relay.testing.TestRelay;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The NATS link itself: losing and regaining it (local-first homing while it is down, and the
 * claim rule settling who is home when it returns), TLS, and credentials.
 */
@Timeout(120)
class ClusterLinkIT {
  @TempDir
  Path dir;

  @Test
  void whenNatsIsDownNodeLocalSessionsPairCrossNodeAttemptsFailFastAndPairingReturnsWithNats() throws Exception {
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
      assertThat(ClusterIT.skipTo(crossVerifier, DATA).getData().getPayload().toStringUtf8()).isEqualTo("before");

      nats.kill();
      TestRelay.await("link down", () -> !link(a).isUp() && !link(b).isUp());

      // Node-local sessions keep working.
      localProver.sendData("still here".getBytes());
      assertThat(ClusterIT.skipTo(localVerifier, DATA).getData().getPayload().toStringUtf8()).isEqualTo("still here");
      // The cross-node session's bridge participant is told to reconnect; its peer at the home sees it leave.
      Status bridged = crossVerifier.awaitClose();
      assertThat(bridged.getCode()).isEqualTo(Status.Code.UNAVAILABLE);
      assertThat(bridged.getDescription()).contains("reconnect");
      ClusterIT.skipTo(crossProver, PEER_LEFT);

      // A new session whose two participants are both on one node pairs without NATS (local-first).
      CreateSessionResponse fresh = b.createSession();
      try (TestPeer p = a.join(fresh.getProverTicket()); TestPeer v = a.join(fresh.getVerifierTicket())) {
        p.next(JOINED);
        v.next(JOINED);
        HashChain sent = new HashChain();
        sent.send(p, "offline", 1, 20);
        HashChain.expect(v, sent);
      }

      // Cross-node attempts fail fast with a clear status: the verifier's rejoin on b (b knows the
      // session is held by a) and a TerminateSession on b for a session b does not hold.
      long t0 = System.nanoTime();
      try (TestPeer again = b.join(cross.getVerifierTicket())) {
        Status st = again.awaitClose();
        assertThat(st.getCode()).isEqualTo(Status.Code.UNAVAILABLE);
        assertThat(st.getDescription()).contains("cluster link down").contains("another relay node");
      }
      StatusRuntimeException refused = org.junit.jupiter.api.Assertions.assertThrows(StatusRuntimeException.class,
          () -> RelayServiceGrpc.newBlockingStub(b.channel).withDeadlineAfter(5, TimeUnit.SECONDS)
              .terminateSession(TerminateSessionRequest.newBuilder().setTicket(cross.getProverTicket()).build()));
      assertThat(refused.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
      assertThat(refused.getStatus().getDescription()).contains("cluster link down");
      assertThat((System.nanoTime() - t0) / 1_000_000).as("ms for both refusals").isLessThan(1000);

      nats.start();
      TestRelay.await("link up again", () -> link(a).isUp() && link(b).isUp());
      CreateSessionResponse again = a.createSession();
      try (TestPeer p = a.join(again.getProverTicket())) {
        p.next(JOINED);
        try (TestPeer v = b.join(again.getVerifierTicket())) {
          assertThat(v.next(JOINED).getJoined().getPeerPresent()).isTrue();
          v.sendData("after".getBytes());
          assertThat(ClusterIT.skipTo(p, DATA).getData().getPayload().toStringUtf8()).isEqualTo("after");
        }
      }
      // The interrupted session resumes too: the verifier reconnects (now through NATS again).
      try (TestPeer v2 = b.join(cross.getVerifierTicket())) {
        assertThat(v2.next(JOINED).getJoined().getPeerPresent()).isTrue();
        crossProver.sendData("resumed".getBytes());
        assertThat(ClusterIT.skipTo(v2, DATA).getData().getPayload().toStringUtf8()).isEqualTo("resumed");
      }
      crossProver.close();
      localProver.close();
      localVerifier.close();
    }
  }

  /**
   * A node whose NATS path goes silent (a server dying after jnats failed over to it, a stalled
   * network path) still reports its link up until jnats' pings time out. A bridged participant
   * that rejoins there meanwhile gets the session claimed at that node; that claim must not settle
   * while nothing it sends is known to reach NATS, or the session's settled home elsewhere never
   * learns of it and the two halves never meet (the soak: 160 sessions after all NATS servers were
   * killed one after another ended PEER_NEVER_JOINED). When the path returns, the claim meets the
   * settled home, yields, and the participant is handed over to its peer.
   */
  @Test
  void aClaimMadeWhileTheNatsPathIsSilentDoesNotSettleAndYieldsToTheSettledHomeWhenItReturns() throws Exception {
    ClusterFixture.requireNats();
    try (NatsServer nats = NatsServer.builder(dir, "silent").start();
        dev.checkmate.relay.testing.CuttableProxy path = new dev.checkmate.relay.testing.CuttableProxy(nats.port);
        TestRelay home = node(dir, "silent-b-home", nats);
        TestRelay a = TestRelay.start(ClusterFixture.nodeConfig(dir, "silent-a", List.of("nats://" + path.target())))) {
      ClusterFixture.awaitUp(a);
      CreateSessionResponse s = home.createSession();
      TestPeer prover = home.join(s.getProverTicket());
      prover.next(JOINED);
      Thread.sleep(2000); // the home's claim settles (2 × settle, the link up for dead-after)
      TestPeer verifier = a.join(s.getVerifierTicket());
      verifier.next(JOINED);
      ClusterIT.skipTo(prover, PEER_JOINED);
      prover.sendData("before".getBytes());
      assertThat(ClusterIT.skipTo(verifier, DATA).getData().getPayload().toStringUtf8()).isEqualTo("before");

      path.hold(true);
      // The bridge hears nothing for dead-after and tells its client to reconnect; the link still looks up.
      assertThat(verifier.awaitClose().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
      assertThat(link(a).isUp()).as("jnats has not noticed yet").isTrue();
      TestPeer again = a.join(s.getVerifierTicket());
      again.next(JOINED, java.time.Duration.ofSeconds(5)); // homed at a: the lookup went nowhere
      Thread.sleep(1000); // several settle periods
      path.hold(false);

      // The two claims meet; a's yields to the settled home and hands the verifier over.
      ClusterIT.skipTo(prover, PEER_JOINED);
      prover.sendData("after".getBytes());
      assertThat(ClusterIT.skipTo(again, DATA).getData().getPayload().toStringUtf8()).isEqualTo("after");
      again.sendData("back".getBytes());
      assertThat(ClusterIT.skipTo(prover, DATA).getData().getPayload().toStringUtf8()).isEqualTo("back");
      again.close();
      prover.close();
    }
  }

  /**
   * A relay (re)started while NATS is unreachable — a node restarted during a NATS outage — first
   * connects when NATS comes back, which jnats reports as a reconnect. It must then make its
   * subscriptions like any first connection: otherwise it never hears lookups, binds or claims, and
   * every session it homes or bridges afterwards waits for a peer that never comes (the soak found
   * it: after a drained relay restarted during an outage, its cross-node sessions never paired).
   * Both ways are checked: a session homed on that node is found from another, and it finds a home
   * on another node.
   */
  @Test
  void aNodeStartedWhileNatsIsDownServesCrossNodeSessionsOnceNatsIsUp() throws Exception {
    ClusterFixture.requireNats();
    try (NatsServer nats = NatsServer.builder(dir, "late").start()) {
      nats.kill();
      try (TestRelay late = TestRelay.start(ClusterFixture.nodeConfig(dir, "late-a", List.of(nats.url())))) {
        Thread.sleep(1500); // it tries to connect and fails a few times
        assertThat(link(late).isUp()).isFalse();
        nats.start();
        ClusterFixture.awaitUp(late);
        try (TestRelay other = node(dir, "late-b", nats)) {
          for (TestRelay[] homeThenBridge : new TestRelay[][] {{late, other}, {other, late}}) {
            CreateSessionResponse s = homeThenBridge[0].createSession();
            try (TestPeer p = homeThenBridge[0].join(s.getProverTicket())) {
              p.next(JOINED);
              try (TestPeer v = homeThenBridge[1].join(s.getVerifierTicket())) {
                assertThat(v.next(JOINED, java.time.Duration.ofSeconds(10)).getJoined().getPeerPresent())
                    .as("the verifier on another node finds the prover's home").isTrue();
                HashChain sent = new HashChain();
                sent.send(p, "across", 1, 10);
                HashChain.expect(v, sent);
              }
            }
          }
        }
      }
    }
  }

  /**
   * The ambiguity when NATS returns: a session homed on node a before the outage is homed again on
   * node c during it (c cannot know better). When the link is back, c announces its claim, a's
   * settled claim wins, and c hands its participant over with the frames it had buffered: both
   * peers get every frame exactly once, in order (hash chains). c holds the session no more, and
   * says so (relay_sessions_active: the soak found every hand-over leaking one held session there).
   */
  @Test
  void whenNatsReturnsASessionHomedTwiceIsReconciledWithoutLosingOrDuplicatingAFrame() throws Exception {
    ClusterFixture.requireNats();
    try (NatsServer nats = NatsServer.builder(dir, "heal").start();
        TestRelay a = node(dir, "heal-a", nats);
        TestRelay c = node(dir, "heal-c", nats, b -> b.metricsPort(0))) {
      CreateSessionResponse s = a.createSession();
      try (TestPeer prover = a.join(s.getProverTicket())) {
        prover.next(JOINED);
        TestRelay.await("a's claim settled", () -> link(a).claims().get(s.getSessionId()).settled);
        nats.kill();
        TestRelay.await("link down", () -> !link(a).isUp() && !link(c).isUp());
        try (TestPeer verifier = c.join(s.getVerifierTicket())) {
          assertThat(verifier.next(JOINED).getJoined().getPeerPresent()).as("homed on c too, alone").isFalse();
          assertThat(c.server.hub().holds(s.getSessionId())).isTrue();
          HashChain toVerifier = new HashChain();
          HashChain toProver = new HashChain();
          toVerifier.send(prover, "p", 1, 10); // waits in a's rendezvous buffer
          toProver.send(verifier, "v", 1, 10); // waits in c's
          nats.start();
          TestRelay.await("link up again", () -> link(a).isUp() && link(c).isUp());
          TestRelay.await("c yielded to a", () -> link(c).claimsLost() == 1);
          ClusterIT.skipTo(verifier, PEER_JOINED);
          toVerifier.send(prover, "p", 11, 20);
          toProver.send(verifier, "v", 11, 20);
          HashChain.expect(verifier, toVerifier);
          HashChain.expect(prover, toProver);
          HashChain.expectNoMoreData(verifier, 300);
          HashChain.expectNoMoreData(prover, 300);
          assertThat(a.server.hub().holds(s.getSessionId())).isTrue();
          assertThat(c.server.hub().holds(s.getSessionId())).isFalse();
          assertThat(RelayProcess.metric(c.server.metricsPort(), "relay_sessions_active", ""))
              .as("sessions c reports holding after handing its only one over").isZero();
        }
      }
    }
  }

  /**
   * Both participants of a new session join different nodes while NATS is down: each node homes it
   * (neither claim can settle offline). When NATS returns the two unsettled claims meet and the
   * smaller node id wins; the other hands its participant over and the session pairs.
   */
  @Test
  void twoOfflineHomesOfOneSessionMeetWhenNatsReturnsAndTheSmallerNodeIdWins() throws Exception {
    ClusterFixture.requireNats();
    try (NatsServer nats = NatsServer.builder(dir, "split").start();
        TestRelay a = node(dir, "split-a", nats);
        TestRelay b = node(dir, "split-b", nats)) {
      CreateSessionResponse s = a.createSession();
      nats.kill();
      TestRelay.await("link down", () -> !link(a).isUp() && !link(b).isUp());
      try (TestPeer prover = a.join(s.getProverTicket()); TestPeer verifier = b.join(s.getVerifierTicket())) {
        prover.next(JOINED);
        verifier.next(JOINED);
        HashChain toVerifier = new HashChain();
        HashChain toProver = new HashChain();
        toVerifier.send(prover, "p", 1, 5);
        toProver.send(verifier, "v", 1, 5);
        Thread.sleep(600); // longer than the settle time: offline claims still must not settle
        nats.start();
        TestRelay.await("b yielded to a", () -> link(b).claimsLost() == 1 && link(a).claimsLost() == 0);
        ClusterIT.skipTo(verifier, PEER_JOINED);
        HashChain.expect(verifier, toVerifier);
        HashChain.expect(prover, toProver);
        HashChain.expectNoMoreData(verifier, 300);
      }
    }
  }

  /**
   * After an outage of every NATS server the nodes come back one after the other. The session's
   * home (a, settled) reconnects a moment after b, where its peer rejoins: b's lookup finds nobody
   * (a is not subscribed yet) and b claims the session. That claim must not settle before a had
   * the time to come back and hear it: b keeps announcing it and yields to a's settled claim, and
   * the session pairs again. (b's claim used to settle 2 × settle after b's link came up: two
   * settled homes, each waiting for a peer until the join deadline; the soak found it.)
   */
  @Test
  void afterANatsOutageAClaimWaitsForTheHomeToReconnectAndYieldsToIt() throws Exception {
    ClusterFixture.requireNats();
    // Two NATS servers joined by a gateway (not routes: a route would advertise each server to the
    // other's clients, and jnats would fail over to it), each node on its own: the test decides who
    // reconnects first. The dead-after time (a node not back by then counts as dead) is the
    // production default here.
    java.util.Map<String, Integer> gateways = new java.util.LinkedHashMap<>();
    gateways.put("out-a", NatsServer.freePort());
    gateways.put("out-b", NatsServer.freePort());
    try (NatsServer natsA = NatsServer.builder(dir, "out-a").cluster("out-a", NatsServer.freePort(), List.of())
            .gateway("out-a", gateways.get("out-a"), gateways).start();
        NatsServer natsB = NatsServer.builder(dir, "out-b").cluster("out-b", NatsServer.freePort(), List.of())
            .gateway("out-b", gateways.get("out-b"), gateways).start()) {
      NatsServer.await("gateways up", () -> natsA.monitor("/gatewayz").contains("\"out-b\"")
          && natsB.monitor("/gatewayz").contains("\"out-a\""), java.time.Duration.ofSeconds(15));
      try (TestRelay a = TestRelay.start(ClusterFixture.nodeConfig(dir, "out-a", List.of(natsA.url()))
              .clusterDeadAfter(java.time.Duration.ofSeconds(3)));
          TestRelay b = TestRelay.start(ClusterFixture.nodeConfig(dir, "out-b", List.of(natsB.url()))
              .clusterDeadAfter(java.time.Duration.ofSeconds(3)))) {
        ClusterFixture.awaitUp(a);
        ClusterFixture.awaitUp(b);
        CreateSessionResponse s = a.createSession();
        try (TestPeer prover = a.join(s.getProverTicket())) {
          prover.next(JOINED);
          TestRelay.await("a's claim settled", () -> link(a).claims().get(s.getSessionId()) != null
              && link(a).claims().get(s.getSessionId()).settled);
          TestPeer verifier = b.join(s.getVerifierTicket());
          assertThat(verifier.next(JOINED).getJoined().getPeerPresent()).isTrue();
          HashChain before = new HashChain();
          before.send(prover, "before", 1, 5);
          HashChain.expect(verifier, before);

          natsA.kill();
          natsB.kill();
          assertThat(verifier.awaitClose().getCode()).isEqualTo(Status.Code.UNAVAILABLE); // the binding died
          ClusterIT.skipTo(prover, PEER_LEFT);
          natsB.start();
          TestRelay.await("b back", () -> link(b).isUp());
          try (TestPeer again = b.join(s.getVerifierTicket())) {
            again.next(JOINED); // b found nobody: homed here for now
            Thread.sleep(200);
            natsA.start(); // the home comes back a moment later
            TestRelay.await("b yielded to a", () -> link(b).claimsLost() == 1);
            ClusterIT.skipTo(again, PEER_JOINED);
            HashChain after = new HashChain();
            after.send(prover, "after", 1, 10);
            HashChain.expect(again, after);
            assertThat(a.server.hub().holds(s.getSessionId())).isTrue();
            assertThat(b.server.hub().holds(s.getSessionId())).isFalse();
          }
          verifier.close();
        }
      }
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
          assertThat(ClusterIT.skipTo(v, DATA).getData().getPayload().toStringUtf8()).isEqualTo("over tls");
        }
      }
      TestRelay.await("permissions checked", () -> link(a).natsIsolation().equals("enforced"));
    }
  }

  @Test
  void untrustedNatsCredentialsKeepTheLinkDownAndTheNodeServesItsOwnSessions() throws Exception {
    ClusterFixture.requireNats();
    try (NatsServer nats = NatsServer.builder(dir, "auth").start();
        TestRelay a = TestRelay.start(ClusterFixture.nodeConfig(dir, "auth-a", List.of(nats.url()))
            .natsCredentials(NatsAccounts.untrustedCredentials(dir, "auth-a")))) {
      Thread.sleep(1000);
      assertThat(link(a).isUp()).isFalse();
      CreateSessionResponse s = a.createSession();
      try (TestPeer p = a.join(s.getProverTicket()); TestPeer v = a.join(s.getVerifierTicket())) {
        p.next(JOINED);
        assertThat(v.next(JOINED).getJoined().getPeerPresent()).isTrue();
        v.sendData("no NATS needed".getBytes());
        assertThat(ClusterIT.skipTo(p, DATA).getData().getPayload().toStringUtf8()).isEqualTo("no NATS needed");
      }
    }
  }
}
