package dev.checkmate.relay.cluster;

/**
 * Hooks into cluster mode for tests and benchmarks, set with
 * {@link dev.checkmate.relay.RelayConfig.Builder#clusterHooks}. Every method has a no-op default and
 * {@link #NONE} is what production runs. Hooks are called on cluster threads and must not block.
 */
public interface ClusterHooks {
  ClusterHooks NONE = new ClusterHooks() {};

  /**
   * Milliseconds to wait between "nobody is home" and claiming home for a session (tests widen the
   * window in which two nodes both claim, to force claim races). 0 = claim at once.
   */
  default long claimDelayMillis(String sessionId) {
    return 0;
  }

  /** True to time cross-node frames hop by hop ({@link #hop}); costs a clock read per frame. */
  default boolean timeHops() {
    return false;
  }

  /** Where a cross-node frame spent its time (only called when {@link #timeHops} is true). */
  enum Hop {
    /** On the sending node: from the transport handing the frame over until it was queued for NATS. */
    SEND,
    /** Queued for NATS on the sending node until its NATS handler ran on the receiving node (nanoTime, same host). */
    TRANSIT,
    /** On the receiving node: from the NATS handler until the frame was handed to the client's transport. */
    RECEIVE
  }

  /** One frame's time in one hop, in nanoseconds; {@code up} = bridge to home. */
  default void hop(Hop hop, boolean up, long nanos) {}
}
