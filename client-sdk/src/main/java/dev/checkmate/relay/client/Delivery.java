package dev.checkmate.relay.client;

import java.util.function.Consumer;

/**
 * How frames and events reach the application: {@link BlockingInbox} (receive, frames()) or
 * {@link ListenerDelivery} (a {@link SessionListener}). Called by the session on its serial
 * incoming thread, in the order the relay sent things, never under the session's lock. A listener's
 * exception propagates to the session, which decides what it means.
 */
interface Delivery {
  /**
   * One frame from the peer, in order, exactly once. {@code delivered} runs once the application
   * has it (the callback returned, or a receive took it): only then is the frame acknowledged and
   * the next message requested.
   */
  void frame(byte[] payload, Runnable delivered);

  /** The peer restarted: in order with the frames. */
  void peerRestarted(PeerRestartedException restart);

  /** A listener event (peer joined, reconnecting, ...); the blocking style has none. */
  void event(Consumer<SessionListener> event);

  /** The session is over; called once, last. */
  void ended(RelayException end);
}
