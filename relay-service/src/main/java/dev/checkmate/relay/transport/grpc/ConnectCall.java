package dev.checkmate.relay.transport.grpc;

import dev.checkmate.relay.proto.v1.ClientMessage;
import dev.checkmate.relay.proto.v1.ServerMessage;
import dev.checkmate.relay.security.CallerSecurity;
import dev.checkmate.relay.admission.Admission;
import dev.checkmate.relay.transport.ParticipantStream;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.net.InetAddress;

/**
 * One participant's Connect stream: the gRPC adapter onto {@link ParticipantStream}. Reads are
 * requested one at a time (auto-request is off) and only when the hub says the peer can take more.
 *
 * <p>Threading: gRPC callbacks run on the connection's event loop (the server uses a direct
 * executor); the hub may call in from the peer's event loop or the sweeper, and the base class
 * serializes writes.
 */
final class ConnectCall extends ParticipantStream implements StreamObserver<ClientMessage> {
  private final ServerCallStreamObserver<ServerMessage> out;
  /** The x-session-id the client routed with (read from the call context at construction), or null. */
  private final String routedSessionId = CallerSecurity.ROUTED_SESSION_ID.get();

  ConnectCall(Admission admission, Limits limits, ServerCallStreamObserver<ServerMessage> out, InetAddress address) {
    super(admission, limits, "grpc", address);
    this.out = out;
  }

  void start() {
    out.disableAutoRequest();
    out.setOnReadyHandler(this::onWritable);
    out.setOnCancelHandler(() -> onGone("stream cancelled"));
    if (open(true)) {
      out.request(1); // the Join
    }
  }

  @Override
  public void onNext(ClientMessage message) {
    if (message == SafeMarshaller.MALFORMED_CLIENT_MESSAGE) {
      onMalformed("a message on the Connect stream is not a valid ClientMessage");
      return;
    }
    onClientMessage(message, routedSessionId);
  }

  @Override
  public void onError(Throwable t) {
    onGone("stream cancelled or failed");
  }

  @Override
  public void onCompleted() {
    onHalfClosed("participant closed its stream without terminating");
  }

  @Override
  protected String streamNoun() {
    return "Connect stream";
  }

  // ---- primitives ----

  @Override
  protected void write(ServerMessage message) {
    out.onNext(message);
  }

  @Override
  protected boolean writable() {
    return out.isReady();
  }

  @Override
  protected void readOne() {
    out.request(1);
  }

  @Override
  protected void terminate(Status status) {
    if (status.isOk()) {
      out.onCompleted();
    } else {
      out.onError(status.asRuntimeException());
    }
  }
}
