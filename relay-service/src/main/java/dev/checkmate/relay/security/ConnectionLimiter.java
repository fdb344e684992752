package dev.checkmate.relay.security;

import java.net.InetAddress;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * Counts open TCP connections per client address on the gRPC port and refuses past the limit.
 * Trusted proxies are exempt (every client behind Envoy shares Envoy's address; their per-client
 * limits apply to streams instead, with the address taken from {@code x-forwarded-for}).
 */
public final class ConnectionLimiter {
  private final int limit;
  private final TrustedProxies exempt;
  private final ConcurrentHashMap<InetAddress, Integer> open = new ConcurrentHashMap<>();
  private final LongAdder refused = new LongAdder();

  /** @param limit connections per address; 0 or less = unlimited */
  public ConnectionLimiter(int limit, TrustedProxies exempt) {
    this.limit = limit;
    this.exempt = exempt;
  }

  public boolean enabled() {
    return limit > 0;
  }

  /** Counts one more connection from {@code address}, or returns false when it would exceed the limit. */
  public boolean tryAcquire(InetAddress address) {
    if (limit <= 0 || exempt.isTrusted(address)) {
      return true;
    }
    boolean[] ok = {false};
    open.compute(address, (a, n) -> {
      int count = n == null ? 0 : n;
      if (count >= limit) {
        return n;
      }
      ok[0] = true;
      return count + 1;
    });
    if (!ok[0]) {
      refused.increment();
    }
    return ok[0];
  }

  public void release(InetAddress address) {
    if (limit <= 0 || exempt.isTrusted(address)) {
      return;
    }
    open.computeIfPresent(address, (a, n) -> n <= 1 ? null : n - 1);
  }

  public int limit() {
    return limit;
  }

  /** Connections refused so far (for tests and metrics). */
  public long refused() {
    return refused.sum();
  }

  /** Open connections counted for an address. */
  public int openFrom(InetAddress address) {
    return open.getOrDefault(address, 0);
  }

  /** Addresses with counted connections (for tests: proves counts return to zero). */
  public int trackedAddresses() {
    return open.size();
  }
}
