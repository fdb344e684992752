package dev.checkmate.relay;

import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.JOINED;
import static org.assertj.core.api.Assertions.assertThat;

import dev.checkmate.relay.error.RelayError;
import dev.checkmate.relay.proto.v1.CreateSessionRequest;
import dev.checkmate.relay.proto.v1.CreateSessionResponse;
import dev.checkmate.relay.proto.v1.RelayServiceGrpc;
import dev.checkmate.relay.proto.v1.Role;
import dev.checkmate.relay.testing.TestPeer;
import dev.checkmate.relay.testing.TestRelay;
import dev.checkmate.relay.ticket.KeyRing;
import dev.checkmate.relay.ticket.TicketIssuer;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.MetadataUtils;
import io.jsonwebtoken.security.Jwks;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Ticket verification, key rotation and who may create sessions. */
class TicketTest {
  @TempDir
  Path dir;

  private static Status joinStatus(TestRelay relay, String ticket) throws Exception {
    try (TestPeer peer = relay.join(ticket)) {
      return peer.awaitClose();
    }
  }

  @Test
  void forgedExpiredPrematureUnknownKeyAndWrongAudienceTicketsAreRefusedEachWithItsReason() throws Exception {
    try (TestRelay relay = TestRelay.start()) {
      CreateSessionResponse s = relay.createSession();
      KeyRing.SigningKey key = relay.server.keys().signingKey().orElseThrow();
      Clock clock = Clock.systemUTC();

      // Tampered payload (role switched) keeps the old signature.
      String[] parts = s.getProverTicket().split("\\.");
      String payload = new String(Base64.getUrlDecoder().decode(parts[1]), StandardCharsets.UTF_8).replace("\"prover\"", "\"verifier\"");
      String forged = parts[0] + "." + Base64.getUrlEncoder().withoutPadding().encodeToString(payload.getBytes(StandardCharsets.UTF_8)) + "." + parts[2];
      Status status = joinStatus(relay, forged);
      assertThat(status.getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
      assertThat(status.getDescription()).contains("signature");

      status = joinStatus(relay, new TicketIssuer(key, "checkmate-relay", Clock.offset(clock, Duration.ofMinutes(-10)))
          .issue(s.getSessionId(), Role.PROVER, Instant.now().minusSeconds(120)));
      assertThat(status.getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
      assertThat(status.getDescription()).contains("expired");

      status = joinStatus(relay, new TicketIssuer(key, "checkmate-relay", Clock.offset(clock, Duration.ofMinutes(10)))
          .issue(s.getSessionId(), Role.PROVER, Instant.now().plusSeconds(3600)));
      assertThat(status.getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
      assertThat(status.getDescription()).contains("not valid before");

      KeyRing stranger = KeyRing.ephemeral();
      status = joinStatus(relay, new TicketIssuer(stranger.signingKey().orElseThrow(), "checkmate-relay", clock)
          .issue(s.getSessionId(), Role.PROVER, Instant.now().plusSeconds(60)));
      assertThat(status.getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
      assertThat(status.getDescription()).contains("unknown key id");

      status = joinStatus(relay, new TicketIssuer(key, "another-relay", clock)
          .issue(s.getSessionId(), Role.PROVER, Instant.now().plusSeconds(60)));
      assertThat(status.getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
      assertThat(status.getDescription()).contains("aud");

      status = joinStatus(relay, "not-a-ticket");
      assertThat(status.getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
      status = joinStatus(relay, "");
      assertThat(status.getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
      assertThat(status.getDescription()).contains("missing");

      var stats = relay.server.hub().stats();
      assertThat(stats.rejections(RelayError.BAD_TICKET)).isEqualTo(4);
      assertThat(stats.rejections(RelayError.EXPIRED_TICKET)).isEqualTo(1);
      assertThat(stats.rejections(RelayError.PREMATURE_TICKET)).isEqualTo(1);
      assertThat(stats.rejections(RelayError.UNKNOWN_KEY)).isEqualTo(1);
      // None of that allocated a session.
      assertThat(relay.server.hub().sessionCount()).isZero();
    }
  }

  @Test
  void aVerifyOnlyNodeAcceptsTicketsFromEveryKeyInItsSetDuringRotation() throws Exception {
    var oldKey = KeyRing.generate();
    var newKey = KeyRing.generate();
    Path oldFile = dir.resolve("old.jwk");
    Path newFile = dir.resolve("new.jwk");
    Files.writeString(oldFile, Jwks.UNSAFE_JSON(oldKey));
    Files.writeString(newFile, Jwks.UNSAFE_JSON(newKey));
    Path set = dir.resolve("verify.jwks");
    Files.writeString(set, "{\"keys\":[" + Jwks.json(oldKey.toPublicJwk()) + "," + Jwks.json(newKey.toPublicJwk()) + "]}");

    try (TestRelay issuerOld = TestRelay.start(RelayConfig.builder().signingKey(oldFile));
         TestRelay issuerNew = TestRelay.start(RelayConfig.builder().signingKey(newFile));
         TestRelay verifyOnly = TestRelay.start(RelayConfig.builder().verifyKeys(set))) {
      assertThat(verifyOnly.server.keys().verificationKeyIds()).containsExactlyInAnyOrder(oldKey.getId(), newKey.getId());
      CreateSessionResponse a = issuerOld.createSession();
      CreateSessionResponse b = issuerNew.createSession();
      try (TestPeer p1 = verifyOnly.join(a.getProverTicket()); TestPeer p2 = verifyOnly.join(b.getVerifierTicket())) {
        assertThat(p1.next(JOINED).getJoined().getSessionId()).isEqualTo(a.getSessionId());
        assertThat(p2.next(JOINED).getJoined().getSessionId()).isEqualTo(b.getSessionId());
      }
      StatusRuntimeException e = PairingTest.expectStatus(verifyOnly::createSession);
      assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
      assertThat(e.getStatus().getDescription()).contains("only verifies");
    }
  }

  @Test
  void withIssuerKeysConfiguredOnlyHoldersMayCreateSessions() throws Exception {
    String key = "issuer-key-0123456789abcdef";
    try (TestRelay relay = TestRelay.start(RelayConfig.builder().issuerKeys(List.of(key)))) {
      StatusRuntimeException e = PairingTest.expectStatus(relay::createSession);
      assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
      assertThat(e.getStatus().getDescription()).contains("issuer API key");

      assertThat(create(relay, "wrong-key-0123456789abcdef").getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
      assertThat(create(relay, key).isOk()).isTrue();
    }
  }

  @Test
  void aSessionLifetimeAboveTheMaximumIsRefused() throws Exception {
    try (TestRelay relay = TestRelay.start(RelayConfig.builder().maxSessionTtl(Duration.ofMinutes(20)))) {
      StatusRuntimeException e = PairingTest.expectStatus(() -> relay.createSession(3600));
      assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
      assertThat(e.getStatus().getDescription()).contains("maximum of 1200 s");
    }
  }

  private static Status create(TestRelay relay, String bearer) {
    Metadata md = new Metadata();
    md.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + bearer);
    try {
      RelayServiceGrpc.newBlockingStub(relay.channel).withInterceptors(MetadataUtils.newAttachHeadersInterceptor(md))
          .createSession(CreateSessionRequest.getDefaultInstance());
      return Status.OK;
    } catch (StatusRuntimeException e) {
      return e.getStatus();
    }
  }
}
