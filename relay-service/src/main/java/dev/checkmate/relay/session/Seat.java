package dev.checkmate.relay.session;

import dev.checkmate.relay.proto.v1.Frame;
import dev.checkmate.relay.proto.v1.Role;

/**
 * One live stream's place in a session: what a transport calls after a successful join. The seat
 * may be held on this node or, in cluster mode, on the session's home node across NATS; the
 * transport cannot tell the difference.
 *
 * <p>Flow control contract: the transport reads exactly one client message per
 * {@link Participant#requestNext()}; it reports {@link #onWritable()} whenever its outbound side
 * becomes writable again.
 */
public interface Seat {
  String sessionId();

  Role role();

  /** One frame read from this participant. The seat requests the next one when the peer can take it. */
  void onFrame(Frame frame);

  /** This participant's stream can take more again: lets the peer's reads resume. */
  void onWritable();

  /**
   * The participant acknowledged its peer's frames (resume; ClientMessage.ack), forwarded to the
   * peer unchanged. Like a frame, it consumes the one read the transport was granted; the seat
   * asks for the next.
   */
  default void onAck(dev.checkmate.relay.proto.v1.Ack ack) {
    protocolError("acknowledgements are not supported on this seat");
  }

  /** The participant ended the session on purpose. */
  void terminate(String reason);

  /** The participant's stream is gone (cancelled, failed or half-closed) without a terminate. */
  void left(String detail);

  /** The participant broke the protocol (e.g. a second Join on the same stream). */
  void protocolError(String message);
}
