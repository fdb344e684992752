package dev.checkmate.relay;

import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.ACK;
import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.DATA;
import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.JOINED;
import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.PEER_JOINED;
import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.PEER_LEFT;
import static org.assertj.core.api.Assertions.assertThat;

import dev.checkmate.relay.proto.v1.CreateSessionResponse;
import dev.checkmate.relay.proto.v1.Joined;
import dev.checkmate.relay.proto.v1.ServerMessage;
import dev.checkmate.relay.testing.TestPeer;
import dev.checkmate.relay.testing.TestRelay;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Incarnations (relay.proto, Join.incarnation) against a real relay: the relay reports each role's
 * latest incarnation to the peer, forwards acks with the incarnation they name, and when a new
 * incarnation takes a role it discards the rendezvous frames of its predecessor and those held for
 * it — while a rejoin of the same incarnation (a resume) keeps them.
 */
class IncarnationTest {
  private static final long PROVER_A = 0x0A0A0A0A0A0A0A0AL;
  private static final long PROVER_B = 0x0B0B0B0B0B0B0B0BL;
  private static final long VERIFIER = 0x0C0C0C0C0C0C0C0CL;

  private TestRelay relay;

  @BeforeEach
  void start() throws Exception {
    relay = TestRelay.start();
  }

  @AfterEach
  void stop() throws Exception {
    relay.close();
  }

  private static String text(ServerMessage m) {
    return m.getData().getPayload().toStringUtf8();
  }

  /** The prover (incarnation A) sends while the verifier is away, then its stream dies. */
  private void proverLeavesFramesBehind(CreateSessionResponse s, String... frames) throws Exception {
    TestPeer a = relay.join(s.getProverTicket(), PROVER_A);
    a.next(JOINED);
    long bytes = 0;
    for (String f : frames) {
      a.sendData(f.getBytes());
      bytes += f.length();
    }
    long held = bytes;
    TestRelay.await("the frames held for the verifier", () -> relay.server.hub().rendezvousBytes() == held);
    a.cancel();
    TestRelay.await("the prover's slot is empty", () -> relay.server.hub().participantCount() == 0);
  }

  @Test
  void joinedPeerJoinedAndPeerLeftCarryTheIncarnationsAndAcksAreForwardedWithTheOneTheyName() throws Exception {
    CreateSessionResponse s = relay.createSession();
    try (TestPeer prover = relay.join(s.getProverTicket(), PROVER_A)) {
      Joined first = prover.next(JOINED).getJoined();
      assertThat(first.getPeerIncarnation()).as("no verifier yet").isZero();
      assertThat(first.getReplacedIncarnation()).isZero();
      TestPeer verifier = relay.join(s.getVerifierTicket(), VERIFIER);
      Joined second = verifier.next(JOINED).getJoined();
      assertThat(second.getPeerIncarnation()).isEqualTo(PROVER_A);
      assertThat(second.getReplacedIncarnation()).isZero();
      assertThat(prover.next(PEER_JOINED).getPeerJoined().getIncarnation()).isEqualTo(VERIFIER);

      verifier.sendAck(3, PROVER_A);
      ServerMessage ack = prover.next(ACK);
      assertThat(ack.getAck().getSeq()).isEqualTo(3);
      assertThat(ack.getAck().getIncarnation()).isEqualTo(PROVER_A);

      verifier.cancel();
      assertThat(prover.next(PEER_LEFT).getPeerLeft().getIncarnation()).isEqualTo(VERIFIER);
      // The same incarnation again is a resume: nothing replaced.
      try (TestPeer back = relay.join(s.getVerifierTicket(), VERIFIER)) {
        Joined resumed = back.next(JOINED).getJoined();
        assertThat(resumed.getReplacedIncarnation()).isZero();
        assertThat(resumed.getPeerIncarnation()).isEqualTo(PROVER_A);
        assertThat(prover.next(PEER_JOINED).getPeerJoined().getIncarnation()).isEqualTo(VERIFIER);
      }
    }
  }

  /**
   * The prover sends while the verifier is away and dies; the verifier comes back and sends while
   * no prover is there; a restarted prover joins with the same ticket. Neither side may get a frame
   * of the other's conversation with the dead prover: the predecessor's frames that waited for the
   * verifier, and the verifier's frames that waited for the predecessor, are discarded.
   */
  @Test
  void aNewIncarnationDiscardsTheRendezvousFramesOfItsPredecessorAndThoseHeldForIt() throws Exception {
    CreateSessionResponse s = relay.createSession();
    proverLeavesFramesBehind(s, "a1 for nobody yet", "a2 for nobody yet"); // then killed
    try (TestPeer verifier = relay.join(s.getVerifierTicket(), VERIFIER)) {
      Joined v = verifier.next(JOINED).getJoined();
      assertThat(v.getPeerPresent()).isFalse();
      assertThat(v.getPeerIncarnation()).as("the role's latest incarnation, though absent").isEqualTo(PROVER_A);
      verifier.sendData("v1 for the dead prover".getBytes());
      TestRelay.await("v1 held for the prover", () -> relay.server.hub().rendezvousBytes() == 34 + 22);

      try (TestPeer b = relay.join(s.getProverTicket(), PROVER_B)) {
        Joined joined = b.next(JOINED).getJoined();
        assertThat(joined.getReplacedIncarnation()).isEqualTo(PROVER_A);
        assertThat(joined.getPeerIncarnation()).isEqualTo(VERIFIER);
        assertThat(joined.getPeerPresent()).isTrue();
        assertThat(verifier.next(PEER_JOINED).getPeerJoined().getIncarnation()).isEqualTo(PROVER_B);
        assertThat(relay.server.hub().rendezvousBytes()).isZero();

        b.sendData("b1".getBytes());
        verifier.sendData("v2".getBytes());
        // The first frame each side gets is the new conversation's: nothing of the predecessor's.
        assertThat(text(verifier.next(DATA))).isEqualTo("b1");
        assertThat(text(b.next(DATA))).isEqualTo("v2");
        assertThat(b.received.poll(200, java.util.concurrent.TimeUnit.MILLISECONDS)).isNull();
      }
    }
  }

  @Test
  void aRejoinOfTheSameIncarnationKeepsTheRendezvousFramesBothWays() throws Exception {
    CreateSessionResponse s = relay.createSession();
    proverLeavesFramesBehind(s, "a1", "a2"); // its connection dropped; it will resume
    try (TestPeer verifier = relay.join(s.getVerifierTicket(), VERIFIER)) {
      verifier.next(JOINED);
      verifier.sendData("v1".getBytes());
      TestRelay.await("v1 held for the prover", () -> relay.server.hub().rendezvousBytes() == 6);
      try (TestPeer again = relay.join(s.getProverTicket(), PROVER_A)) {
        assertThat(again.next(JOINED).getJoined().getReplacedIncarnation()).isZero();
        assertThat(text(again.next(DATA))).isEqualTo("v1");
        assertThat(verifier.next(PEER_JOINED).getPeerJoined().getIncarnation()).isEqualTo(PROVER_A);
        assertThat(text(verifier.next(DATA))).isEqualTo("a1");
        assertThat(text(verifier.next(DATA))).isEqualTo("a2");
      }
    }
  }

  @Test
  void aClientWithoutAnIncarnationReportsNoneAndReplacesNothing() throws Exception {
    CreateSessionResponse s = relay.createSession();
    proverLeavesFramesBehind(s, "a1");
    try (TestPeer old = relay.join(s.getProverTicket())) {
      assertThat(old.next(JOINED).getJoined().getReplacedIncarnation()).isZero();
      try (TestPeer verifier = relay.join(s.getVerifierTicket(), VERIFIER)) {
        Joined v = verifier.next(JOINED).getJoined();
        assertThat(v.getPeerIncarnation()).as("the latest non-zero incarnation").isEqualTo(PROVER_A);
        assertThat(text(verifier.next(DATA, Duration.ofSeconds(5)))).isEqualTo("a1");
      }
    }
  }
}
