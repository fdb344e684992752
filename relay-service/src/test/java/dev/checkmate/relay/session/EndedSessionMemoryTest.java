package dev.checkmate.relay.session;

import static org.assertj.core.api.Assertions.assertThat;

import dev.checkmate.relay.RelayConfig;
import dev.checkmate.relay.proto.v1.Role;
import dev.checkmate.relay.ticket.Ticket;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;

/** Ended sessions are remembered (their tickets stay dead) exactly until their tickets expire. */
class EndedSessionMemoryTest {
  /** A clock the test moves. */
  static final class TestClock extends Clock {
    volatile long millis = 1_000_000_000_000L;

    @Override
    public ZoneOffset getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return Instant.ofEpochMilli(millis);
    }
  }

  @Test
  void anEndedSessionIsRememberedUntilItsTicketsExpireThenForgotten() {
    TestClock clock = new TestClock();
    RelayConfig config = RelayConfig.builder().telemetryEnabled(false).clockSkew(Duration.ofSeconds(30)).build();
    SessionHub hub = new SessionHub(config.sessionSettings(), clock);
    Instant soon = clock.instant().plusSeconds(60);
    Instant later = clock.instant().plusSeconds(600);
    for (int i = 0; i < 1000; i++) {
      Instant exp = i % 2 == 0 ? soon : later;
      assertThat(hub.terminateHere(new Ticket("s" + i, Role.PROVER, "t" + i, exp), "done")).isTrue();
    }
    assertThat(hub.endedSessionCount()).isEqualTo(1000);
    assertThat(hub.isEnded("s0")).isTrue();

    clock.millis += Duration.ofSeconds(60 + 29).toMillis(); // expiry + skew not reached yet
    hub.sweep();
    assertThat(hub.endedSessionCount()).as("not before expiry + clock skew").isEqualTo(1000);

    clock.millis += Duration.ofSeconds(2).toMillis();
    hub.sweep();
    assertThat(hub.endedSessionCount()).as("the short-lived half is forgotten").isEqualTo(500);
    assertThat(hub.isEnded("s0")).isFalse();
    assertThat(hub.isEnded("s1")).isTrue();

    clock.millis += Duration.ofSeconds(600).toMillis();
    hub.sweep();
    assertThat(hub.endedSessionCount()).isZero();
  }
}
