package dev.checkmate.relay.transport.http.websocket;

import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.JOINED;
import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.PEER_JOINED;
import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.SESSION_ENDED;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import dev.checkmate.relay.RelayConfig;
import dev.checkmate.relay.error.RelayError;
import dev.checkmate.relay.proto.v1.ClientMessage;
import dev.checkmate.relay.proto.v1.CreateSessionResponse;
import dev.checkmate.relay.proto.v1.EndReason;
import dev.checkmate.relay.proto.v1.Frame;
import dev.checkmate.relay.proto.v1.Role;
import dev.checkmate.relay.proto.v1.ServerMessage;
import dev.checkmate.relay.testing.TestPeer;
import dev.checkmate.relay.testing.TestRelay;
import dev.checkmate.relay.testing.WsPeer;
import dev.checkmate.relay.ticket.TicketIssuer;
import io.grpc.Status;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/** Every way a WebSocket is refused or ended has its own close code and a reason a person can act on. */
class WebSocketErrorsTest {

  private static TestRelay relay(UnaryOperator<RelayConfig.Builder> settings) throws Exception {
    return TestRelay.start(settings.apply(RelayConfig.builder().webSocketPort(0)));
  }

  @Test
  void aForgedTicketIsRefusedWith4401() throws Exception {
    try (TestRelay relay = relay(b -> b)) {
      String ticket = relay.createSession().getProverTicket();
      String forged = ticket.substring(0, ticket.length() - 4) + (ticket.endsWith("AAAA") ? "BBBB" : "AAAA");
      try (WsPeer p = WsPeer.join(relay.server.webSocketPort(), forged)) {
        WsPeer.Close close = p.awaitClose();
        assertThat(close.code()).isEqualTo(4401);
        assertThat(close.reason()).isNotBlank();
        assertThat(close.reason().getBytes(StandardCharsets.UTF_8).length).isLessThanOrEqualTo(123);
      }
    }
  }

  @Test
  void theFirstMessageMustBeAJoin() throws Exception {
    try (TestRelay relay = relay(b -> b);
         WsPeer p = WsPeer.connect(relay.server.webSocketPort(), null, null, true)) {
      p.sendData("too early".getBytes());
      WsPeer.Close close = p.awaitClose();
      assertThat(close.code()).isEqualTo(4400);
      assertThat(close.reason()).contains("must be a Join");
    }
  }

  @Test
  void bytesThatAreNotAClientMessageAreRefusedWith4400() throws Exception {
    try (TestRelay relay = relay(b -> b);
         WsPeer p = WsPeer.connect(relay.server.webSocketPort(), null, null, true)) {
      p.sendRaw(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff});
      assertThat(p.awaitClose().code()).isEqualTo(4400);
    }
  }

  @Test
  void textMessagesAreRefusedWith1003() throws Exception {
    try (TestRelay relay = relay(b -> b);
         WsPeer p = WsPeer.connect(relay.server.webSocketPort(), null, null, true)) {
      p.sendText("{\"join\":{}}");
      WsPeer.Close close = p.awaitClose();
      assertThat(close.code()).isEqualTo(1003);
      assertThat(close.reason()).contains("binary");
    }
  }

  @Test
  void aTextMessageAfterJoiningEndsTheSessionAsAProtocolError() throws Exception {
    try (TestRelay relay = relay(b -> b)) {
      CreateSessionResponse s = relay.createSession();
      try (TestPeer v = relay.join(s.getVerifierTicket()); WsPeer p = WsPeer.join(relay.server.webSocketPort(), s.getProverTicket())) {
        p.next(JOINED);
        v.next(JOINED);
        v.next(PEER_JOINED);
        p.sendText("hello");
        assertThat(p.awaitClose().code()).isEqualTo(1003);
        assertThat(v.next(SESSION_ENDED).getSessionEnded().getReason()).isEqualTo(EndReason.PROTOCOL_ERROR);
      }
    }
  }

  @Test
  void aQuerySessionThatDoesNotMatchTheTicketIsRefusedWith4400() throws Exception {
    try (TestRelay relay = relay(b -> b)) {
      CreateSessionResponse a = relay.createSession();
      CreateSessionResponse b = relay.createSession();
      try (WsPeer p = WsPeer.connect(relay.server.webSocketPort(), "session=" + b.getSessionId(), null, true)) {
        p.sendJoin(a.getProverTicket());
        WsPeer.Close close = p.awaitClose();
        assertThat(close.code()).isEqualTo(4400);
        assertThat(close.reason()).contains("?session=");
      }
    }
  }

  @Test
  void aSecondStreamForATakenRoleIsRefusedWith4409AndAReconnectReplacesTheOldOneWith4409() throws Exception {
    try (TestRelay relay = relay(b -> b)) {
      int port = relay.server.webSocketPort();
      CreateSessionResponse s = relay.createSession();
      TicketIssuer issuer = new TicketIssuer(relay.server.keys().signingKey().orElseThrow(), "checkmate-relay", Clock.systemUTC());
      String otherProverTicket = issuer.issue(s.getSessionId(), Role.PROVER, Instant.now().plusSeconds(60));
      try (WsPeer first = WsPeer.join(port, s.getProverTicket())) {
        first.next(JOINED);
        try (WsPeer intruder = WsPeer.join(port, otherProverTicket)) {
          WsPeer.Close close = intruder.awaitClose();
          assertThat(close.code()).isEqualTo(4409);
          assertThat(close.reason()).contains("prover").contains("already connected");
        }
        assertThat(first.closed).isNotDone();
        // The same ticket again is a reconnect: it takes over, the old socket is told why.
        try (WsPeer again = WsPeer.join(port, s.getProverTicket())) {
          again.next(JOINED);
          WsPeer.Close replaced = first.awaitClose();
          assertThat(replaced.code()).isEqualTo(4409);
          assertThat(replaced.reason()).contains("replaced");
        }
      }
    }
  }

  @Test
  void aTicketOfAnEndedSessionIsRefusedWith4410() throws Exception {
    try (TestRelay relay = relay(b -> b)) {
      CreateSessionResponse s = relay.createSession();
      try (WsPeer p = WsPeer.join(relay.server.webSocketPort(), s.getProverTicket())) {
        p.next(JOINED);
        p.terminate("bye");
        assertThat(p.awaitClose().code()).isEqualTo(1000);
      }
      try (WsPeer late = WsPeer.join(relay.server.webSocketPort(), s.getVerifierTicket())) {
        WsPeer.Close close = late.awaitClose();
        assertThat(close.code()).isEqualTo(4410);
        assertThat(close.reason()).contains("already ended");
      }
    }
  }

  @Test
  void noJoinInTimeIsRefusedWith4408() throws Exception {
    try (TestRelay relay = relay(b -> b.helloTimeout(Duration.ofMillis(200)));
         WsPeer p = WsPeer.connect(relay.server.webSocketPort(), null, null, true)) {
      WsPeer.Close close = p.awaitClose();
      assertThat(close.code()).isEqualTo(4408);
      assertThat(close.reason()).contains("no Join");
    }
  }

  @Test
  void aPeerThatNeverJoinsEndsTheSessionWith4408() throws Exception {
    try (TestRelay relay = relay(b -> b.joinDeadline(Duration.ofMillis(300)));
         WsPeer p = WsPeer.join(relay.server.webSocketPort(), relay.createSession().getProverTicket())) {
      p.next(JOINED);
      assertThat(p.next(SESSION_ENDED).getSessionEnded().getReason()).isEqualTo(EndReason.PEER_NEVER_JOINED);
      assertThat(p.awaitClose().code()).isEqualTo(4408);
    }
  }

  @Test
  void anOversizeFrameIsRefusedWith4413AndThePeerIsTold() throws Exception {
    try (TestRelay relay = relay(b -> b.maxFrameBytes(1024).rendezvousMaxBytes(4096))) {
      CreateSessionResponse s = relay.createSession();
      try (TestPeer v = relay.join(s.getVerifierTicket()); WsPeer p = WsPeer.join(relay.server.webSocketPort(), s.getProverTicket())) {
        v.next(JOINED);
        p.next(JOINED);
        v.next(PEER_JOINED);
        p.sendData(new byte[1025]);
        WsPeer.Close close = p.awaitClose();
        assertThat(close.code()).isEqualTo(4413);
        assertThat(close.reason()).contains("1024");
        ServerMessage ended = v.next(SESSION_ENDED);
        assertThat(ended.getSessionEnded().getReason()).isEqualTo(EndReason.LIMIT_EXCEEDED);
        assertThat(v.awaitClose().getCode()).isEqualTo(Status.Code.ABORTED);
      }
    }
  }

  @Test
  void aMessageFarAboveTheLimitIsCutOffWith1009() throws Exception {
    try (TestRelay relay = relay(b -> b.maxFrameBytes(1024).rendezvousMaxBytes(4096));
         WsPeer p = WsPeer.join(relay.server.webSocketPort(), relay.createSession().getProverTicket())) {
      p.next(JOINED);
      p.send(ClientMessage.newBuilder().setData(Frame.newBuilder().setSeq(1)
          .setPayload(ByteString.copyFrom(new byte[200_000]))).build());
      assertThat(p.awaitClose().code()).isEqualTo(1009);
      TestRelay.await("permit released", () -> relay.server.addressLimiter().trackedAddresses() == 0);
    }
  }

  @Test
  void sendingFasterThanTheFrameRateIsRefusedWith4429() throws Exception {
    try (TestRelay relay = relay(b -> b.maxFramesPerSecond(20))) {
      CreateSessionResponse s = relay.createSession();
      try (TestPeer v = relay.join(s.getVerifierTicket()); WsPeer p = WsPeer.join(relay.server.webSocketPort(), s.getProverTicket())) {
        p.next(JOINED);
        for (int i = 0; i < 100; i++) {
          p.sendData(new byte[] {1});
        }
        WsPeer.Close close = p.awaitClose();
        assertThat(close.code()).isEqualTo(4429);
        assertThat(close.reason()).contains("frames per second");
      }
    }
  }

  @Test
  void tooManyStreamsFromOneAddressAreRefusedWith4429AndTheLimitIsSharedWithGrpc() throws Exception {
    try (TestRelay relay = relay(b -> b.maxStreamsPerAddress(2))) {
      int port = relay.server.webSocketPort();
      List<AutoCloseable> open = new ArrayList<>();
      try {
        CreateSessionResponse s = relay.createSession();
        TestPeer grpc = relay.join(s.getProverTicket());
        open.add(grpc);
        WsPeer ws = WsPeer.join(port, s.getVerifierTicket());
        open.add(ws);
        grpc.next(JOINED);
        ws.next(JOINED);
        WsPeer third = WsPeer.connect(port, null, null, true);
        open.add(third);
        WsPeer.Close close = third.awaitClose();
        assertThat(close.code()).isEqualTo(4429);
        assertThat(close.reason()).contains("too many open streams");
      } finally {
        for (AutoCloseable c : open) {
          c.close();
        }
      }
      TestRelay.await("permits released", () -> relay.server.addressLimiter().trackedAddresses() == 0);
    }
  }

  @Test
  void anOriginThatIsNotAllowedIsRefusedWith4403() throws Exception {
    try (TestRelay relay = relay(b -> b.allowedOrigins(List.of("https://app.example.com")))) {
      int port = relay.server.webSocketPort();
      try (WsPeer evil = WsPeer.connect(port, null, "https://evil.example.net", true)) {
        WsPeer.Close close = evil.awaitClose();
        assertThat(close.code()).isEqualTo(4403);
        // At most 16 characters of what the client sent are echoed (SECURITY.md: no amplification).
        assertThat(close.reason()).contains("https://evil.exa...").doesNotContain("example.net").contains("--allowed-origin");
      }
      CreateSessionResponse s = relay.createSession();
      try (WsPeer good = WsPeer.connect(port, null, "https://app.example.com", true)) {
        good.sendJoin(s.getProverTicket());
        good.next(JOINED);
      }
      // Loopback pages are fine while the relay is bound to loopback (development).
      try (WsPeer dev = WsPeer.connect(port, null, "http://localhost:5173", true)) {
        dev.sendJoin(s.getVerifierTicket());
        dev.next(JOINED);
      }
    }
  }

  @Test
  void closeCodesFollowTheProtocolTable() {
    assertThat(CloseCodes.forStatus(Status.OK)).isEqualTo(1000);
    assertThat(CloseCodes.forStatus(Status.UNAVAILABLE)).isEqualTo(1012);
    assertThat(CloseCodes.forStatus(Status.DEADLINE_EXCEEDED)).isEqualTo(4408);
    assertThat(CloseCodes.forStatus(Status.ABORTED)).isEqualTo(4409);
    assertThat(CloseCodes.forStatus(Status.ALREADY_EXISTS)).isEqualTo(4409);
    assertThat(CloseCodes.forStatus(Status.FAILED_PRECONDITION)).isEqualTo(4410);
    assertThat(CloseCodes.forStatus(Status.UNAUTHENTICATED)).isEqualTo(4401);
    assertThat(CloseCodes.forStatus(Status.PERMISSION_DENIED)).isEqualTo(4403);
    assertThat(CloseCodes.forStatus(Status.INVALID_ARGUMENT)).isEqualTo(4400);
    assertThat(CloseCodes.forStatus(Status.RESOURCE_EXHAUSTED)).isEqualTo(4429);
    assertThat(CloseCodes.forStatus(Status.INTERNAL)).isEqualTo(1011);
    assertThat(CloseCodes.forStatus(RelayError.FRAME_TOO_LARGE.toStatus("x")
        .withCause(new dev.checkmate.relay.error.RelayException(RelayError.FRAME_TOO_LARGE, "x")))).isEqualTo(4413);
    String longReason = "é".repeat(200);
    assertThat(CloseCodes.reason(Status.INTERNAL.withDescription(longReason)).getBytes(StandardCharsets.UTF_8).length)
        .isLessThanOrEqualTo(123);
  }
}
