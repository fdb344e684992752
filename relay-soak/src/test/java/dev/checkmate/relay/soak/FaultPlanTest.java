package dev.checkmate.relay.soak;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.EnumSet;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The fault schedule is a function of its seed (a run replays), holds every kind asked for, and keeps the cluster reachable. */
class FaultPlanTest {
  private static List<Fault> plan(long seed) {
    return Fault.plan(seed, EnumSet.allOf(Fault.Kind.class), 8_000, 50_000, 7_000, 3, 3, 3);
  }

  @Test
  void theSameSeedGivesTheSameScheduleAnotherSeedAnother() {
    assertThat(plan(42)).isEqualTo(plan(42));
    assertThat(plan(42)).isNotEqualTo(plan(43));
  }

  @Test
  void everyKindHappensAndOnlyOneRelayAndOneNatsFaultAreUnderWayAtATime() {
    for (long seed = 1; seed <= 50; seed++) {
      List<Fault> p = plan(seed);
      assertThat(p.stream().map(Fault::kind).distinct()).as("seed " + seed).containsExactlyInAnyOrder(Fault.Kind.values());
      assertThat(p).isSortedAccordingTo((a, b) -> Long.compare(a.atMillis(), b.atMillis()));
      for (int i = 0; i < p.size(); i++) {
        for (int j = i + 1; j < p.size(); j++) {
          Fault a = p.get(i);
          Fault b = p.get(j);
          boolean sameGroup = a.kind().onRelay() && b.kind().onRelay() || a.kind().onNats() && b.kind().onNats();
          if (sameGroup) {
            long recovery = a.kind().onRelay() ? Fault.RELAY_RECOVERY_MILLIS : Fault.NATS_RECOVERY_MILLIS;
            assertThat(b.atMillis()).as("seed %d: %s then %s", seed, a, b).isGreaterThanOrEqualTo(a.atMillis() + a.millis() + recovery);
          }
        }
      }
    }
  }
}
