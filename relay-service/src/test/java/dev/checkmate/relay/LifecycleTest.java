package dev.checkmate.relay;

import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.DATA;
import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.JOINED;
import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.SESSION_ENDED;
import static org.assertj.core.api.Assertions.assertThat;

import dev.checkmate.relay.proto.v1.ClientMessage;
import dev.checkmate.relay.proto.v1.CreateSessionResponse;
import dev.checkmate.relay.proto.v1.EndReason;
import dev.checkmate.relay.proto.v1.Heartbeat;
import dev.checkmate.relay.proto.v1.ServerMessage;
import dev.checkmate.relay.testing.TestPeer;
import dev.checkmate.relay.testing.TestRelay;
import io.grpc.Status;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Join deadline, idle timeout and lifetime, each enforced mid-session with its own status. */
class LifecycleTest {

  @Test
  void aPeerThatNeverJoinsEndsTheSessionAtTheJoinDeadline() throws Exception {
    try (TestRelay relay = TestRelay.start(RelayConfig.builder().joinDeadline(Duration.ofMillis(300)))) {
      CreateSessionResponse s = relay.createSession();
      try (TestPeer prover = relay.join(s.getProverTicket())) {
        prover.next(JOINED);
        ServerMessage ended = prover.next(SESSION_ENDED);
        assertThat(ended.getSessionEnded().getReason()).isEqualTo(EndReason.PEER_NEVER_JOINED);
        assertThat(ended.getSessionEnded().getMessage()).contains("verifier did not join");
        Status status = prover.awaitClose();
        assertThat(status.getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED);
        assertThat(status.getDescription()).contains("verifier did not join");
        TestRelay.await("hub empty", () -> relay.server.hub().sessionCount() == 0);
        assertThat(relay.server.hub().stats().outcomes(EndReason.PEER_NEVER_JOINED)).isEqualTo(1);
      }
    }
  }

  @Test
  void anIdlePairedSessionEndsAfterTheIdleTimeoutWhileHeartbeatsDoNotCount() throws Exception {
    try (TestRelay relay = TestRelay.start(RelayConfig.builder().idleTimeout(Duration.ofMillis(400)))) {
      CreateSessionResponse s = relay.createSession();
      try (TestPeer prover = relay.join(s.getProverTicket()); TestPeer verifier = relay.join(s.getVerifierTicket())) {
        prover.next(JOINED);
        verifier.next(JOINED);
        prover.sendData("x".getBytes());
        verifier.next(DATA);
        for (int i = 0; i < 8; i++) {
          prover.send(ClientMessage.newBuilder().setHeartbeat(Heartbeat.getDefaultInstance()).build());
          Thread.sleep(50);
        }
        ServerMessage ended = verifier.next(SESSION_ENDED);
        assertThat(ended.getSessionEnded().getReason()).isEqualTo(EndReason.IDLE_TIMEOUT);
        assertThat(verifier.awaitClose().getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED);
        Status status = prover.awaitClose();
        assertThat(status.getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED);
        assertThat(status.getDescription()).contains("no frame");
        // Heartbeats were answered.
        assertThat(prover.received.stream().filter(ServerMessage::hasHeartbeat).count()).isPositive();
      }
    }
  }

  @Test
  void frameTrafficKeepsASessionAlivePastTheIdleTimeout() throws Exception {
    try (TestRelay relay = TestRelay.start(RelayConfig.builder().idleTimeout(Duration.ofMillis(300)))) {
      CreateSessionResponse s = relay.createSession();
      try (TestPeer prover = relay.join(s.getProverTicket()); TestPeer verifier = relay.join(s.getVerifierTicket())) {
        prover.next(JOINED);
        verifier.next(JOINED);
        for (int i = 0; i < 10; i++) {
          prover.sendData(new byte[] {(byte) i});
          verifier.next(DATA);
          Thread.sleep(100);
        }
        assertThat(prover.closed).isNotDone();
      }
    }
  }

  @Test
  void theSessionEndsWhenItsLifetimeRunsOutEvenWhileBusy() throws Exception {
    try (TestRelay relay = TestRelay.start()) {
      CreateSessionResponse s = relay.createSession(1);
      try (TestPeer prover = relay.join(s.getProverTicket()); TestPeer verifier = relay.join(s.getVerifierTicket())) {
        prover.next(JOINED);
        verifier.next(JOINED);
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (!verifier.closed.isDone() && System.nanoTime() < deadline) {
          prover.sendData("tick".getBytes());
          Thread.sleep(50);
        }
        ServerMessage ended = verifier.received.stream().filter(ServerMessage::hasSessionEnded).findFirst().orElseThrow();
        assertThat(ended.getSessionEnded().getReason()).isEqualTo(EndReason.LIFETIME_EXCEEDED);
        assertThat(verifier.awaitClose().getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED);
        assertThat(verifier.awaitClose().getDescription()).contains("lifetime");
      }
    }
  }

  @Test
  void aStreamThatNeverSendsAJoinIsClosed() throws Exception {
    try (TestRelay relay = TestRelay.start(RelayConfig.builder().helloTimeout(Duration.ofMillis(200)))) {
      try (TestPeer silent = TestPeer.connect(relay.channel, true)) {
        silent.send(ClientMessage.newBuilder().setHeartbeat(Heartbeat.getDefaultInstance()).build());
        Status status = silent.awaitClose();
        // The heartbeat is not a Join: refused as malformed before the timer fires.
        assertThat(status.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
        assertThat(status.getDescription()).contains("first message");
      }
      try (TestPeer mute = TestPeer.connect(relay.channel, true)) {
        // Opened the stream, never sent a message: the hello timer closes it.
        Status status = mute.awaitClose();
        assertThat(status.getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED);
        assertThat(status.getDescription()).contains("no Join within");
      }
      TestRelay.await("streams released", () -> relay.server.addressLimiter().trackedAddresses() == 0);
    }
  }

  @Test
  void shutdownReportsNotServingThenDrainsAndTellsParticipantsToReconnect() throws Exception {
    TestRelay relay = TestRelay.start(RelayConfig.builder().preStopDelay(Duration.ofMillis(500)).drainTimeout(Duration.ofMillis(300)));
    CreateSessionResponse s = relay.createSession();
    TestPeer prover = relay.join(s.getProverTicket());
    TestPeer verifier = relay.join(s.getVerifierTicket());
    prover.next(JOINED);
    verifier.next(JOINED);
    var health = io.grpc.health.v1.HealthGrpc.newBlockingStub(relay.channel);
    var request = io.grpc.health.v1.HealthCheckRequest.newBuilder().setService(RelayServer.SERVICE_NAME).build();
    assertThat(health.check(request).getStatus()).isEqualTo(io.grpc.health.v1.HealthCheckResponse.ServingStatus.SERVING);
    Thread closer = new Thread(relay.server::close);
    closer.start();
    TestRelay.await("NOT_SERVING", () -> health.check(request).getStatus()
        == io.grpc.health.v1.HealthCheckResponse.ServingStatus.NOT_SERVING);
    // Still relaying while draining.
    prover.sendData("during drain".getBytes());
    assertThat(verifier.next(DATA).getData().getPayload().toStringUtf8()).isEqualTo("during drain");
    ServerMessage ended = verifier.next(SESSION_ENDED, Duration.ofSeconds(10));
    assertThat(ended.getSessionEnded().getReason()).isEqualTo(EndReason.RELAY_SHUTDOWN);
    assertThat(verifier.awaitClose().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    closer.join(10_000);
    relay.channel.shutdownNow();
  }
}
