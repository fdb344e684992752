package dev.checkmate.relay;

import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.DATA;
import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.JOINED;
import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.PEER_JOINED;
import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.PEER_LEFT;
import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.SESSION_ENDED;
import static org.assertj.core.api.Assertions.assertThat;

import dev.checkmate.relay.error.RelayError;
import dev.checkmate.relay.proto.v1.CreateSessionResponse;
import dev.checkmate.relay.proto.v1.EndReason;
import dev.checkmate.relay.proto.v1.Role;
import dev.checkmate.relay.proto.v1.ServerMessage;
import dev.checkmate.relay.proto.v1.TerminateSessionRequest;
import dev.checkmate.relay.proto.v1.RelayServiceGrpc;
import dev.checkmate.relay.testing.TestPeer;
import dev.checkmate.relay.testing.RelayExtension;
import dev.checkmate.relay.testing.TestRelay;
import dev.checkmate.relay.ticket.TicketIssuer;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.util.Base64;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Pairing, frame exchange, rendezvous, roles and terminate against a real relay on loopback. */
class PairingTest {
  @RegisterExtension
  final RelayExtension relay = new RelayExtension();

  @Test
  void createSessionReturnsRandomIdTicketsExpiryAndEndpoints() {
    CreateSessionResponse a = relay.createSession();
    CreateSessionResponse b = relay.createSession();
    assertThat(Base64.getUrlDecoder().decode(a.getSessionId())).hasSizeGreaterThanOrEqualTo(16);
    assertThat(a.getSessionId()).isNotEqualTo(b.getSessionId());
    assertThat(a.getProverTicket()).isNotEqualTo(a.getVerifierTicket());
    assertThat(a.getExpiresAt().getSeconds()).isGreaterThan(Instant.now().getEpochSecond());
    assertThat(a.getEndpointsList()).containsExactly("127.0.0.1:" + relay.server().grpcPort());
    assertThat(a.getLimits().getMaxFrameBytes()).isEqualTo(65536);
    String header = new String(Base64.getUrlDecoder().decode(a.getProverTicket().split("\\.")[0]), StandardCharsets.UTF_8);
    assertThat(header).contains("\"alg\":\"EdDSA\"").contains("\"kid\"");
  }

  @Test
  void pairsAndRelaysFramesBothWaysInOrderWithSequenceNumbers() throws Exception {
    CreateSessionResponse s = relay.createSession();
    try (TestPeer prover = relay.join(s.getProverTicket())) {
      ServerMessage joined = prover.next(JOINED);
      assertThat(joined.getJoined().getRole()).isEqualTo(Role.PROVER);
      assertThat(joined.getJoined().getPeerPresent()).isFalse();
      assertThat(joined.getJoined().getSessionId()).isEqualTo(s.getSessionId());
      try (TestPeer verifier = relay.join(s.getVerifierTicket())) {
        assertThat(verifier.next(JOINED).getJoined().getPeerPresent()).isTrue();
        assertThat(prover.next(PEER_JOINED).getPeerJoined().getRole()).isEqualTo(Role.VERIFIER);
        for (int i = 0; i < 100; i++) {
          prover.sendData(("p" + i).getBytes());
          verifier.sendData(("v" + i).getBytes());
        }
        for (int i = 0; i < 100; i++) {
          ServerMessage atVerifier = verifier.next(DATA);
          assertThat(atVerifier.getData().getSeq()).isEqualTo(i + 1);
          assertThat(atVerifier.getData().getPayload().toStringUtf8()).isEqualTo("p" + i);
          ServerMessage atProver = prover.next(DATA);
          assertThat(atProver.getData().getPayload().toStringUtf8()).isEqualTo("v" + i);
        }
        assertThat(relay.server().hub().sessionCount()).isEqualTo(1);
      }
    }
  }

  @Test
  void framesSentBeforeThePeerArrivesWaitInTheRendezvousBufferInOrder() throws Exception {
    CreateSessionResponse s = relay.createSession();
    try (TestPeer verifier = relay.join(s.getVerifierTicket())) {
      verifier.next(JOINED);
      for (int i = 1; i <= 10; i++) {
        verifier.sendData(("early" + i).getBytes());
      }
      TestRelay.await("10 frames buffered", () -> relay.server().hub().rendezvousBytes() == 10 * 6 + 1);
      try (TestPeer prover = relay.join(s.getProverTicket())) {
        prover.next(JOINED);
        for (int i = 1; i <= 10; i++) {
          ServerMessage m = prover.next(DATA);
          assertThat(m.getData().getSeq()).isEqualTo(i);
          assertThat(m.getData().getPayload().toStringUtf8()).isEqualTo("early" + i);
        }
        verifier.sendData("late".getBytes());
        assertThat(prover.next(DATA).getData().getPayload().toStringUtf8()).isEqualTo("late");
        assertThat(relay.server().hub().rendezvousBytes()).isZero();
      }
    }
  }

  @Test
  void aSecondStreamForATakenRoleIsRefusedWithAlreadyExists() throws Exception {
    CreateSessionResponse s = relay.createSession();
    TicketIssuer otherTicketSameRole = new TicketIssuer(relay.server().keys().signingKey().orElseThrow(), "checkmate-relay", Clock.systemUTC());
    String second = otherTicketSameRole.issue(s.getSessionId(), Role.PROVER, Instant.now().plusSeconds(60));
    try (TestPeer first = relay.join(s.getProverTicket()); TestPeer intruder = relay.join(second)) {
      first.next(JOINED);
      Status status = intruder.awaitClose();
      assertThat(status.getCode()).isEqualTo(Status.Code.ALREADY_EXISTS);
      assertThat(status.getDescription()).contains("prover").contains("already connected");
      assertThat(relay.server().hub().stats().rejections(RelayError.ROLE_TAKEN)).isEqualTo(1);
      assertThat(first.closed).isNotDone();
    }
  }

  @Test
  void aReconnectWithTheSameTicketReplacesTheOldStream() throws Exception {
    CreateSessionResponse s = relay.createSession();
    try (TestPeer verifier = relay.join(s.getVerifierTicket()); TestPeer prover = relay.join(s.getProverTicket())) {
      verifier.next(JOINED);
      prover.next(JOINED);
      verifier.next(PEER_JOINED);
      try (TestPeer prover2 = relay.join(s.getProverTicket())) {
        assertThat(prover2.next(JOINED).getJoined().getPeerPresent()).isTrue();
        Status old = prover.awaitClose();
        assertThat(old.getCode()).isEqualTo(Status.Code.ABORTED);
        assertThat(old.getDescription()).contains("replaced");
        verifier.next(PEER_JOINED);
        prover2.sendData("after reconnect".getBytes());
        assertThat(verifier.next(DATA).getData().getPayload().toStringUtf8()).isEqualTo("after reconnect");
        verifier.sendData("back".getBytes());
        assertThat(prover2.next(DATA).getData().getPayload().toStringUtf8()).isEqualTo("back");
      }
    }
  }

  @Test
  void aPeerThatDropsIsReportedAndMayRejoinWithItsTicket() throws Exception {
    CreateSessionResponse s = relay.createSession();
    try (TestPeer verifier = relay.join(s.getVerifierTicket())) {
      verifier.next(JOINED);
      TestPeer prover = relay.join(s.getProverTicket());
      prover.next(JOINED);
      verifier.next(PEER_JOINED);
      prover.cancel();
      ServerMessage left = verifier.next(PEER_LEFT);
      assertThat(left.getPeerLeft().getRole()).isEqualTo(Role.PROVER);
      assertThat(left.getPeerLeft().getReconnecting()).as("role reserved: peer reconnecting").isTrue();
      verifier.sendData("while away".getBytes());
      try (TestPeer again = relay.join(s.getProverTicket())) {
        again.next(JOINED);
        assertThat(again.next(DATA).getData().getPayload().toStringUtf8()).isEqualTo("while away");
      }
    }
  }

  @Test
  void terminateEndsBothStreamsWithTheReasonAndReleasesEverything() throws Exception {
    CreateSessionResponse s = relay.createSession();
    TestPeer prover = relay.join(s.getProverTicket());
    TestPeer verifier = relay.join(s.getVerifierTicket());
    prover.next(JOINED);
    verifier.next(JOINED);
    prover.next(PEER_JOINED);
    verifier.terminate("proof complete");
    ServerMessage ended = prover.next(SESSION_ENDED);
    assertThat(ended.getSessionEnded().getReason()).isEqualTo(EndReason.TERMINATED);
    assertThat(ended.getSessionEnded().getMessage()).isEqualTo("proof complete");
    assertThat(ended.getSessionEnded().getEndedBy()).isEqualTo(Role.VERIFIER);
    assertThat(verifier.next(SESSION_ENDED).getSessionEnded().getReason()).isEqualTo(EndReason.TERMINATED);
    assertThat(prover.awaitClose().getCode()).isEqualTo(Status.Code.OK);
    assertThat(verifier.awaitClose().getCode()).isEqualTo(Status.Code.OK);
    TestRelay.await("hub empty", () -> relay.server().hub().sessionCount() == 0
        && relay.server().hub().participantCount() == 0 && relay.server().addressLimiter().trackedAddresses() == 0);
    assertThat(relay.server().hub().rendezvousBytes()).isZero();

    // Tickets of an ended session are dead.
    try (TestPeer late = relay.join(s.getProverTicket())) {
      Status status = late.awaitClose();
      assertThat(status.getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
      assertThat(status.getDescription()).contains("already ended");
    }
    assertThat(relay.server().hub().sessionCount()).isZero();
  }

  @Test
  void terminateSessionRpcEndsTheSessionFromOutsideTheStream() throws Exception {
    CreateSessionResponse s = relay.createSession();
    try (TestPeer prover = relay.join(s.getProverTicket())) {
      prover.next(JOINED);
      var stub = RelayServiceGrpc.newBlockingStub(relay.channel());
      assertThat(stub.terminateSession(TerminateSessionRequest.newBuilder()
          .setTicket(s.getVerifierTicket()).setReason("verifier gave up").build()).getTerminated()).isTrue();
      ServerMessage ended = prover.next(SESSION_ENDED);
      assertThat(ended.getSessionEnded().getMessage()).isEqualTo("verifier gave up");
      assertThat(ended.getSessionEnded().getEndedBy()).isEqualTo(Role.VERIFIER);
      assertThat(prover.awaitClose().isOk()).isTrue();
      assertThat(stub.terminateSession(TerminateSessionRequest.newBuilder()
          .setTicket(s.getVerifierTicket()).build()).getTerminated()).isFalse();
    }
  }

  @Test
  void halfClosingWithoutTerminateCountsAsLeaving() throws Exception {
    CreateSessionResponse s = relay.createSession();
    try (TestPeer prover = relay.join(s.getProverTicket()); TestPeer verifier = relay.join(s.getVerifierTicket())) {
      prover.next(JOINED);
      verifier.next(JOINED);
      prover.next(PEER_JOINED);
      verifier.halfClose();
      assertThat(verifier.awaitClose().isOk()).isTrue();
      assertThat(prover.next(PEER_LEFT).getPeerLeft().getDetail()).contains("closed its stream");
    }
  }

  @Test
  void joinDoesNotTakeFramesFromOtherSessions() throws Exception {
    CreateSessionResponse one = relay.createSession();
    CreateSessionResponse two = relay.createSession();
    try (TestPeer p1 = relay.join(one.getProverTicket()); TestPeer v1 = relay.join(one.getVerifierTicket());
         TestPeer p2 = relay.join(two.getProverTicket()); TestPeer v2 = relay.join(two.getVerifierTicket())) {
      v1.next(JOINED);
      v2.next(JOINED);
      p1.sendData("one".getBytes());
      p2.sendData("two".getBytes());
      assertThat(v1.next(DATA).getData().getPayload().toStringUtf8()).isEqualTo("one");
      assertThat(v2.next(DATA).getData().getPayload().toStringUtf8()).isEqualTo("two");
    }
  }

  static StatusRuntimeException expectStatus(Runnable r) {
    try {
      r.run();
    } catch (StatusRuntimeException e) {
      return e;
    }
    throw new AssertionError("expected a gRPC error");
  }
}
