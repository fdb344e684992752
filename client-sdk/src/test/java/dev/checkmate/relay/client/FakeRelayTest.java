package dev.checkmate.relay.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import dev.checkmate.relay.proto.v1.ClientMessage;
import dev.checkmate.relay.proto.v1.CreateSessionRequest;
import dev.checkmate.relay.proto.v1.CreateSessionResponse;
import dev.checkmate.relay.proto.v1.Frame;
import dev.checkmate.relay.proto.v1.Joined;
import dev.checkmate.relay.proto.v1.Limits;
import dev.checkmate.relay.proto.v1.RelayServiceGrpc;
import dev.checkmate.relay.proto.v1.ServerMessage;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.InsecureServerCredentials;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.stub.StreamObserver;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Checks what the SDK puts on the wire, and how it treats a misbehaving relay, against a scripted
 * fake relay on a real loopback socket. Behaviour against the real relay is in RelayClientTest.
 */
class FakeRelayTest {
  private static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

  private final BlockingQueue<Metadata> headers = new LinkedBlockingQueue<>();
  private final BlockingQueue<ClientMessage> received = new LinkedBlockingQueue<>();
  private final BlockingQueue<StreamObserver<ServerMessage>> streams = new LinkedBlockingQueue<>();
  private Server server;
  private RelayClient client;

  @BeforeEach
  void start() throws Exception {
    RelayServiceGrpc.RelayServiceImplBase fake =
        new RelayServiceGrpc.RelayServiceImplBase() {
          @Override
          public void createSession(
              CreateSessionRequest request, StreamObserver<CreateSessionResponse> response) {
            response.onNext(CreateSessionResponse.newBuilder()
                .setSessionId("s1").setProverTicket("p").setVerifierTicket("v").build());
            response.onCompleted();
          }

          @Override
          public StreamObserver<ClientMessage> connect(StreamObserver<ServerMessage> response) {
            return new StreamObserver<>() {
              @Override
              public void onNext(ClientMessage m) {
                received.add(m);
                if (m.hasJoin()) {
                  response.onNext(ServerMessage.newBuilder().setJoined(Joined.newBuilder()
                      .setSessionId("s1")
                      .setRole(dev.checkmate.relay.proto.v1.Role.VERIFIER)
                      .setPeerPresent(true)
                      .setLimits(Limits.newBuilder().setMaxFrameBytes(1024))).build());
                  streams.add(response);
                }
              }

              @Override
              public void onError(Throwable t) {}

              @Override
              public void onCompleted() {
                response.onCompleted();
              }
            };
          }
        };
    server = Grpc.newServerBuilderForPort(0, InsecureServerCredentials.create())
        .addService(ServerInterceptors.intercept(fake, new io.grpc.ServerInterceptor() {
          @Override
          public <Q, R> io.grpc.ServerCall.Listener<Q> interceptCall(
              io.grpc.ServerCall<Q, R> call, Metadata h, io.grpc.ServerCallHandler<Q, R> next) {
            headers.add(h);
            return Contexts.interceptCall(io.grpc.Context.current(), call, h, next);
          }
        }))
        .build()
        .start();
    client = RelayClient.builder()
        .target("127.0.0.1:" + server.getPort())
        .usePlaintext()
        .issuerKey("issuer-secret")
        .heartbeatInterval(Duration.ofMillis(50))
        .callTimeout(Duration.ofSeconds(5))
        .build();
  }

  @AfterEach
  void stop() {
    client.close();
    server.shutdownNow();
  }

  private static String ticketFor(String sid) {
    Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
    return b64.encodeToString("{\"alg\":\"EdDSA\"}".getBytes(StandardCharsets.UTF_8)) + "."
        + b64.encodeToString(("{\"sid\":\"" + sid + "\"}").getBytes(StandardCharsets.UTF_8))
        + ".sig";
  }

  private static ServerMessage frame(long seq, String text) {
    return ServerMessage.newBuilder().setData(Frame.newBuilder()
        .setSeq(seq).setPayload(ByteString.copyFromUtf8(text))).build();
  }

  @Test
  void createSessionSendsTheIssuerKeyAsBearer() throws Exception {
    SessionInvite invite = client.createSession(Duration.ofMinutes(1));
    assertThat(invite.sessionId()).isEqualTo("s1");
    assertThat(headers.poll(5, TimeUnit.SECONDS).get(AUTHORIZATION)).isEqualTo("Bearer issuer-secret");
  }

  @Test
  void connectCarriesTheSessionIdForRoutingAndStartsWithJoin() throws Exception {
    String ticket = ticketFor("route-me");
    try (RelaySession s = client.join(ticket)) {
      Metadata h = headers.poll(5, TimeUnit.SECONDS);
      assertThat(h.get(RelayClient.SESSION_ID)).isEqualTo("route-me");
      assertThat(h.get(AUTHORIZATION)).as("the issuer key is for CreateSession only").isNull();
      assertThat(received.poll(5, TimeUnit.SECONDS).getJoin().getTicket()).isEqualTo(ticket);
      assertThat(s.role()).isEqualTo(Role.VERIFIER);
      assertThat(s.peerPresent()).isTrue();
    }
  }

  @Test
  void numbersOutgoingFramesFromOneAndSendsHeartbeats() throws Exception {
    try (RelaySession s = client.join(ticketFor("s1"))) {
      s.sendBlocking("a".getBytes(StandardCharsets.UTF_8));
      s.sendBlocking("b".getBytes(StandardCharsets.UTF_8));
      long[] seqs = new long[2];
      int frames = 0;
      int heartbeats = 0;
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
      while ((frames < 2 || heartbeats < 2) && System.nanoTime() < deadline) {
        ClientMessage m = received.poll(1, TimeUnit.SECONDS);
        if (m == null) {
          continue;
        }
        if (m.hasData()) {
          seqs[frames++] = m.getData().getSeq();
        } else if (m.hasHeartbeat()) {
          heartbeats++;
        }
      }
      assertThat(seqs).containsExactly(1, 2);
      assertThat(heartbeats).isGreaterThanOrEqualTo(2);
    }
  }

  @Test
  void aSequenceGapEndsTheSessionAndTellsTheRelay() throws Exception {
    // Without resume: with it, a gap is dropped and awaited in order (see ResumeProtocolTest).
    try (RelayClient strict = client.newBuilder().resume(false).build();
        RelaySession s = strict.join(ticketFor("s1"))) {
      StreamObserver<ServerMessage> relay = streams.poll(5, TimeUnit.SECONDS);
      relay.onNext(frame(1, "one"));
      relay.onNext(frame(3, "three"));
      assertThat(new String(s.receive(Duration.ofSeconds(5)), StandardCharsets.UTF_8)).isEqualTo("one");
      assertThatThrownBy(() -> s.receive(Duration.ofSeconds(5)))
          .isInstanceOfSatisfying(ProtocolViolationException.class, e -> {
            assertThat(e.code()).isEqualTo(StatusCode.DATA_LOSS);
            assertThat(e.reason()).contains("expected frame 2", "got frame 3");
          });
      assertThat(s.isOpen()).isFalse();
      ClientMessage terminate = null;
      for (ClientMessage m; (m = received.poll(5, TimeUnit.SECONDS)) != null; ) {
        if (m.hasTerminate()) {
          terminate = m;
          break;
        }
      }
      assertThat(terminate).isNotNull();
      assertThat(terminate.getTerminate().getReason()).startsWith("protocol error");
    }
  }

  @Test
  void aRepeatedFrameIsAProtocolErrorToo() throws Exception {
    BlockingQueue<RelayException> ended = new LinkedBlockingQueue<>();
    // Without resume: with it, a repeat is a retransmission and dropped (see ResumeProtocolTest).
    RelayClient strict = client.newBuilder().resume(false).build();
    RelaySession s = strict.join(ticketFor("s1"), new SessionListener() {
      @Override
      public void onFrame(RelaySession session, byte[] payload) {}

      @Override
      public void onEnded(RelaySession session, RelayException reason) {
        ended.add(reason);
      }
    });
    StreamObserver<ServerMessage> relay = streams.poll(5, TimeUnit.SECONDS);
    relay.onNext(frame(1, "one"));
    relay.onNext(frame(1, "one again"));
    assertThat(ended.poll(5, TimeUnit.SECONDS)).isInstanceOf(ProtocolViolationException.class);
    s.close();
    strict.close();
  }

  @Test
  void oversizedPayloadIsRefusedLocally() throws Exception {
    try (RelaySession s = client.join(ticketFor("s1"))) {
      assertThatThrownBy(() -> s.send(new byte[1025]))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("1024");
    }
  }

  @Test
  void aRelayThatNeverAnswersTheJoinTimesOut() throws Exception {
    server.shutdownNow();
    // A listening socket that accepts but never speaks HTTP/2 back.
    try (java.net.ServerSocket silent = new java.net.ServerSocket(0, 1,
             java.net.InetAddress.getLoopbackAddress());
         RelayClient impatient = RelayClient.builder()
             .target("127.0.0.1:" + silent.getLocalPort())
             .usePlaintext()
             .callTimeout(Duration.ofMillis(500))
             .build()) {
      assertThatThrownBy(() -> impatient.join(ticketFor("s1")))
          .isInstanceOfSatisfying(RelayException.class,
              e -> assertThat(e.code()).isIn(StatusCode.DEADLINE_EXCEEDED,
                  StatusCode.UNAVAILABLE));
    }
  }
}
