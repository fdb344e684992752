package dev.checkmate.relay.security;

import java.net.InetAddress;

/**
 * Per-client budgets that every entry point shares (gRPC, WebSocket, gRPC-Web on both ports,
 * TerminateSession): open participant streams per client, and join attempts — anything that
 * makes the relay check a ticket signature or a send token — per client and second. Clients are
 * counted by {@link ClientKey} (IPv6 by /64).
 */
public final class AddressLimits {
  /** Join-attempt buckets kept at most (the least recently used are forgotten; a forgotten bucket was full). */
  static final int MAX_TRACKED_BUCKETS = 100_000;

  private final KeyCounter streams;
  private final int joinAttemptsPerSecond;
  private final KeyedRateLimit<InetAddress> joinBuckets;

  /**
   * @param streamsPerAddress open participant streams per client; 0 = unlimited
   * @param joinAttemptsPerSecond ticket checks per client and second, burst twice that; 0 = unlimited
   */
  public AddressLimits(int streamsPerAddress, int joinAttemptsPerSecond) {
    this.streams = new KeyCounter(streamsPerAddress, 0);
    this.joinAttemptsPerSecond = joinAttemptsPerSecond;
    this.joinBuckets = new KeyedRateLimit<>(joinAttemptsPerSecond, 2L * joinAttemptsPerSecond, MAX_TRACKED_BUCKETS);
  }

  /**
   * Takes one join attempt from the client's bucket. Every entry point calls this before any
   * signature or token work, so a flood of forged tickets from one client costs a map lookup each.
   */
  public boolean tryJoinAttempt(InetAddress address) {
    return joinBuckets.tryTake(ClientKey.of(address));
  }

  public int joinAttemptsPerSecond() {
    return joinAttemptsPerSecond;
  }

  /** Counts one more open participant stream for the client, or false past the limit. */
  public boolean tryOpenStream(InetAddress address) {
    return streams.tryAcquire(ClientKey.of(address)) == KeyCounter.Result.OK;
  }

  public void closeStream(InetAddress address) {
    streams.release(ClientKey.of(address));
  }

  public int streamLimit() {
    return streams.perKeyLimit();
  }

  /** Clients with open streams (for tests: proves counts return to zero). */
  public int trackedAddresses() {
    return streams.trackedKeys();
  }

  /** Open streams counted for a client. */
  public int openStreams(InetAddress address) {
    return streams.openFrom(ClientKey.of(address));
  }
}
