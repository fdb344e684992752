package dev.checkmate.relay.probe;

import dev.checkmate.relay.proto.v1.ClientMessage;
import dev.checkmate.relay.proto.v1.Frame;
import dev.checkmate.relay.proto.v1.Join;
import dev.checkmate.relay.proto.v1.RelayServiceGrpc;
import dev.checkmate.relay.proto.v1.ServerMessage;
import dev.checkmate.relay.proto.v1.Terminate;
import io.grpc.Channel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.MetadataUtils;

/** A participant on the gRPC bidi stream {@code Connect}, routed with {@code x-session-id}. */
final class GrpcStream extends ProbeStream {
  static final Metadata.Key<String> SESSION_ID = Metadata.Key.of("x-session-id", Metadata.ASCII_STRING_MARSHALLER);
  private final Channel channel;
  private final String sessionId;
  private ClientCallStreamObserver<ClientMessage> out;

  GrpcStream(Channel channel, String sessionId) {
    this.channel = channel;
    this.sessionId = sessionId;
  }

  @Override
  Transport transport() {
    return Transport.GRPC;
  }

  @Override
  synchronized void join(String ticket) {
    Metadata headers = new Metadata();
    headers.put(SESSION_ID, sessionId);
    RelayServiceGrpc.newStub(channel).withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers))
        .connect(new ClientResponseObserver<ClientMessage, ServerMessage>() {
          @Override
          public void beforeStart(ClientCallStreamObserver<ClientMessage> requestStream) {
            out = requestStream;
          }

          @Override
          public void onNext(ServerMessage value) {
            received.add(value);
          }

          @Override
          public void onError(Throwable t) {
            Status s = Status.fromThrowable(t);
            ended.complete(new End(false, "gRPC status " + s.getCode() + (s.getDescription() == null ? "" : ": " + s.getDescription())));
          }

          @Override
          public void onCompleted() {
            ended.complete(new End(true, "gRPC status OK"));
          }
        });
    out.onNext(ClientMessage.newBuilder().setJoin(Join.newBuilder().setTicket(ticket)).build());
  }

  @Override
  synchronized void send(Frame frame) {
    out.onNext(ClientMessage.newBuilder().setData(frame).build());
  }

  @Override
  synchronized void terminate(String reason) {
    out.onNext(ClientMessage.newBuilder().setTerminate(Terminate.newBuilder().setReason(reason)).build());
  }

  @Override
  public synchronized void close() {
    if (out != null && !ended.isDone()) {
      out.cancel("probe done", null);
    }
  }
}
