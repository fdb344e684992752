package dev.checkmate.relay.cluster;

import static dev.checkmate.relay.cluster.ClusterFixture.node;
import static dev.checkmate.relay.cluster.ClusterTest.joinAfter;
import static dev.checkmate.relay.cluster.ClusterTest.skipTo;
import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.JOINED;
import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.PEER_JOINED;
import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.PEER_LEFT;
import static org.assertj.core.api.Assertions.assertThat;

import dev.checkmate.relay.proto.v1.CreateSessionResponse;
import dev.checkmate.relay.proto.v1.Joined;
import dev.checkmate.relay.testing.TestPeer;
import dev.checkmate.relay.testing.TestRelay;
import java.nio.file.Path;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Joined.bridged / PeerJoined.bridged: the session's home tells both participants whether they are
 * served by different nodes, and only then (two in-process relays, one real nats-server).
 */
@Timeout(60)
class BridgedFlagTest {
  @TempDir
  static Path dir;
  @AutoClose
  static NatsServer nats;
  @AutoClose
  static TestRelay a;
  @AutoClose
  static TestRelay b;

  @BeforeAll
  static void start() throws Exception {
    ClusterFixture.requireNats();
    nats = NatsServer.builder(dir, "n1").start();
    a = node(dir, "node-a", nats);
    b = node(dir, "node-b", nats);
  }

  @Test
  void bothParticipantsOnOneNodeAreNotBridged() throws Exception {
    CreateSessionResponse s = a.createSession();
    try (TestPeer prover = a.join(s.getProverTicket()); TestPeer verifier = joinAfter(prover, a, s.getVerifierTicket())) {
      assertThat(prover.next(JOINED).getJoined().getBridged()).isFalse();
      Joined second = verifier.next(JOINED).getJoined();
      assertThat(second.getPeerPresent()).isTrue();
      assertThat(second.getBridged()).isFalse();
      assertThat(prover.next(PEER_JOINED).getPeerJoined().getBridged()).isFalse();
    }
  }

  @Test
  void participantsOnDifferentNodesAreBothToldTheyAreBridged() throws Exception {
    CreateSessionResponse s = a.createSession();
    try (TestPeer prover = a.join(s.getProverTicket()); TestPeer verifier = joinAfter(prover, b, s.getVerifierTicket())) {
      Joined first = prover.next(JOINED).getJoined();
      assertThat(first.getPeerPresent()).isFalse();
      assertThat(first.getBridged()).as("nobody to be bridged to yet").isFalse();
      Joined second = verifier.next(JOINED).getJoined();
      assertThat(second.getPeerPresent()).isTrue();
      assertThat(second.getBridged()).as("the bridge's participant, told by the home").isTrue();
      assertThat(skipTo(prover, PEER_JOINED).getPeerJoined().getBridged()).as("the home's own participant").isTrue();
    }
  }

  @Test
  void aPeerThatRejoinsOnTheHomeNodeIsNoLongerBridged() throws Exception {
    CreateSessionResponse s = a.createSession();
    try (TestPeer prover = a.join(s.getProverTicket())) {
      TestPeer away = joinAfter(prover, b, s.getVerifierTicket());
      assertThat(away.next(JOINED).getJoined().getBridged()).isTrue();
      assertThat(skipTo(prover, PEER_JOINED).getPeerJoined().getBridged()).isTrue();
      away.cancel();
      skipTo(prover, PEER_LEFT);
      try (TestPeer back = a.join(s.getVerifierTicket())) {
        Joined rejoined = back.next(JOINED).getJoined();
        assertThat(rejoined.getPeerPresent()).isTrue();
        assertThat(rejoined.getBridged()).isFalse();
        assertThat(skipTo(prover, PEER_JOINED).getPeerJoined().getBridged()).isFalse();
      }
    }
  }
}
