package dev.checkmate.relay.security;

import com.google.common.cache.Cache;
import com.google.common.cache.CacheBuilder;
import java.time.Duration;
import java.util.concurrent.ExecutionException;

/**
 * One {@link RateLimit} per key (a client address, a relay node), created on first use and
 * forgotten when idle or when too many keys are tracked (least recently used first). A bucket idle
 * for longer than it takes to refill is as good as a new one, so forgetting it changes nothing.
 */
public final class KeyedRateLimit<K> {
  private final long ratePerSecond;
  private final long burst;
  private final Cache<K, RateLimit> buckets;

  /** @param ratePerSecond 0 or less = unlimited */
  public KeyedRateLimit(long ratePerSecond, long burst, int maxKeys) {
    this.ratePerSecond = ratePerSecond;
    this.burst = burst;
    long refillSeconds = ratePerSecond <= 0 ? 1 : Math.max(1, (burst + ratePerSecond - 1) / ratePerSecond);
    this.buckets = CacheBuilder.newBuilder()
        .maximumSize(maxKeys)
        .expireAfterAccess(Duration.ofSeconds(refillSeconds + 3))
        .build();
  }

  /** Takes one token from the key's bucket; false (nothing taken) when it is empty. */
  public boolean tryTake(K key) {
    if (ratePerSecond <= 0) {
      return true;
    }
    try {
      return buckets.get(key, () -> RateLimit.shared(ratePerSecond, burst)).tryTake(1);
    } catch (ExecutionException e) {
      throw new IllegalStateException(e.getCause());
    }
  }

  public long ratePerSecond() {
    return ratePerSecond;
  }
}
