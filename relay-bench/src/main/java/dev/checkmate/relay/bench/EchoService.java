package dev.checkmate.relay.bench;

import dev.checkmate.relay.proto.v1.ClientMessage;
import dev.checkmate.relay.proto.v1.Heartbeat;
import dev.checkmate.relay.proto.v1.Joined;
import dev.checkmate.relay.proto.v1.ServerMessage;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.ProtoUtils;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Baseline B1: a direct grpc-java bidi echo with the relay's message types and the relay's server
 * settings. It is not part of the relay protocol: a hand-built {@link MethodDescriptor}
 * ({@code relay.bench.BenchEcho/Echo}) carries {@code relay.v1.ClientMessage} in and
 * {@code relay.v1.ServerMessage} out, parsed and re-serialized exactly like the relay does.
 *
 * <p>Per message it does what the relay does minus the session logic: read one message, answer a
 * Join with Joined, wrap a Frame in a ServerMessage and write it, and read the next message only
 * while the stream {@code isReady()} (the same manual flow control as the relay's ConnectCall).
 */
final class EchoService {
  static final String SERVICE = "relay.bench.BenchEcho";
  static final MethodDescriptor<ClientMessage, ServerMessage> ECHO =
      MethodDescriptor.<ClientMessage, ServerMessage>newBuilder()
          .setType(MethodDescriptor.MethodType.BIDI_STREAMING)
          .setFullMethodName(MethodDescriptor.generateFullMethodName(SERVICE, "Echo"))
          .setRequestMarshaller(ProtoUtils.marshaller(ClientMessage.getDefaultInstance()))
          .setResponseMarshaller(ProtoUtils.marshaller(ServerMessage.getDefaultInstance()))
          .build();

  private static final ServerMessage JOINED =
      ServerMessage.newBuilder().setJoined(Joined.newBuilder().setSessionId("echo").setPeerPresent(true)).build();
  private static final ServerMessage HEARTBEAT =
      ServerMessage.newBuilder().setHeartbeat(Heartbeat.getDefaultInstance()).build();

  final AtomicInteger liveStreams = new AtomicInteger();

  ServerServiceDefinition definition() {
    return ServerServiceDefinition.builder(SERVICE)
        .addMethod(ECHO, ServerCalls.asyncBidiStreamingCall(
            responses -> new Call((ServerCallStreamObserver<ServerMessage>) responses)))
        .build();
  }

  /** The same NettyServerBuilder settings as RelayServer (see relay-service RelayServer's constructor). */
  static Server start(EchoService service, int port, int flowControlWindow, int maxFrameBytes) throws IOException {
    NettyServerBuilder b = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", port));
    // The same number of network threads as the relay gets (RelayConfig.effectiveEventLoopThreads).
    dev.checkmate.relay.transport.grpc.NetworkThreads.install(b,
        dev.checkmate.relay.RelayConfig.builder().eventLoopThreads(Serve.eventLoopThreads).build().effectiveEventLoopThreads());
    return b
        .directExecutor()
        .flowControlWindow(flowControlWindow)
        .maxInboundMessageSize(maxFrameBytes + 4096)
        .permitKeepAliveTime(10, TimeUnit.SECONDS)
        .permitKeepAliveWithoutCalls(true)
        .keepAliveTime(60, TimeUnit.SECONDS)
        .keepAliveTimeout(20, TimeUnit.SECONDS)
        .addService(service.definition())
        .build()
        .start();
  }

  private final class Call implements StreamObserver<ClientMessage> {
    private final ServerCallStreamObserver<ServerMessage> out;
    private boolean waiting; // callbacks of one call are serialized (direct executor)
    private boolean done;

    Call(ServerCallStreamObserver<ServerMessage> out) {
      this.out = out;
      out.disableAutoRequest();
      out.setOnReadyHandler(this::onReady);
      out.setOnCancelHandler(this::gone);
      liveStreams.incrementAndGet();
      out.request(1);
    }

    @Override
    public void onNext(ClientMessage message) {
      switch (message.getKindCase()) {
        case DATA -> {
          out.onNext(ServerMessage.newBuilder().setData(message.getData()).build());
          if (out.isReady()) {
            out.request(1);
          } else {
            waiting = true;
          }
        }
        case JOIN -> {
          out.onNext(JOINED);
          out.request(1);
        }
        case HEARTBEAT -> {
          out.onNext(HEARTBEAT);
          out.request(1);
        }
        default -> out.request(1);
      }
    }

    private void onReady() {
      if (waiting) {
        waiting = false;
        out.request(1);
      }
    }

    private void gone() {
      if (!done) {
        done = true;
        liveStreams.decrementAndGet();
      }
    }

    @Override
    public void onError(Throwable t) {
      gone();
    }

    @Override
    public void onCompleted() {
      gone();
      try {
        out.onCompleted();
      } catch (RuntimeException ignored) {
        // cancelled meanwhile
      }
    }
  }
}
