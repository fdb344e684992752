package dev.checkmate.relay.client;

/**
 * Callbacks for {@link RelayClient#join(String, SessionListener)}. All methods run serially on a
 * gRPC callback thread, one at a time per session, in the order the relay sent the events. The next
 * frame is requested from the relay only after {@link #onFrame} returns, so blocking there slows
 * the peer down instead of filling memory (that is the point; keep it short otherwise).
 */
public interface SessionListener {

  /** One frame from the peer, in order. */
  void onFrame(RelaySession session, byte[] payload);

  /** The peer's stream joined (or rejoined after {@link #onPeerLeft}). */
  default void onPeerJoined(RelaySession session) {}

  /**
   * End-to-end encryption only: the handshake completed and the peer's key confirmation verified.
   *
   * @param shortAuthenticationString the 6-digit SAS; without a pairing secret, show it to the user
   *     to compare with the peer's before trusting the channel
   */
  default void onSecure(RelaySession session, String shortAuthenticationString) {}

  /**
   * The peer's stream dropped. The session goes on: the peer may come back with its ticket until
   * the join deadline.
   *
   * @param detail why the relay believes the peer is gone, e.g. "stream cancelled"
   */
  default void onPeerLeft(RelaySession session, String detail) {}

  /**
   * The session is over for this participant; called exactly once, last.
   *
   * @param reason what ended it: a {@link SessionEndedException} when the relay announced the end
   *     (including a clean {@link EndReason#TERMINATED}), another {@link RelayException} when the
   *     stream failed or was closed locally (code CANCELLED)
   */
  default void onEnded(RelaySession session, RelayException reason) {}
}
