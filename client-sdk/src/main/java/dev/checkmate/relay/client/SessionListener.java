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
   * The peer's stream dropped without a terminate and the relay keeps its role reserved until the
   * join deadline: the peer is expected to resume (PeerLeft with {@code reconnecting}). The session
   * stays open; frames sent meanwhile wait at the relay (and, with resume, in the unacknowledged
   * buffer) and {@link #onPeerJoined} follows when the peer is back. The default calls {@link
   * #onPeerLeft}, so listeners written before resume keep working.
   */
  default void onPeerReconnecting(RelaySession session, String detail) {
    onPeerLeft(session, detail);
  }

  /**
   * Resume only: this side's stream was lost (e.g. the connection or the relay node died) and the
   * SDK is rejoining with the same ticket. Nothing is lost or failed: sends queue up and frames
   * continue, exactly once and in order, after {@link #onResumed}. If the grace window passes
   * first, {@link #onEnded} follows with a {@link RelayUnavailableException}.
   *
   * @param cause the transport failure that started the resume
   */
  default void onReconnecting(RelaySession session, RelayException cause) {}

  /** Resume only: the stream was replaced and the session continues where it stopped. */
  default void onResumed(RelaySession session) {}

  /**
   * The peer restarted and joined again with its ticket: from now on frames come from its new
   * incarnation, numbered from 1, and this side's frames go to it (see {@link
   * PeerRestartedException} for what was lost). Called in order: after the last frame of the
   * previous incarnation, before the first of the new one.
   *
   * <p>The default throws {@code restart}, which ends this side's session with it (the peer gets
   * SessionEnded TERMINATED): an application written without restarts in mind never continues
   * with a peer that has forgotten the conversation. Override it to go on.
   */
  default void onPeerRestarted(RelaySession session, PeerRestartedException restart) {
    throw restart;
  }

  /**
   * The session is over for this participant; called exactly once, last.
   *
   * @param reason what ended it: a {@link SessionEndedException} when the relay announced the end
   *     (including a clean {@link EndReason#TERMINATED}), another {@link RelayException} when the
   *     stream failed or was closed locally (code CANCELLED)
   */
  default void onEnded(RelaySession session, RelayException reason) {}
}
