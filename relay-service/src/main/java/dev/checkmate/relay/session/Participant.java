package dev.checkmate.relay.session;

import dev.checkmate.relay.proto.v1.Frame;
import dev.checkmate.relay.proto.v1.ServerMessage;
import io.grpc.Status;

/**
 * One participant's stream as the hub sees it. Each transport (gRPC, WebSocket, gRPC-Web)
 * implements this as a thin adapter; the hub never knows which one it talks to.
 *
 * <p>Threading: every method may be called from any thread and must never block.
 */
public interface Participant {
  /**
   * The {@link #transport()} of a participant that joined on another node and is seated here over
   * the cluster (the home's view of a bridge): the session tells both peers they are bridged.
   */
  String BRIDGED_TRANSPORT = "cluster";

  /** Queues a message to this participant. Never blocks; after {@link #close} it is a no-op. */
  void send(ServerMessage message);

  /** Queues one of the peer's frames (the same message the peer sent, never re-encoded by hand). */
  default void sendData(Frame frame) {
    send(ServerMessage.newBuilder().setData(frame).build());
  }

  /** True while this participant's outbound buffer can take more without growing past its bound. */
  boolean isReady();

  /** Reads exactly one more client message from this participant (flow control). */
  void requestNext();

  /** Ends the stream with a status (a WebSocket transport maps it to a close code). Idempotent. */
  void close(Status status);

  /**
   * Since when (System.nanoTime) the client has left what the relay wrote to it unread, i.e. the
   * stream's outbound side has not been ready; 0 while it is. The hub closes a participant that
   * stays unreadable for the write-stall timeout.
   */
  default long notReadingSinceNanos() {
    return 0L;
  }

  /** Bounded metric label: "grpc", "websocket", "grpc_web" ({@link #BRIDGED_TRANSPORT} across nodes). */
  String transport();
}
