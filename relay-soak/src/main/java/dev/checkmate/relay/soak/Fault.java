package dev.checkmate.relay.soak;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.Set;

/**
 * One planned fault: what, on which relay or NATS server, when (milliseconds after the load
 * started) and for how long. {@link #plan} makes the whole schedule from a seed, so a run's
 * schedule is printed and can be replayed with the same seed and settings.
 */
record Fault(int id, long atMillis, Kind kind, int target, long millis) {
  enum Kind {
    /** kill -9 of a relay process, restarted on the same ports after {@code millis}. */
    RELAY_KILL,
    /** SIGTERM: the relay drains (its --drain-seconds) under load, exits, and is restarted. */
    RELAY_DRAIN,
    /** kill -9 of one nats-server, restarted after {@code millis}. */
    NATS_KILL,
    /** Every nats-server killed, all restarted after {@code millis}. */
    NATS_ALL_DOWN,
    /** Every TCP connection through the cutting proxies in front of one relay is cut. */
    TCP_CUT,
    /** Forged joins and junk connections from 127.0.0.2 against one relay for {@code millis}. */
    FLOOD;

    boolean onRelay() {
      return this == RELAY_KILL || this == RELAY_DRAIN;
    }

    boolean onNats() {
      return this == NATS_KILL || this == NATS_ALL_DOWN;
    }
  }

  /** How long a relay fault keeps others of its kind away (restart and reconnections), beyond its own time. */
  static final long RELAY_RECOVERY_MILLIS = 15_000;
  static final long NATS_RECOVERY_MILLIS = 8_000;

  /**
   * The schedule: faults between {@code fromMillis} and {@code untilMillis}, about one per
   * {@code intervalMillis}, every kind of {@code kinds} at least once (in a seeded order), the rest
   * chosen at random. At most one relay down and one NATS fault at a time (each keeps others of its
   * group away for its recovery time), so the cluster is always reachable; other faults overlap freely.
   */
  static List<Fault> plan(long seed, Set<Kind> kinds, long fromMillis, long untilMillis, long intervalMillis, int relays,
      int natsServers, int drainSeconds) {
    Random rnd = new Random(seed);
    List<Kind> order = new ArrayList<>(kinds);
    Collections.shuffle(order, rnd);
    int count = (int) Math.max(order.size(), (untilMillis - fromMillis) / intervalMillis);
    List<Kind> all = new ArrayList<>(order);
    while (all.size() < count) {
      all.add(order.get(rnd.nextInt(order.size())));
    }
    double slot = (untilMillis - fromMillis) / (double) count;
    List<Fault> out = new ArrayList<>();
    long relayFreeAt = 0;
    long natsFreeAt = 0;
    for (int i = 0; i < count; i++) {
      long at = fromMillis + (long) (slot * i + rnd.nextDouble() * slot * 0.6);
      Kind k = all.get(i);
      long millis = switch (k) {
        case RELAY_KILL -> 1000 + rnd.nextInt(3000);
        case RELAY_DRAIN -> drainSeconds * 1000L;
        case NATS_KILL -> 2000 + rnd.nextInt(4000);
        case NATS_ALL_DOWN -> 3000 + rnd.nextInt(5000);
        case TCP_CUT -> 0;
        case FLOOD -> 4000 + rnd.nextInt(6000);
      };
      if (k.onRelay()) {
        at = Math.max(at, relayFreeAt);
        relayFreeAt = at + millis + RELAY_RECOVERY_MILLIS;
      } else if (k.onNats()) {
        at = Math.max(at, natsFreeAt);
        natsFreeAt = at + millis + NATS_RECOVERY_MILLIS;
      }
      if (at > untilMillis && i >= order.size()) {
        continue; // pushed past the end by an earlier fault of its group (each kind's first one stays)
      }
      int target = k.onNats() ? rnd.nextInt(natsServers) : rnd.nextInt(relays);
      out.add(new Fault(out.size() + 1, at, k, target, millis));
    }
    out.sort((a, b) -> Long.compare(a.atMillis, b.atMillis));
    List<Fault> numbered = new ArrayList<>();
    for (Fault f : out) {
      numbered.add(new Fault(numbered.size() + 1, f.atMillis, f.kind, f.target, f.millis));
    }
    return numbered;
  }

  String targetName() {
    return switch (kind) {
      case NATS_KILL -> "nats-" + target;
      case NATS_ALL_DOWN -> "all nats-servers";
      default -> "relay-" + target;
    };
  }

  @Override
  public String toString() {
    String what = switch (kind) {
      case RELAY_KILL -> "kill -9 " + targetName() + ", restart after " + seconds(millis);
      case RELAY_DRAIN -> "SIGTERM " + targetName() + " (drain " + seconds(millis) + "), then restart";
      case NATS_KILL -> "kill -9 " + targetName() + ", restart after " + seconds(millis);
      case NATS_ALL_DOWN -> "kill -9 " + targetName() + ", restart after " + seconds(millis);
      case TCP_CUT -> "cut every connection through the proxies of " + targetName();
      case FLOOD -> "flood " + targetName() + " from 127.0.0.2 for " + seconds(millis);
    };
    return String.format(Locale.ROOT, "fault %2d at +%6.1f s  %-13s %s", id, atMillis / 1000.0, kind, what);
  }

  static String seconds(long millis) {
    return String.format(Locale.ROOT, "%.1f s", millis / 1000.0);
  }
}
