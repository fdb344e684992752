package dev.checkmate.relay.transport.grpc;

import java.net.InetAddress;
import java.util.concurrent.ConcurrentHashMap;

/** Counts open participant streams per client address and refuses past the configured limit. */
public final class AddressLimiter {
  /** Past this many tracked addresses the join-attempt buckets start afresh (bounded memory). */
  private static final int MAX_TRACKED_BUCKETS = 100_000;

  private final int limit;
  private final int joinAttemptsPerSecond;
  private final ConcurrentHashMap<InetAddress, Integer> open = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<InetAddress, long[]> joinBuckets = new ConcurrentHashMap<>();

  public AddressLimiter(int limit) {
    this(limit, 0);
  }

  /**
   * @param joinAttemptsPerSecond join attempts (ticket checks) allowed per client address and second,
   *     with a burst of twice that; 0 = unlimited
   */
  public AddressLimiter(int limit, int joinAttemptsPerSecond) {
    this.limit = limit;
    this.joinAttemptsPerSecond = joinAttemptsPerSecond;
  }

  /**
   * Takes one join attempt from the address's token bucket. Checked before the ticket's signature,
   * so a flood of forged joins from one address is refused for the price of a map lookup instead
   * of an Ed25519 verification on the network thread.
   */
  public boolean tryJoinAttempt(InetAddress address) {
    if (joinAttemptsPerSecond <= 0) {
      return true;
    }
    if (joinBuckets.size() > MAX_TRACKED_BUCKETS) {
      joinBuckets.clear();
    }
    long now = System.nanoTime();
    double capacity = 2.0 * joinAttemptsPerSecond;
    boolean[] ok = {false};
    // bucket[0] = tokens × 1000 (fixed point), bucket[1] = last refill time
    joinBuckets.compute(address, (a, bucket) -> {
      if (bucket == null) {
        bucket = new long[] {(long) (capacity * 1000), now};
      }
      double tokens = Math.min(capacity, bucket[0] / 1000.0 + (now - bucket[1]) * joinAttemptsPerSecond / 1e9);
      bucket[1] = now;
      if (tokens >= 1) {
        tokens -= 1;
        ok[0] = true;
      }
      bucket[0] = (long) (tokens * 1000);
      return bucket;
    });
    return ok[0];
  }

  public int joinAttemptsPerSecond() {
    return joinAttemptsPerSecond;
  }

  public boolean tryAcquire(InetAddress address) {
    boolean[] ok = {false};
    open.compute(address, (a, n) -> {
      int count = n == null ? 0 : n;
      if (count >= limit) {
        return n;
      }
      ok[0] = true;
      return count + 1;
    });
    return ok[0];
  }

  public void release(InetAddress address) {
    open.computeIfPresent(address, (a, n) -> n <= 1 ? null : n - 1);
  }

  public int limit() {
    return limit;
  }

  /** Addresses with open streams (for tests: proves counts return to zero). */
  public int trackedAddresses() {
    return open.size();
  }
}
