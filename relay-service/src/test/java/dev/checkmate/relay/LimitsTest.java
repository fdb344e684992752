package dev.checkmate.relay;

import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.DATA;
import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.JOINED;
import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.SESSION_ENDED;
import static org.assertj.core.api.Assertions.assertThat;

import dev.checkmate.relay.error.RelayError;
import dev.checkmate.relay.error.RelayException;
import dev.checkmate.relay.proto.v1.ClientMessage;
import dev.checkmate.relay.proto.v1.CreateSessionResponse;
import dev.checkmate.relay.proto.v1.EndReason;
import dev.checkmate.relay.proto.v1.Join;
import dev.checkmate.relay.proto.v1.Role;
import dev.checkmate.relay.proto.v1.ServerMessage;
import dev.checkmate.relay.testing.TestPeer;
import dev.checkmate.relay.testing.TestRelay;
import dev.checkmate.relay.ticket.IssuerPolicy;
import io.grpc.Status;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Size, rate and stream limits: each violation has its own status and harms no other session. */
class LimitsTest {

  @Test
  void anOversizeFrameEndsOnlyItsOwnSessionWithResourceExhausted() throws Exception {
    try (TestRelay relay = TestRelay.start(RelayConfig.builder().maxFrameBytes(1024).rendezvousMaxBytes(4096))) {
      CreateSessionResponse bad = relay.createSession();
      CreateSessionResponse good = relay.createSession();
      try (TestPeer p = relay.join(bad.getProverTicket()); TestPeer v = relay.join(bad.getVerifierTicket());
           TestPeer gp = relay.join(good.getProverTicket()); TestPeer gv = relay.join(good.getVerifierTicket())) {
        p.next(JOINED);
        v.next(JOINED);
        gv.next(JOINED);
        p.sendData(new byte[1025]);
        Status status = p.awaitClose();
        assertThat(status.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
        assertThat(status.getDescription()).contains("1025 bytes exceeds the limit of 1024");
        ServerMessage ended = v.next(SESSION_ENDED);
        assertThat(ended.getSessionEnded().getReason()).isEqualTo(EndReason.LIMIT_EXCEEDED);
        assertThat(ended.getSessionEnded().getEndedBy()).isEqualTo(Role.PROVER);
        assertThat(v.awaitClose().getCode()).isEqualTo(Status.Code.ABORTED);
        // The other session is untouched.
        gp.sendData(new byte[1024]);
        assertThat(gv.next(DATA).getData().getPayload().size()).isEqualTo(1024);
        assertThat(relay.server.hub().stats().rejections(RelayError.FRAME_TOO_LARGE)).isEqualTo(1);
      }
    }
  }

  @Test
  void aFrameFarAboveTheLimitIsResetByTheTransportWithoutHarmingTheRelay() throws Exception {
    try (TestRelay relay = TestRelay.start(RelayConfig.builder().maxFrameBytes(1024).rendezvousMaxBytes(4096))) {
      CreateSessionResponse s = relay.createSession();
      try (TestPeer p = relay.join(s.getProverTicket()); TestPeer v = relay.join(s.getVerifierTicket())) {
        p.next(JOINED);
        v.next(JOINED);
        // 64 KiB is past the transport's cap (max(4 x 1 KiB, 1 KiB + 64 KiB) = 66560 B is not: use more).
        p.sendData(new byte[128 * 1024]);
        assertThat(p.awaitClose().getCode()).isIn(Status.Code.RESOURCE_EXHAUSTED, Status.Code.CANCELLED);
        v.next(dev.checkmate.relay.proto.v1.ServerMessage.KindCase.PEER_LEFT);
      }
      TestRelay.await("slot freed", () -> relay.server.hub().participantCount() == 0);
      CreateSessionResponse fresh = relay.createSession();
      try (TestPeer p = relay.join(fresh.getProverTicket())) {
        p.next(JOINED);
      }
    }
  }

  @Test
  void reconnectingWithTheSameTicketDoesNotRefillTheRateBudget() throws Exception {
    try (TestRelay relay = TestRelay.start(RelayConfig.builder().maxFramesPerSecond(40))) {
      CreateSessionResponse s = relay.createSession();
      try (TestPeer v = relay.join(s.getVerifierTicket())) {
        v.next(JOINED);
        TestPeer first = relay.join(s.getProverTicket());
        first.next(JOINED);
        v.next(dev.checkmate.relay.proto.v1.ServerMessage.KindCase.PEER_JOINED);
        for (int i = 0; i < 38; i++) { // almost all of the one-second burst of 40
          first.sendData(new byte[] {1});
        }
        v.next(DATA); // they are being relayed
        // A fresh stream with the same ticket replaces the first: the budget is the ticket's.
        TestPeer second = relay.join(s.getProverTicket());
        second.next(JOINED);
        assertThat(first.awaitClose().getCode()).isEqualTo(Status.Code.ABORTED);
        for (int i = 0; i < 38; i++) {
          second.sendData(new byte[] {2});
        }
        Status st = second.awaitClose();
        assertThat(st.getCode()).as("a refilled budget would have let 38 more frames through").isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
        assertThat(st.getDescription()).contains("frames per second");
      }
    }
  }

  @Test
  void sendingFasterThanTheFrameRateEndsTheSessionWithResourceExhausted() throws Exception {
    try (TestRelay relay = TestRelay.start(RelayConfig.builder().maxFramesPerSecond(50))) {
      CreateSessionResponse s = relay.createSession();
      try (TestPeer p = relay.join(s.getProverTicket()); TestPeer v = relay.join(s.getVerifierTicket())) {
        p.next(JOINED);
        v.next(JOINED);
        for (int i = 0; i < 200 && !p.closed.isDone(); i++) {
          p.sendData(new byte[] {1});
        }
        Status status = p.awaitClose();
        assertThat(status.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
        assertThat(status.getDescription()).contains("more than 50 frames per second");
        assertThat(relay.server.hub().stats().rejections(RelayError.RATE_LIMITED)).isEqualTo(1);
      }
    }
  }

  @Test
  void sendingMoreBytesPerSecondThanAllowedIsRefused() throws Exception {
    try (TestRelay relay = TestRelay.start(RelayConfig.builder().maxFrameBytes(16 * 1024).maxBytesPerSecond(64 * 1024))) {
      CreateSessionResponse s = relay.createSession();
      try (TestPeer p = relay.join(s.getProverTicket()); TestPeer v = relay.join(s.getVerifierTicket())) {
        p.next(JOINED);
        v.next(JOINED);
        for (int i = 0; i < 20 && !p.closed.isDone(); i++) {
          p.sendData(new byte[16 * 1024]);
        }
        Status status = p.awaitClose();
        assertThat(status.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
        assertThat(status.getDescription()).contains("payload bytes per second");
      }
    }
  }

  @Test
  void tooManyStreamsFromOneAddressAreRefusedAndCountsAreReleased() throws Exception {
    try (TestRelay relay = TestRelay.start(RelayConfig.builder().maxStreamsPerAddress(3))) {
      List<TestPeer> peers = new ArrayList<>();
      List<CreateSessionResponse> sessions = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        CreateSessionResponse s = relay.createSession();
        sessions.add(s);
        TestPeer peer = relay.join(s.getProverTicket());
        peer.next(JOINED);
        peers.add(peer);
      }
      CreateSessionResponse extra = relay.createSession();
      try (TestPeer fourth = relay.join(extra.getProverTicket())) {
        Status status = fourth.awaitClose();
        assertThat(status.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
        assertThat(status.getDescription()).contains("too many open streams").contains("limit 3");
      }
      peers.get(0).cancel();
      TestRelay.await("one permit back", () -> relay.server.hub().participantCount() == 2);
      try (TestPeer again = relay.join(extra.getProverTicket())) {
        again.next(JOINED);
      }
      peers.forEach(TestPeer::close);
      TestRelay.await("permits released", () -> relay.server.addressLimiter().trackedAddresses() == 0);
    }
  }

  @Test
  void aSecondJoinOnTheSameStreamIsAProtocolError() throws Exception {
    try (TestRelay relay = TestRelay.start()) {
      CreateSessionResponse s = relay.createSession();
      try (TestPeer p = relay.join(s.getProverTicket()); TestPeer v = relay.join(s.getVerifierTicket())) {
        p.next(JOINED);
        v.next(JOINED);
        p.send(ClientMessage.newBuilder().setJoin(Join.newBuilder().setTicket(s.getProverTicket())).build());
        Status status = p.awaitClose();
        assertThat(status.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
        assertThat(status.getDescription()).contains("Join only once");
        assertThat(v.next(SESSION_ENDED).getSessionEnded().getReason()).isEqualTo(EndReason.PROTOCOL_ERROR);
        p.close();
      }
      try (TestPeer empty = TestPeer.connect(relay.channel, true)) {
        empty.send(ClientMessage.getDefaultInstance());
        assertThat(empty.awaitClose().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
      }
    }
  }

  @Test
  void withoutIssuerKeysOnlyLoopbackCallersMayCreateSessions() throws Exception {
    IssuerPolicy open = new IssuerPolicy(List.of());
    open.authorize(InetAddress.getLoopbackAddress(), null);
    try {
      open.authorize(InetAddress.getByAddress(new byte[] {10, 1, 2, 3}), null);
      throw new AssertionError("remote caller allowed");
    } catch (RelayException e) {
      assertThat(e.error()).isEqualTo(RelayError.NOT_AUTHORIZED);
      assertThat(e.getMessage()).contains("loopback");
    }
  }
}
