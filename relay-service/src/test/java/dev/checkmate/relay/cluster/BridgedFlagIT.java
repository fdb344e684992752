package dev.checkmate.relay.cluster;

import static dev.checkmate.relay.cluster.ClusterIT.joinAfter;
import static dev.checkmate.relay.cluster.ClusterIT.skipTo;
import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.JOINED;
import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.PEER_JOINED;
import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.PEER_LEFT;
import static dev.checkmate.relay.probe.Probing.PAIRINGS;
import static dev.checkmate.relay.probe.Probing.probeLoopback;
import static org.assertj.core.api.Assertions.assertThat;

import dev.checkmate.relay.proto.v1.CreateSessionResponse;
import dev.checkmate.relay.probe.Probing;
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
 * served by different nodes, and only then (two in-process relays, one real nats-server); and the
 * probe that reads it. Routed well, every pairing of transports lands on one node; misrouted (gRPC to
 * one node, the browser transports to the other, as a hash-key mismatch between Envoy's two clusters
 * would do), the sessions still work across NATS but the probe flags every pairing that crossed
 * nodes and exits non-zero.
 */
@Timeout(120)
class BridgedFlagIT {
  @TempDir
  static Path dir;
  @AutoClose
  static TwoNodes cluster;
  static TestRelay a;
  static TestRelay b;

  @BeforeAll
  static void start() throws Exception {
    cluster = TwoNodes.start(dir, c -> c.webSocketPort(0));
    a = cluster.a;
    b = cluster.b;
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

  @Test
  void theProbePassesWhenEveryTransportOfASessionReachesOneNode() {
    Probing.Run r = probeLoopback(b, b);
    assertThat(r.exit()).as(r.toString()).isZero();
    for (String p : PAIRINGS) {
      assertThat(r.status("Session " + p)).as(r.toString()).isEqualTo("PASS");
      assertThat(r.status("Same node " + p)).as(r.toString()).isEqualTo("PASS");
    }
  }

  @Test
  void theProbeFlagsPeersForcedOntoDifferentNodesAndSaysWhatToFix() {
    Probing.Run r = probeLoopback(a, b);
    assertThat(r.exit()).as(r.toString()).isEqualTo(1);
    for (String p : PAIRINGS) {
      assertThat(r.status("Session " + p)).as("frames still flow across nodes: " + r).isEqualTo("PASS");
    }
    // gRPC on node a, WebSocket and gRPC-Web on node b.
    assertThat(r.line("Same node gRPC -> WebSocket")).startsWith("FAIL").contains("different relay nodes");
    assertThat(r.fix("Same node gRPC -> WebSocket")).contains("hash_key", "x-session-id", "session");
    assertThat(r.status("Same node WebSocket -> gRPC-Web")).isEqualTo("PASS");
    assertThat(r.status("Same node gRPC-Web -> gRPC")).isEqualTo("FAIL");
    assertThat(r.out()).contains("FAILED: ");
  }
}
