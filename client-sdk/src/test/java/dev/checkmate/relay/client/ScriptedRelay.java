package dev.checkmate.relay.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.checkmate.relay.proto.v1.ClientMessage;
import dev.checkmate.relay.proto.v1.Join;
import dev.checkmate.relay.proto.v1.Joined;
import dev.checkmate.relay.proto.v1.Limits;
import dev.checkmate.relay.proto.v1.RelayServiceGrpc;
import dev.checkmate.relay.proto.v1.ServerMessage;
import io.grpc.Grpc;
import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * A relay the test scripts by hand: a real gRPC server on a loopback port whose Connect streams
 * are handed to the test as they join, so it can check every message the SDK writes and send
 * exactly what it wants back (resume and restart tests: ResumeProtocolTest, ResumeVectorsTest).
 */
final class ScriptedRelay implements AutoCloseable {
  /** The Joined a scripted relay answers with: session "s1", the verifier role, 1 KiB frames, 30 s deadline. */
  static Joined.Builder joined(boolean peerPresent) {
    return Joined.newBuilder()
        .setSessionId("s1")
        .setRole(dev.checkmate.relay.proto.v1.Role.VERIFIER)
        .setPeerPresent(peerPresent)
        .setLimits(Limits.newBuilder().setMaxFrameBytes(1024).setJoinDeadlineSeconds(30));
  }

  /** An unsigned ticket for session "s1" (the SDK reads the session id from it for routing). */
  static String ticket() {
    Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
    return b64.encodeToString("{\"alg\":\"EdDSA\"}".getBytes(StandardCharsets.UTF_8)) + "."
        + b64.encodeToString("{\"sid\":\"s1\"}".getBytes(StandardCharsets.UTF_8)) + ".sig";
  }

  /** One Connect stream as the relay sees it, from the moment its Join arrived. */
  record Stream(Join join, StreamObserver<ServerMessage> toClient, BlockingQueue<ClientMessage> fromClient) {
    void send(ServerMessage message) {
      toClient.onNext(message);
    }

    /** Ends the stream as a lost connection or relay does (the SDK resumes from it). */
    void drop() {
      toClient.onError(Status.UNAVAILABLE.withDescription("scripted loss").asRuntimeException());
    }

    ClientMessage next() throws InterruptedException {
      ClientMessage m = fromClient.poll(5, TimeUnit.SECONDS);
      assertThat(m).as("a message from the client").isNotNull();
      return m;
    }

    /** The next message that is not a heartbeat. */
    ClientMessage nextNonHeartbeat() throws InterruptedException {
      while (true) {
        ClientMessage m = next();
        if (!m.hasHeartbeat()) {
          return m;
        }
      }
    }
  }

  private final BlockingQueue<Stream> streams = new LinkedBlockingQueue<>();
  private final Server server;
  private volatile Status refusal;

  /**
   * @param answer the Joined to answer each Join with at once, or null to leave answering to the
   *     test ({@link Stream#send})
   */
  ScriptedRelay(Function<Join, Joined> answer) throws IOException {
    RelayServiceGrpc.RelayServiceImplBase scripted = new RelayServiceGrpc.RelayServiceImplBase() {
      @Override
      public StreamObserver<ClientMessage> connect(StreamObserver<ServerMessage> response) {
        Status refused = refusal;
        if (refused != null) {
          response.onError(refused.asRuntimeException());
        }
        BlockingQueue<ClientMessage> in = new LinkedBlockingQueue<>();
        return new StreamObserver<>() {
          @Override
          public void onNext(ClientMessage m) {
            if (refused != null) {
              return;
            }
            if (m.hasJoin()) {
              if (answer != null) {
                response.onNext(ServerMessage.newBuilder().setJoined(answer.apply(m.getJoin())).build());
              }
              streams.add(new Stream(m.getJoin(), response, in));
            } else {
              in.add(m);
            }
          }

          @Override
          public void onError(Throwable t) {}

          @Override
          public void onCompleted() {}
        };
      }
    };
    server = Grpc.newServerBuilderForPort(0, InsecureServerCredentials.create()).addService(scripted).build().start();
  }

  int port() {
    return server.getPort();
  }

  String target() {
    return "127.0.0.1:" + server.getPort();
  }

  /** From now on every new stream is refused at once with {@code status} (e.g. a session that ended). */
  void refuseJoins(Status status) {
    refusal = status;
  }

  /** The next stream whose Join arrived (waits up to 10 s). */
  Stream nextStream() throws InterruptedException {
    Stream s = streams.poll(10, TimeUnit.SECONDS);
    assertThat(s).as("the SDK joined").isNotNull();
    return s;
  }

  /** A stream that joined within {@code millis}, or null. */
  Stream pollStream(long millis) throws InterruptedException {
    return streams.poll(millis, TimeUnit.MILLISECONDS);
  }

  @Override
  public void close() throws InterruptedException {
    server.shutdownNow();
    server.awaitTermination(5, TimeUnit.SECONDS);
  }
}
