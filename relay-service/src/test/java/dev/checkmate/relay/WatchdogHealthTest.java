package dev.checkmate.relay;

import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.DATA;
import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.JOINED;
import static org.assertj.core.api.Assertions.assertThat;

import dev.checkmate.relay.testing.Health;
import dev.checkmate.relay.testing.TestRelay;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * An embedded relay (no RelayMain, so no process exit): a stalled timer thread turns both health
 * endpoints NOT_SERVING, past the exit threshold the JVM goes on, and once the thread runs again
 * the relay reports SERVING and pairs sessions as before.
 */
@Timeout(60)
class WatchdogHealthTest {

  @Test
  void aStallTurnsHealthNotServingAndItsEndTurnsItBackWhenEmbedded() throws Exception {
    try (TestRelay relay = TestRelay.start(RelayConfig.builder().webSocketPort(0)
        .watchdogNotServingAfter(Duration.ofMillis(300)).watchdogExitAfter(Duration.ofMillis(600)))) {
      int grpc = relay.server.grpcPort();
      int http = relay.server.webSocketPort();
      assertThat(Health.grpc(grpc)).isEqualTo("SERVING");
      assertThat(Health.http(http)).isEqualTo("200 SERVING");

      CountDownLatch release = new CountDownLatch(1);
      relay.server.watched.get("timers").execute(() -> {
        try {
          release.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      });
      Health.await("NOT_SERVING", () -> Health.grpc(grpc));
      Health.await("503 NOT_SERVING", () -> Health.http(http));
      TimeUnit.MILLISECONDS.sleep(1000); // past the exit threshold: an embedding JVM is not ended

      release.countDown();
      Health.await("SERVING", () -> Health.grpc(grpc));
      Health.await("200 SERVING", () -> Health.http(http));
      var session = relay.createSession();
      try (var prover = relay.join(session.getProverTicket()); var verifier = relay.join(session.getVerifierTicket())) {
        verifier.next(JOINED);
        prover.sendData("after".getBytes());
        assertThat(verifier.next(DATA).getData().getPayload().toStringUtf8())
            .isEqualTo("after");
      }
    }
  }
}
