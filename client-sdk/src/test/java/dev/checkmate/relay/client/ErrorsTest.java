package dev.checkmate.relay.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.checkmate.relay.proto.v1.SessionEnded;
import io.grpc.Status;
import org.junit.jupiter.api.Test;

class ErrorsTest {
  @Test
  void mapsEveryJoinRejectionToItsType() {
    assertThat(Errors.fromStatus(Status.UNAUTHENTICATED.withDescription("bad"), null))
        .isInstanceOf(TicketRejectedException.class)
        .satisfies(e -> assertThat(e.reason()).isEqualTo("bad"));
    assertThat(Errors.fromStatus(Status.ALREADY_EXISTS, null)).isInstanceOf(RoleTakenException.class);
    assertThat(Errors.fromStatus(Status.RESOURCE_EXHAUSTED, null))
        .isInstanceOf(LimitExceededException.class);
    assertThat(Errors.fromStatus(Status.PERMISSION_DENIED, null))
        .isInstanceOf(NotAuthorizedException.class);
    assertThat(Errors.fromStatus(Status.UNAVAILABLE, null))
        .isInstanceOf(RelayUnavailableException.class);
    assertThat(Errors.fromStatus(Status.FAILED_PRECONDITION.withDescription("session has ended"), null))
        .isInstanceOfSatisfying(SessionEndedException.class, e -> {
          assertThat(e.endReason()).isEqualTo(EndReason.UNKNOWN);
          assertThat(e.code()).isEqualTo(StatusCode.FAILED_PRECONDITION);
        });
    assertThat(Errors.fromStatus(Status.INVALID_ARGUMENT, null))
        .isExactlyInstanceOf(RelayException.class)
        .satisfies(e -> assertThat(e.code()).isEqualTo(StatusCode.INVALID_ARGUMENT));
  }

  @Test
  void sessionEndedWinsOverTheStatusAndKeepsWhoAndWhy() {
    SessionEnded ended = SessionEnded.newBuilder()
        .setReason(dev.checkmate.relay.proto.v1.EndReason.LIMIT_EXCEEDED)
        .setMessage("frame of 70000 bytes exceeds 65536")
        .setEndedBy(dev.checkmate.relay.proto.v1.Role.PROVER)
        .build();
    RelayException e = Errors.fromStatus(Status.RESOURCE_EXHAUSTED.withDescription("limit"), ended);
    assertThat(e).isInstanceOfSatisfying(SessionEndedException.class, s -> {
      assertThat(s.endReason()).isEqualTo(EndReason.LIMIT_EXCEEDED);
      assertThat(s.endedBy()).isEqualTo(Role.PROVER);
      assertThat(s.reason()).isEqualTo("frame of 70000 bytes exceeds 65536");
      assertThat(s.code()).isEqualTo(StatusCode.RESOURCE_EXHAUSTED);
    });
  }

  @Test
  void timersHaveNoEndedBy() {
    SessionEnded ended = SessionEnded.newBuilder()
        .setReason(dev.checkmate.relay.proto.v1.EndReason.IDLE_TIMEOUT)
        .build();
    SessionEndedException e =
        (SessionEndedException) Errors.fromStatus(Status.DEADLINE_EXCEEDED.withDescription("idle"), ended);
    assertThat(e.endedBy()).isNull();
    assertThat(e.reason()).isEqualTo("idle");
  }

  @Test
  void terminateReasonIsCutToTheRelayLimitOnACharacterBoundary() {
    assertThat(Outbound.truncate("done")).isEqualTo("done");
    assertThat(Outbound.truncate(null)).isEmpty();
    String euros = "€".repeat(100); // 3 bytes each
    assertThat(Outbound.truncate(euros)).hasSize(85);
    String emoji = "a" + "\uD83D\uDE00".repeat(100); // 1 + 4 bytes each
    String cut = Outbound.truncate(emoji);
    assertThat(cut.getBytes(java.nio.charset.StandardCharsets.UTF_8).length).isLessThanOrEqualTo(256);
    assertThat(Character.isHighSurrogate(cut.charAt(cut.length() - 1))).isFalse();
  }
}
