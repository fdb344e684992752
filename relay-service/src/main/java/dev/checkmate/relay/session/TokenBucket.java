package dev.checkmate.relay.session;

/**
 * A token bucket refilled continuously at {@code ratePerSecond} with a burst of one second's worth.
 * Used by one stream's reader at a time, so it needs no locking.
 */
final class TokenBucket {
  private final double ratePerNano;
  private final double capacity;
  private double tokens;
  private long lastNanos;

  TokenBucket(double ratePerSecond, long nowNanos) {
    this.ratePerNano = ratePerSecond / 1e9;
    this.capacity = ratePerSecond;
    this.tokens = ratePerSecond;
    this.lastNanos = nowNanos;
  }

  boolean tryTake(double amount, long nowNanos) {
    long elapsed = nowNanos - lastNanos;
    if (elapsed > 0) {
      tokens = Math.min(capacity, tokens + elapsed * ratePerNano);
      lastNanos = nowNanos;
    }
    if (tokens < amount) {
      return false;
    }
    tokens -= amount;
    return true;
  }
}
