package dev.checkmate.relay.cluster;

import static dev.checkmate.relay.cluster.ClusterFixture.link;
import static dev.checkmate.relay.cluster.ClusterFixture.node;
import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.DATA;
import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.JOINED;
import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.PEER_JOINED;
import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.PEER_LEFT;
import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.SESSION_ENDED;
import static org.assertj.core.api.Assertions.assertThat;

import dev.checkmate.relay.proto.v1.CreateSessionResponse;
import dev.checkmate.relay.proto.v1.EndReason;
import dev.checkmate.relay.proto.v1.RelayServiceGrpc;
import dev.checkmate.relay.proto.v1.ServerMessage;
import dev.checkmate.relay.proto.v1.TerminateSessionRequest;
import dev.checkmate.relay.testing.TestPeer;
import dev.checkmate.relay.testing.TestRelay;
import io.grpc.Status;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Peers on different relay nodes (in-process relays, one real nats-server): pairing, the role
 * rule, and the whole session lifecycle run at the session's home node.
 */
@Timeout(60)
class ClusterIT {
  @TempDir
  static Path dir;
  static NatsServer nats;
  static TestRelay a;
  static TestRelay b;
  static TestRelay c;

  @BeforeAll
  static void start() throws Exception {
    ClusterFixture.requireNats();
    nats = NatsServer.builder(dir, "n1").start();
    a = node(dir, "node-a", nats);
    b = node(dir, "node-b", nats);
    c = node(dir, "node-c", nats);
  }

  @AfterAll
  static void stop() throws Exception {
    for (TestRelay r : new TestRelay[] {a, b, c}) {
      if (r != null) {
        r.close();
      }
    }
    if (nats != null) {
      nats.close();
    }
  }

  @Test
  void peersOnDifferentNodesPairAndExchangeFramesBothWays() throws Exception {
    CreateSessionResponse s = a.createSession();
    long outBefore = link(b).crossNodeFrames(ClusterLink.Direction.OUT);
    try (TestPeer prover = a.join(s.getProverTicket()); TestPeer verifier = joinAfter(prover, b, s.getVerifierTicket())) {
      assertThat(prover.next(JOINED).getJoined().getPeerPresent()).isFalse();
      assertThat(verifier.next(JOINED).getJoined().getPeerPresent()).isTrue();
      skipTo(prover, PEER_JOINED);
      for (int i = 1; i <= 50; i++) {
        prover.sendData(("p" + i).getBytes());
        verifier.sendData(("v" + i).getBytes());
      }
      for (int i = 1; i <= 50; i++) {
        ServerMessage toVerifier = verifier.next(DATA);
        assertThat(toVerifier.getData().getSeq()).isEqualTo(i);
        assertThat(toVerifier.getData().getPayload().toStringUtf8()).isEqualTo("p" + i);
        ServerMessage toProver = prover.next(DATA);
        assertThat(toProver.getData().getSeq()).isEqualTo(i);
        assertThat(toProver.getData().getPayload().toStringUtf8()).isEqualTo("v" + i);
      }
      assertThat(a.server.hub().holds(s.getSessionId())).as("home is where the first participant joined").isTrue();
      assertThat(b.server.hub().holds(s.getSessionId())).isFalse();
      assertThat(link(b).crossNodeFrames(ClusterLink.Direction.OUT) - outBefore).isEqualTo(50);
    }
  }

  /** Resume support: a cumulative ack is forwarded to the peer, node-local and across nodes. */
  @Test
  void acknowledgementsReachThePeerOnTheSameNodeAndAcrossNodes() throws Exception {
    for (TestRelay verifierNode : new TestRelay[] {a, b}) {
      CreateSessionResponse s = a.createSession();
      try (TestPeer prover = a.join(s.getProverTicket()); TestPeer verifier = joinAfter(prover, verifierNode, s.getVerifierTicket())) {
        prover.next(JOINED);
        verifier.next(JOINED);
        for (int i = 1; i <= 3; i++) {
          prover.sendData(("f" + i).getBytes());
          skipTo(verifier, DATA);
        }
        verifier.send(dev.checkmate.relay.proto.v1.ClientMessage.newBuilder()
            .setAck(dev.checkmate.relay.proto.v1.Ack.newBuilder().setSeq(3)).build());
        assertThat(skipTo(prover, ServerMessage.KindCase.ACK).getAck().getSeq()).isEqualTo(3);
        // Frames keep flowing after an ack, both ways.
        verifier.sendData("after ack".getBytes());
        assertThat(nextData(prover).getPayload().toStringUtf8()).isEqualTo("after ack");
        prover.sendData("f4".getBytes());
        assertThat(nextData(verifier).getPayload().toStringUtf8()).isEqualTo("f4");
      }
    }
  }

  /**
   * Incarnations across nodes: a bridged participant's incarnation reaches the home (in the bind),
   * so the home reports it to the peer and tells a restart from a resume; acks keep the
   * incarnation they name on their way up.
   */
  @Test
  void aBridgedParticipantsIncarnationReachesTheHomeAndAcksKeepTheOneTheyName() throws Exception {
    long prover = 0x11L;
    long first = 0x21L;
    long restarted = 0x22L;
    CreateSessionResponse s = a.createSession();
    try (TestPeer home = a.join(s.getProverTicket(), prover)) {
      home.next(JOINED);
      TestPeer bridged = b.join(s.getVerifierTicket(), first);
      var joined = skipTo(bridged, JOINED).getJoined();
      assertThat(joined.getPeerIncarnation()).isEqualTo(prover);
      assertThat(joined.getBridged()).isTrue();
      assertThat(skipTo(home, PEER_JOINED).getPeerJoined().getIncarnation()).isEqualTo(first);
      bridged.sendAck(0, prover);
      ServerMessage ack = skipTo(home, ServerMessage.KindCase.ACK);
      assertThat(ack.getAck().getIncarnation()).isEqualTo(prover);
      bridged.cancel(); // the bridged participant's process dies
      assertThat(skipTo(home, PEER_LEFT).getPeerLeft().getIncarnation()).isEqualTo(first);
      try (TestPeer again = b.join(s.getVerifierTicket(), restarted)) {
        assertThat(skipTo(again, JOINED).getJoined().getReplacedIncarnation()).isEqualTo(first);
        assertThat(skipTo(home, PEER_JOINED).getPeerJoined().getIncarnation()).isEqualTo(restarted);
      }
    }
  }

  @Test
  void aNodeLocalSessionNeverCrossesNodes() throws Exception {
    CreateSessionResponse s = c.createSession();
    long out = link(c).crossNodeFrames(ClusterLink.Direction.OUT);
    try (TestPeer prover = c.join(s.getProverTicket()); TestPeer verifier = joinAfter(prover, c, s.getVerifierTicket())) {
      prover.next(JOINED);
      verifier.next(JOINED);
      prover.sendData(new byte[] {1});
      verifier.next(DATA);
      assertThat(link(c).crossNodeFrames(ClusterLink.Direction.OUT)).isEqualTo(out);
      assertThat(link(a).bindingCount() + link(b).bindingCount()).isZero();
    }
  }

  @Test
  void aReconnectOnAThirdNodeReplacesTheOldStreamAndTheRoleRuleHoldsClusterWide() throws Exception {
    CreateSessionResponse s = a.createSession();
    try (TestPeer prover = a.join(s.getProverTicket()); TestPeer verifier = joinAfter(prover, b, s.getVerifierTicket())) {
      prover.next(JOINED);
      verifier.next(JOINED);
      try (TestPeer again = c.join(s.getVerifierTicket())) {
        assertThat(again.next(JOINED).getJoined().getPeerPresent()).isTrue();
        assertThat(verifier.awaitClose().getCode()).isEqualTo(Status.Code.ABORTED);
        prover.sendData("after reconnect".getBytes());
        assertThat(again.next(DATA).getData().getPayload().toStringUtf8()).isEqualTo("after reconnect");
        again.sendData("back".getBytes());
        assertThat(nextData(prover).getPayload().toStringUtf8()).isEqualTo("back");
      }
    }
  }

  @Test
  void aTerminateOnTheBridgeEndsTheSessionEverywhereAndItsTicketsStayDead() throws Exception {
    CreateSessionResponse s = a.createSession();
    try (TestPeer prover = a.join(s.getProverTicket()); TestPeer verifier = joinAfter(prover, b, s.getVerifierTicket())) {
      prover.next(JOINED);
      verifier.next(JOINED);
      verifier.terminate("verified");
      for (TestPeer p : new TestPeer[] {prover, verifier}) {
        ServerMessage ended = skipTo(p, SESSION_ENDED);
        assertThat(ended.getSessionEnded().getReason()).isEqualTo(EndReason.TERMINATED);
        assertThat(ended.getSessionEnded().getMessage()).isEqualTo("verified");
        assertThat(p.awaitClose().getCode()).isEqualTo(Status.Code.OK);
      }
    }
    // Another node asks the home, which remembers the session as ended.
    try (TestPeer late = c.join(s.getProverTicket())) {
      Status st = late.awaitClose();
      assertThat(st.getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
      assertThat(st.getDescription()).contains("already ended");
    }
  }

  @Test
  void terminateSessionOnANodeThatIsNotHomeReachesTheHome() throws Exception {
    CreateSessionResponse s = a.createSession();
    try (TestPeer prover = a.join(s.getProverTicket()); TestPeer verifier = joinAfter(prover, b, s.getVerifierTicket())) {
      prover.next(JOINED);
      verifier.next(JOINED);
      boolean done = RelayServiceGrpc.newBlockingStub(c.channel).terminateSession(TerminateSessionRequest.newBuilder()
          .setTicket(s.getProverTicket()).setReason("operator").build()).getTerminated();
      assertThat(done).isTrue();
      assertThat(skipTo(verifier, SESSION_ENDED).getSessionEnded().getReason()).isEqualTo(EndReason.TERMINATED);
      assertThat(skipTo(prover, SESSION_ENDED).getSessionEnded().getMessage()).isEqualTo("operator");
    }
  }

  @Test
  void theHomesLimitsApplyToAParticipantOnABridge() throws Exception {
    CreateSessionResponse s = a.createSession();
    try (TestPeer prover = a.join(s.getProverTicket()); TestPeer verifier = joinAfter(prover, b, s.getVerifierTicket())) {
      prover.next(JOINED);
      verifier.next(JOINED);
      verifier.sendData(new byte[a.server.config().maxFrameBytes() + 1]);
      Status st = verifier.awaitClose();
      assertThat(st.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
      assertThat(skipTo(prover, SESSION_ENDED).getSessionEnded().getReason()).isEqualTo(EndReason.LIMIT_EXCEEDED);
    }
  }

  /** Joins once {@code first} has been told Joined, so the first participant's node is the home. */
  static TestPeer joinAfter(TestPeer first, TestRelay node, String ticket) throws InterruptedException {
    TestRelay.await("first participant joined", () -> first.received.stream().anyMatch(ServerMessage::hasJoined));
    return node.join(ticket);
  }

  /** The next message of this kind, skipping any others (e.g. PeerJoined before SessionEnded). */
  static ServerMessage skipTo(TestPeer p, ServerMessage.KindCase kind) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(8).toNanos();
    while (true) {
      ServerMessage m = p.received.poll(Math.max(0, deadline - System.nanoTime()), java.util.concurrent.TimeUnit.NANOSECONDS);
      if (m == null) {
        throw new AssertionError("no " + kind + " within 8 s; closed=" + p.closed.getNow(null));
      }
      if (m.getKindCase() == kind) {
        return m;
      }
    }
  }

  private static dev.checkmate.relay.proto.v1.Frame nextData(TestPeer p) throws InterruptedException {
    return skipTo(p, DATA).getData();
  }

  /** Timers run at the home: each with the peers on two nodes, and the bridge side seeing the outcome. */
  @Test
  void joinDeadlineIdleTimeoutAndLifetimeRunAtTheHome() throws Exception {
    try (TestRelay home = node(dir, "timer-home", nats, x -> x.joinDeadline(Duration.ofSeconds(1)).idleTimeout(Duration.ofSeconds(1)));
        TestRelay bridge = node(dir, "timer-bridge", nats, x -> x.joinDeadline(Duration.ofSeconds(1)).idleTimeout(Duration.ofSeconds(1)))) {
      // Join deadline: the home's participant leaves; the bridge's participant is told and waits in vain.
      CreateSessionResponse s1 = home.createSession();
      try (TestPeer prover = home.join(s1.getProverTicket()); TestPeer verifier = joinAfter(prover, bridge, s1.getVerifierTicket())) {
        prover.next(JOINED);
        verifier.next(JOINED);
        prover.cancel();
        assertThat(skipTo(verifier, PEER_LEFT).getPeerLeft().getRole())
            .isEqualTo(dev.checkmate.relay.proto.v1.Role.PROVER);
        ServerMessage ended = skipTo(verifier, SESSION_ENDED);
        assertThat(ended.getSessionEnded().getReason()).isEqualTo(EndReason.PEER_NEVER_JOINED);
        assertThat(verifier.awaitClose().getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED);
      }
      // Join deadline, the other way round: the bridge's participant leaves.
      CreateSessionResponse s2 = home.createSession();
      try (TestPeer prover = home.join(s2.getProverTicket()); TestPeer verifier = joinAfter(prover, bridge, s2.getVerifierTicket())) {
        prover.next(JOINED);
        verifier.next(JOINED);
        skipTo(prover, PEER_JOINED);
        verifier.cancel();
        skipTo(prover, PEER_LEFT);
        assertThat(skipTo(prover, SESSION_ENDED).getSessionEnded().getReason()).isEqualTo(EndReason.PEER_NEVER_JOINED);
      }
      // Idle timeout.
      CreateSessionResponse s3 = home.createSession();
      try (TestPeer prover = home.join(s3.getProverTicket()); TestPeer verifier = joinAfter(prover, bridge, s3.getVerifierTicket())) {
        prover.next(JOINED);
        verifier.next(JOINED);
        assertThat(skipTo(verifier, SESSION_ENDED).getSessionEnded().getReason()).isEqualTo(EndReason.IDLE_TIMEOUT);
        assertThat(verifier.awaitClose().getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED);
        assertThat(skipTo(prover, SESSION_ENDED).getSessionEnded().getReason()).isEqualTo(EndReason.IDLE_TIMEOUT);
      }
      // Lifetime: a 2 s session, kept busy so idleness never ends it first.
      CreateSessionResponse s4 = home.createSession(2);
      try (TestPeer prover = home.join(s4.getProverTicket()); TestPeer verifier = joinAfter(prover, bridge, s4.getVerifierTicket())) {
        prover.next(JOINED);
        verifier.next(JOINED);
        long deadline = System.nanoTime() + Duration.ofSeconds(6).toNanos();
        while (!verifier.closed.isDone() && System.nanoTime() < deadline) {
          verifier.sendData(new byte[] {1});
          Thread.sleep(200);
        }
        assertThat(verifier.awaitClose().getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED);
        ServerMessage ended = null;
        for (ServerMessage m : verifier.received) {
          if (m.hasSessionEnded()) {
            ended = m;
          }
        }
        assertThat(ended).isNotNull();
        assertThat(ended.getSessionEnded().getReason()).isEqualTo(EndReason.LIFETIME_EXCEEDED);
      }
      TestRelay.await("bindings released", () -> link(home).bindingCount() == 0 && link(bridge).bindingCount() == 0);
    }
  }

  /** Two nodes claim the same new session at once: the smaller node id wins, the other hands over. */
  @org.junit.jupiter.api.RepeatedTest(3)
  void aHomeClaimRaceIsResolvedAndTheLoserHandsItsParticipantOver() throws Exception {
    raceAndHandOver(java.time.Clock.systemUTC(), java.time.Clock.systemUTC());
  }

  /**
   * The claim rule compares no clocks: with node "race-a"'s clock 5 s behind and "race-b"'s 5 s ahead
   * (the old rule, "earliest claim time wins", would make the node with the slow clock win every
   * race and evict settled sessions), races still go to the smaller node id, and a settled session
   * stays where it is when a node whose clock is seconds behind claims it late.
   */
  @Test
  void claimRacesAndLateClaimsAreDecidedWithoutWallClocks() throws Exception {
    java.time.Clock behind = java.time.Clock.offset(java.time.Clock.systemUTC(), Duration.ofSeconds(-5));
    java.time.Clock ahead = java.time.Clock.offset(java.time.Clock.systemUTC(), Duration.ofSeconds(5));
    // The node whose clock is ahead has the smaller id here: it must win anyway.
    raceAndHandOver(ahead, behind);
  }

  private static void raceAndHandOver(java.time.Clock clockA, java.time.Clock clockB) throws Exception {
    ClusterHooks slowClaims = new ClusterHooks() {
      @Override
      public long claimDelayMillis(String sessionId) {
        return 300; // both nodes hear "nobody home" before either claims: a forced race
      }
    };
    try (TestRelay ra = node(dir, "race-a", nats, x -> x.clock(clockA).clusterHooks(slowClaims));
        TestRelay rb = node(dir, "race-b", nats, x -> x.clock(clockB).clusterHooks(slowClaims))) {
      CreateSessionResponse s = rb.createSession();
      TestPeer prover = ra.join(s.getProverTicket());
      TestPeer verifier = rb.join(s.getVerifierTicket());
      try (prover; verifier) {
        prover.next(JOINED);
        verifier.next(JOINED);
        TestRelay.await("one claim lost", () -> link(ra).claimsLost() + link(rb).claimsLost() == 1);
        assertThat(link(rb).claimsLost()).as("race-b, the larger node id, yields").isEqualTo(1);
        TestRelay.await("exactly one home", () -> ra.server.hub().holds(s.getSessionId()) && !rb.server.hub().holds(s.getSessionId()));
        // Whoever was handed over learns that the peer is there; then frames flow both ways.
        for (int i = 1; i <= 20; i++) {
          prover.sendData(("p" + i).getBytes());
          verifier.sendData(("v" + i).getBytes());
        }
        for (int i = 1; i <= 20; i++) {
          assertThat(nextData(verifier).getPayload().toStringUtf8()).isEqualTo("p" + i);
          assertThat(nextData(prover).getPayload().toStringUtf8()).isEqualTo("v" + i);
        }
        // A late claim for the settled session, from the node whose clock is behind: refused, nothing moves.
        TestRelay.await("the home's claim settled", () -> link(ra).claims().get(s.getSessionId()).settled);
        long refusedBefore = link(ra).refusals(ClusterRefusal.CLAIM_LOST);
        try (TestRelay late = node(dir, "race-0-late", nats, x -> x.clock(clockB))) {
          Claims.Home h = link(late).claims().claim(s.getSessionId(),
              SessionKeys.of(sessionKeyOf(s.getVerifierTicket())));
          TestRelay.await("late claim heard and refused", () -> link(ra).refusals(ClusterRefusal.CLAIM_LOST) > refusedBefore);
          TestRelay.await("late claimer yields", () -> link(late).claims().get(s.getSessionId()) != h);
          assertThat(ra.server.hub().holds(s.getSessionId())).isTrue();
          prover.sendData("after the late claim".getBytes());
          assertThat(nextData(verifier).getPayload().toStringUtf8()).isEqualTo("after the late claim");
        }
      }
    }
  }

  /** The session key a ticket carries (the test reads its own ticket's payload, as any holder could). */
  static byte[] sessionKeyOf(String ticket) {
    String payload = new String(java.util.Base64.getUrlDecoder().decode(ticket.split("\\.")[1]), java.nio.charset.StandardCharsets.UTF_8);
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"sk\":\"([^\"]+)\"").matcher(payload);
    assertThat(m.find()).as("ticket carries a session key").isTrue();
    return java.util.Base64.getUrlDecoder().decode(m.group(1));
  }
}
