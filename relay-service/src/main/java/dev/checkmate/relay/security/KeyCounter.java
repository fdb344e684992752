package dev.checkmate.relay.security;

import java.net.InetAddress;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Counts open things (connections, streams) per client key and refuses past a per-key limit and
 * an optional global limit. An entry exists only while its count is above zero, so memory is
 * bounded by what is open. Thread-safe.
 */
final class KeyCounter {
  private final int perKey;
  private final int global;
  private final ConcurrentHashMap<InetAddress, Integer> open = new ConcurrentHashMap<>();
  private final AtomicInteger total = new AtomicInteger();

  /** @param perKey limit per key, 0 or less = unlimited; @param global total limit, 0 or less = unlimited */
  KeyCounter(int perKey, int global) {
    this.perKey = perKey;
    this.global = global;
  }

  enum Result { OK, KEY_FULL, GLOBAL_FULL }

  Result tryAcquire(InetAddress key) {
    return tryAcquire(key, true);
  }

  /** @param limitKey false for keys exempt from the per-key limit (they still count toward the total) */
  Result tryAcquire(InetAddress key, boolean limitKey) {
    if (total.incrementAndGet() > global && global > 0) {
      total.decrementAndGet();
      return Result.GLOBAL_FULL;
    }
    boolean[] ok = {false};
    open.compute(key, (k, n) -> {
      int count = n == null ? 0 : n;
      if (limitKey && perKey > 0 && count >= perKey) {
        return n;
      }
      ok[0] = true;
      return count + 1;
    });
    if (!ok[0]) {
      total.decrementAndGet();
      return Result.KEY_FULL;
    }
    return Result.OK;
  }

  void release(InetAddress key) {
    boolean[] found = {false};
    open.computeIfPresent(key, (k, n) -> {
      found[0] = true;
      return n <= 1 ? null : n - 1;
    });
    if (found[0]) {
      total.decrementAndGet();
    }
  }

  int perKeyLimit() {
    return perKey;
  }

  int globalLimit() {
    return global;
  }

  int openFrom(InetAddress key) {
    return open.getOrDefault(key, 0);
  }

  int total() {
    return total.get();
  }

  int trackedKeys() {
    return open.size();
  }
}
