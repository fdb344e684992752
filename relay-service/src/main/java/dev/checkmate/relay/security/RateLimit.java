package dev.checkmate.relay.security;

import io.github.bucket4j.Bucket;
import io.github.bucket4j.local.SynchronizationStrategy;
import java.time.Duration;

/**
 * The relay's one token bucket, for every rate it enforces (frames and bytes per participant,
 * keep-alives per stream, join attempts per client address): a Bucket4j bucket refilled smoothly
 * ("greedy") at {@code ratePerSecond} up to {@code burst}, starting full.
 */
public final class RateLimit {
  /** Rates at or above this are not limited at all (Bucket4j refills at most one token per nanosecond). */
  static final long UNLIMITED_RATE = 1_000_000_000L;

  private final Bucket bucket; // null: unlimited

  private RateLimit(Bucket bucket) {
    this.bucket = bucket;
  }

  /** For state touched by one thread at a time (a stream's reader): no synchronization at all. */
  public static RateLimit singleThreaded(long ratePerSecond, long burst) {
    return new RateLimit(build(ratePerSecond, burst, SynchronizationStrategy.NONE));
  }

  /** For state owned by one thread at a time that may change hands (a role's budget across reconnects). */
  public static RateLimit handedOver(long ratePerSecond, long burst) {
    return new RateLimit(build(ratePerSecond, burst, SynchronizationStrategy.SYNCHRONIZED));
  }

  /** For state shared between threads (a client address's budget). */
  public static RateLimit shared(long ratePerSecond, long burst) {
    return new RateLimit(build(ratePerSecond, burst, SynchronizationStrategy.LOCK_FREE));
  }

  private static Bucket build(long ratePerSecond, long burst, SynchronizationStrategy sync) {
    if (ratePerSecond >= UNLIMITED_RATE) {
      return null;
    }
    long rate = Math.max(1, ratePerSecond);
    long capacity = Math.max(1, burst);
    return Bucket.builder()
        .addLimit(limit -> limit.capacity(capacity).refillGreedy(rate, Duration.ofSeconds(1)))
        .withNanosecondPrecision()
        .withSynchronizationStrategy(sync)
        .build();
  }

  /** Takes {@code amount} tokens if they are there; false (and nothing taken) otherwise. */
  public boolean tryTake(long amount) {
    return amount <= 0 || bucket == null || bucket.tryConsume(amount);
  }

  /** Tokens available now (for tests and for forgetting full buckets). */
  public long available() {
    return bucket == null ? Long.MAX_VALUE : bucket.getAvailableTokens();
  }
}
