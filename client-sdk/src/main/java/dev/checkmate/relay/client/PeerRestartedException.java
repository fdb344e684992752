package dev.checkmate.relay.client;

/**
 * The peer restarted and joined again with its ticket (a new process, a reloaded page, a new
 * {@link RelaySession} for the same ticket): a new incarnation that remembers nothing of this
 * session (code ABORTED). Not an end: the session goes on with the new incarnation, from the start
 * — sequence numbers start over both ways and end-to-end encryption runs a new handshake (with a
 * pairing secret it completes by itself; without one, compare the new {@link
 * RelaySession#shortAuthenticationString()} again, since the relay could have staged the
 * "restart"). An interactive protocol usually has to start over too.
 *
 * <p>Reported exactly once per restart, in order with the frames: every frame received from the
 * previous incarnation was delivered before it, every frame of the new one after it. Blocking
 * style: {@link RelaySession#receive} throws it once (catch it to go on); callback style: {@link
 * SessionListener#onPeerRestarted} (by default it ends the session, so an application that does
 * not handle restarts never mixes two peers silently).
 *
 * <p>What was lost, by count: {@link #lostFrames()} frames this side had sent or queued that the
 * previous incarnation never acknowledged. They are not sent to the new one (their {@code send}
 * futures fail with this exception if they were still queued); the previous incarnation may or may
 * not have received them before it died. Frames the previous incarnation had sent that never
 * arrived here died with it (see docs/resume.md).
 */
public class PeerRestartedException extends RelayException {
  private static final long serialVersionUID = 1L;

  private final int lostFrames;
  private final long framesFromPreviousPeer;

  PeerRestartedException(int lostFrames, long framesFromPreviousPeer) {
    super(StatusCode.ABORTED, "the peer restarted and rejoined with its ticket: " + lostFrames
        + " frame(s) sent to its previous incarnation were never acknowledged and are lost; "
        + framesFromPreviousPeer + " frame(s) had been received from it; the session goes on with"
        + " the new incarnation from the start", null);
    this.lostFrames = lostFrames;
    this.framesFromPreviousPeer = framesFromPreviousPeer;
  }

  /**
   * Application frames this side sent (or had queued) that the previous incarnation never
   * acknowledged: lost.
   */
  public int lostFrames() {
    return lostFrames;
  }

  /** Frames received from the previous incarnation since the session (or the last restart) began. */
  public long framesFromPreviousPeer() {
    return framesFromPreviousPeer;
  }
}
