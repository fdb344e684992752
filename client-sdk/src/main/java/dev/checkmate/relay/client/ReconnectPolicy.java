package dev.checkmate.relay.client;

import java.time.Duration;
import java.util.function.DoubleSupplier;

/**
 * When and where to rejoin after this side's stream was lost: full-jitter exponential backoff
 * (a uniformly random delay in [0, min({@value #CAP_MILLIS}, {@value #BASE_MILLIS} × 2^attempt)]
 * ms, the shape of grpc-java's ExponentialBackoffPolicy with full jitter), within a grace window
 * that is the configured one capped by the relay's join deadline (after which the relay gives the
 * role up anyway), moving to the next target after each failed attempt. Pure apart from the random
 * source it is given; the session calls it under its lock. The browser SDK's {@code
 * ReconnectPolicy} is the same; both pass the {@code reconnect} cases of testvectors/resume-v1.json.
 */
final class ReconnectPolicy {
  static final long BASE_MILLIS = 100;
  static final long CAP_MILLIS = 2_000;

  private final Duration grace;
  private final DoubleSupplier random;
  private Duration window = Duration.ZERO;
  private long deadlineNanos;
  private int attempts;
  private int target;

  /** {@code random}: uniform in [0, 1). */
  ReconnectPolicy(Duration grace, DoubleSupplier random) {
    this.grace = grace;
    this.random = random;
  }

  /** A loss: the window starts now; {@code joinDeadline} is the relay's (zero or negative: unknown). */
  void begin(long nowNanos, Duration joinDeadline) {
    window = joinDeadline.isNegative() || joinDeadline.isZero() || grace.compareTo(joinDeadline) <= 0
        ? grace : joinDeadline;
    deadlineNanos = nowNanos + window.toNanos();
    attempts = 0;
  }

  /** The delay before the next attempt, in ms, or -1 once the window has passed (give up). */
  long nextDelayMillis(long nowNanos) {
    long leftMillis = (deadlineNanos - nowNanos) / 1_000_000;
    if (deadlineNanos - nowNanos <= 0) {
      return -1;
    }
    long cap = Math.min(CAP_MILLIS, BASE_MILLIS << Math.min(attempts, 20));
    long delay = Math.min((long) Math.floor(random.getAsDouble() * (cap + 1)), leftMillis);
    attempts++;
    return delay;
  }

  /** An attempt failed before the relay answered Joined: the next one goes to the next target. */
  void attemptFailed() {
    target++;
  }

  /** The index of the target for the next attempt (modulo the number of targets). */
  int target() {
    return target;
  }

  int attempts() {
    return attempts;
  }

  /** How long the current window lasts (the configured grace, capped by the join deadline). */
  Duration window() {
    return window;
  }

  /** Nanoseconds left in the window (may be negative). */
  long leftNanos(long nowNanos) {
    return deadlineNanos - nowNanos;
  }
}
