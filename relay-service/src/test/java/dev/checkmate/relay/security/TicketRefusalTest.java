package dev.checkmate.relay.security;

import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.JOINED;
import static org.assertj.core.api.Assertions.assertThat;

import dev.checkmate.relay.proto.v1.ClientMessage;
import dev.checkmate.relay.proto.v1.CreateSessionResponse;
import dev.checkmate.relay.proto.v1.Join;
import dev.checkmate.relay.proto.v1.Role;
import dev.checkmate.relay.testing.TestPeer;
import dev.checkmate.relay.testing.TestRelay;
import dev.checkmate.relay.ticket.KeyRing;
import dev.checkmate.relay.ticket.TicketIssuer;
import dev.checkmate.relay.ticket.TicketVerifier;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.stub.MetadataUtils;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Every ticket refusal has its own status and message: for another session (x-session-id), for
 * another role (Join.expected_role), reuse after the session ended; and what an unauthenticated
 * client gets back is short (no amplification).
 */
@Timeout(60)
class TicketRefusalTest {

  private static Status joinWith(TestRelay relay, String sessionHeader, String ticket, Role expected) throws Exception {
    io.grpc.Channel ch = relay.channel;
    if (sessionHeader != null) {
      Metadata md = new Metadata();
      md.put(CallerSecurity.X_SESSION_ID, sessionHeader);
      ch = io.grpc.ClientInterceptors.intercept(relay.channel, MetadataUtils.newAttachHeadersInterceptor(md));
    }
    try (TestPeer p = TestPeer.connect(ch, true)) {
      p.send(ClientMessage.newBuilder().setJoin(Join.newBuilder().setTicket(ticket).setExpectedRole(expected)).build());
      Status st = p.awaitClose();
      return st;
    }
  }

  @Test
  void aTicketForAnotherSessionThanTheRoutedOneIsRefused() throws Exception {
    try (TestRelay relay = TestRelay.start()) {
      CreateSessionResponse a = relay.createSession();
      CreateSessionResponse b = relay.createSession();
      Status st = joinWith(relay, b.getSessionId(), a.getProverTicket(), Role.ROLE_UNSPECIFIED);
      assertThat(st.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
      assertThat(st.getDescription()).contains("another session");
      assertThat(relay.server.hub().sessionCount()).isZero();
      // The matching header is fine.
      Metadata md = new Metadata();
      md.put(CallerSecurity.X_SESSION_ID, a.getSessionId());
      try (TestPeer ok = TestPeer.join(io.grpc.ClientInterceptors.intercept(relay.channel,
          MetadataUtils.newAttachHeadersInterceptor(md)), a.getProverTicket())) {
        ok.next(JOINED);
      }
    }
  }

  @Test
  void aTicketForAnotherRoleThanTheJoinExpectsIsRefused() throws Exception {
    try (TestRelay relay = TestRelay.start()) {
      CreateSessionResponse s = relay.createSession();
      Status st = joinWith(relay, null, s.getVerifierTicket(), Role.PROVER);
      assertThat(st.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
      assertThat(st.getDescription()).contains("ticket is for the verifier").contains("expects the prover");
      try (TestPeer ok = TestPeer.connect(relay.channel, true)) {
        ok.send(ClientMessage.newBuilder().setJoin(Join.newBuilder().setTicket(s.getVerifierTicket())
            .setExpectedRole(Role.VERIFIER)).build());
        assertThat(ok.next(JOINED).getJoined().getRole()).isEqualTo(Role.VERIFIER);
      }
    }
  }

  @Test
  void aTicketOfAnEndedSessionIsRefusedWithFailedPrecondition() throws Exception {
    try (TestRelay relay = TestRelay.start()) {
      CreateSessionResponse s = relay.createSession();
      try (TestPeer p = relay.join(s.getProverTicket())) {
        p.next(JOINED);
        p.terminate("done");
        p.awaitClose();
      }
      Status st = joinWith(relay, null, s.getVerifierTicket(), Role.ROLE_UNSPECIFIED);
      assertThat(st.getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
      assertThat(st.getDescription()).contains("already ended");
    }
  }

  /** Descriptions of every refusal an unauthenticated client can provoke stay short. */
  @Test
  void preAuthenticationRefusalsAreShort() throws Exception {
    try (TestRelay relay = TestRelay.start(dev.checkmate.relay.RelayConfig.builder().helloTimeout(Duration.ofMillis(300)))) {
      CreateSessionResponse s = relay.createSession();
      KeyRing.SigningKey key = relay.server.keys().signingKey().orElseThrow();
      Clock clock = Clock.systemUTC();
      List<String> tickets = new ArrayList<>(List.of(
          "", "x", "a.b.c", "a".repeat(5000), "....",
          s.getProverTicket().substring(0, s.getProverTicket().length() - 3) + "AAA",
          new TicketIssuer(KeyRing.ephemeral().signingKey().orElseThrow(), "checkmate-relay", clock)
              .issue(s.getSessionId(), Role.PROVER, Instant.now().plusSeconds(60)),
          new TicketIssuer(key, "other-relay", clock).issue(s.getSessionId(), Role.PROVER, Instant.now().plusSeconds(60)),
          new TicketIssuer(key, "checkmate-relay", Clock.offset(clock, Duration.ofMinutes(-10)))
              .issue(s.getSessionId(), Role.PROVER, Instant.now().minusSeconds(120)),
          new TicketIssuer(key, "checkmate-relay", Clock.offset(clock, Duration.ofMinutes(10)))
              .issue(s.getSessionId(), Role.PROVER, Instant.now().plusSeconds(3600))));
      for (String t : tickets) {
        Status st = joinWith(relay, null, t, Role.ROLE_UNSPECIFIED);
        assertThat(st.getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
        assertThat(st.getDescription().getBytes(java.nio.charset.StandardCharsets.UTF_8).length)
            .as("description of refusal for %.20s: %s", t, st.getDescription()).isLessThanOrEqualTo(80);
      }
      // Direct: an unknown key id echoes at most 16 characters of it.
      TicketVerifier v = new TicketVerifier(relay.server.keys(), "checkmate-relay", Duration.ofSeconds(30), clock);
      String header = java.util.Base64.getUrlEncoder().withoutPadding()
          .encodeToString(("{\"alg\":\"EdDSA\",\"kid\":\"" + "k".repeat(3000) + "\"}").getBytes());
      try {
        v.verify(header + ".e30.AAAA");
      } catch (dev.checkmate.relay.error.RelayException e) {
        assertThat(e.getMessage().length()).isLessThanOrEqualTo(80);
      }
      // A stream that never joins gets a short deadline status.
      try (TestPeer silent = TestPeer.connect(relay.channel, true)) {
        Status st = silent.awaitClose();
        assertThat(st.getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED);
        assertThat(st.getDescription().length()).isLessThanOrEqualTo(80);
      }
    }
  }
}
