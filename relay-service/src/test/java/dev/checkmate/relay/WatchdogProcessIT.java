package dev.checkmate.relay;

import static org.assertj.core.api.Assertions.assertThat;

import dev.checkmate.relay.lifecycle.FailFast;
import dev.checkmate.relay.testing.Health;
import dev.checkmate.relay.testing.JvmProcess;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.MatchResult;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Real relay processes ({@link StallableRelay}: RelayMain plus a stdin command that breaks one
 * watched thread). A stalled timer thread or event loop turns health NOT_SERVING within the first
 * threshold and ends the process with exit code 70 at the second; a dead one ends it at once.
 */
@Timeout(120)
class WatchdogProcessIT {
  /** RelayMain's "listening" line: gRPC port, HTTP port. */
  static final Pattern PORTS = Pattern.compile("listening on 127\\.0\\.0\\.1:(\\d+) .*WebSocket/HTTP on port (\\d+)");
  private static final Duration NOT_SERVING_AFTER = Duration.ofSeconds(2);
  private static final Duration EXIT_AFTER = Duration.ofSeconds(8);

  private record Relay(JvmProcess process, int grpcPort, int httpPort) {}

  private static Relay start() throws Exception {
    List<String> cmd = new ArrayList<>(List.of("-Xmx128m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
        // The container's flag: no relaunch, so this process's stdin is the command pipe.
        "-XX:+ExitOnOutOfMemoryError"));
    cmd.addAll(JvmProcess.classPathMain(StallableRelay.class));
    cmd.addAll(List.of("--grpc-port", "0", "--ws-port", "0", "--metrics-port", "-1", "--no-telemetry",
        "--drain-seconds", "0", "--event-loop-threads", "1",
        "--watchdog-not-serving-after", NOT_SERVING_AFTER.toString(), "--watchdog-exit-after", EXIT_AFTER.toString()));
    JvmProcess p = JvmProcess.start(cmd);
    try {
      MatchResult ports = p.awaitMatch(PORTS, Duration.ofSeconds(60));
      p.await(Pattern.compile("watched: \\[timers, grpc-accept-0, grpc-0, http-0"), Duration.ofSeconds(10));
      Relay relay = new Relay(p, Integer.parseInt(ports.group(1)), Integer.parseInt(ports.group(2)));
      Health.await("SERVING", () -> Health.grpc(relay.grpcPort)); // the first call may be slow on a busy machine
      Health.await("200 SERVING", () -> Health.http(relay.httpPort));
      return relay;
    } catch (Throwable e) {
      p.close();
      throw e;
    }
  }

  @Test
  void aBlockedTimerThreadTurnsBothHealthEndpointsNotServingThenEndsTheProcessWithCode70() throws Exception {
    Relay relay = start();
    try (JvmProcess p = relay.process) {
      long t0 = System.nanoTime();
      p.println("block timers");
      Health.await("NOT_SERVING", () -> Health.grpc(relay.grpcPort));
      Health.await("503 NOT_SERVING", () -> Health.http(relay.httpPort));
      assertThat(p.process().isAlive()).as("NOT_SERVING comes before the exit").isTrue();
      assertThat(p.awaitExit(Duration.ofSeconds(30))).isEqualTo(FailFast.WATCHDOG);
      assertThat(Duration.ofNanos(System.nanoTime() - t0)).as("not before the exit threshold")
          .isGreaterThanOrEqualTo(EXIT_AFTER.minusMillis(500));
      assertThat(p.output())
          .contains("health NOT_SERVING")
          .containsPattern("FATAL, exiting with code 70: watchdog: .*(timers|session sweep) has made no progress for \\d+\\.\\d s \\(thread relay-timers\\)")
          .contains("stack of relay-timers", "StallableRelay.parkForever");
    }
  }

  /** gRPC's own health service may run on a blocked gRPC loop: then the HTTP port tells, and vice versa. */
  @ParameterizedTest
  @CsvSource({"grpc-0, http, relay-net-", "http-0, grpc, relay-http"})
  void aBlockedEventLoopTurnsHealthNotServingThenEndsTheProcessWithCode70(String loop, String healthPort, String thread)
      throws Exception {
    Relay relay = start();
    try (JvmProcess p = relay.process) {
      p.println("block " + loop);
      if (healthPort.equals("http")) {
        Health.await("503 NOT_SERVING", () -> Health.http(relay.httpPort));
      } else {
        Health.await("NOT_SERVING", () -> Health.grpc(relay.grpcPort));
      }
      assertThat(p.awaitExit(Duration.ofSeconds(30))).isEqualTo(FailFast.WATCHDOG);
      assertThat(p.output())
          .containsPattern("FATAL, exiting with code 70: watchdog: " + loop + " has made no progress for \\d+\\.\\d s \\(thread " + thread)
          .contains("StallableRelay.parkForever");
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"timers", "http-0"})
  void aDeadThreadEndsTheProcessAtOnce(String name) throws Exception {
    Relay relay = start();
    try (JvmProcess p = relay.process) {
      long t0 = System.nanoTime();
      p.println("shutdown " + name);
      assertThat(p.awaitExit(Duration.ofSeconds(30))).isEqualTo(FailFast.WATCHDOG);
      assertThat(Duration.ofNanos(System.nanoTime() - t0)).as("without waiting for the stall thresholds")
          .isLessThan(EXIT_AFTER);
      assertThat(p.output()).contains("FATAL, exiting with code 70: watchdog: " + name + " is dead: it rejects tasks");
    }
  }
}
