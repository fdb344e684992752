package dev.checkmate.relay.security;

import java.net.InetAddress;
import java.util.concurrent.atomic.LongAdder;

/**
 * Counts open TCP connections on both client ports (gRPC and HTTP) per client address and in
 * total, and refuses at accept past either limit. The total stays below the process's file
 * descriptor limit ({@link DescriptorBudget}) so a flood of connections can never leave the relay
 * unable to accept an honest one or to open its own files. Trusted proxies are exempt from the
 * per-address limit (every client behind Envoy shares Envoy's address; their per-client limits
 * apply to streams, with the address from {@code x-forwarded-for}) but not from the total.
 */
public final class ConnectionLimiter {
  /** Why a connection was refused, for the rejection metric and the log. */
  public enum Refusal { PER_ADDRESS, TOTAL }

  private final KeyCounter counter;
  private final TrustedProxies exempt;
  private final LongAdder refusedPerAddress = new LongAdder();
  private final LongAdder refusedTotal = new LongAdder();

  /**
   * @param perAddress connections per client address; 0 or less = unlimited
   * @param total connections on both ports together; 0 or less = unlimited
   */
  public ConnectionLimiter(int perAddress, int total, TrustedProxies exempt) {
    this.counter = new KeyCounter(perAddress, total);
    this.exempt = exempt;
  }

  /** Counts one more connection from {@code address}; null when accepted, else why it was refused. */
  public Refusal tryAcquire(InetAddress address) {
    boolean proxy = exempt.isTrusted(address);
    KeyCounter.Result r = counter.tryAcquire(proxy ? address : ClientKey.of(address), !proxy);
    switch (r) {
      case OK:
        return null;
      case KEY_FULL:
        refusedPerAddress.increment();
        return Refusal.PER_ADDRESS;
      default:
        refusedTotal.increment();
        return Refusal.TOTAL;
    }
  }

  public void release(InetAddress address) {
    counter.release(exempt.isTrusted(address) ? address : ClientKey.of(address));
  }

  public int perAddressLimit() {
    return counter.perKeyLimit();
  }

  public int totalLimit() {
    return counter.globalLimit();
  }

  /** Connections refused so far (both reasons). */
  public long refused() {
    return refusedPerAddress.sum() + refusedTotal.sum();
  }

  public long refused(Refusal why) {
    return why == Refusal.PER_ADDRESS ? refusedPerAddress.sum() : refusedTotal.sum();
  }

  /** Open connections counted for an address. */
  public int openFrom(InetAddress address) {
    return counter.openFrom(exempt.isTrusted(address) ? address : ClientKey.of(address));
  }

  /** Open connections on both ports. */
  public int open() {
    return counter.total();
  }

  /** Addresses with counted connections (for tests: proves counts return to zero). */
  public int trackedAddresses() {
    return counter.trackedKeys();
  }
}
