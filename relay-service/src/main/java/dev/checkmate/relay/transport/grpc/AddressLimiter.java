package dev.checkmate.relay.transport.grpc;

import java.net.InetAddress;
import java.util.concurrent.ConcurrentHashMap;

/** Counts open participant streams per client address and refuses past the configured limit. */
public final class AddressLimiter {
  private final int limit;
  private final ConcurrentHashMap<InetAddress, Integer> open = new ConcurrentHashMap<>();

  public AddressLimiter(int limit) {
    this.limit = limit;
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
