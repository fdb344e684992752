package dev.checkmate.relay.transport.http.grpcweb;

import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.DATA;
import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.JOINED;
import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.PEER_JOINED;
import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.SESSION_ENDED;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import dev.checkmate.relay.RelayConfig;
import dev.checkmate.relay.proto.v1.CreateSessionResponse;
import dev.checkmate.relay.proto.v1.EndReason;
import dev.checkmate.relay.proto.v1.Frame;
import dev.checkmate.relay.proto.v1.ReceiveRequest;
import dev.checkmate.relay.proto.v1.RelayServiceGrpc;
import dev.checkmate.relay.proto.v1.SendRequest;
import dev.checkmate.relay.proto.v1.SendResponse;
import dev.checkmate.relay.proto.v1.ServerMessage;
import dev.checkmate.relay.proto.v1.Terminate;
import dev.checkmate.relay.testing.TestPeer;
import dev.checkmate.relay.testing.TestRelay;
import dev.checkmate.relay.testing.WsPeer;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The gRPC-Web fallback (Receive + Send), over gRPC and over the relay's own HTTP port. */
class GrpcWebTest {
  private TestRelay relay;

  @BeforeEach
  void start() throws Exception {
    relay = TestRelay.start(RelayConfig.builder().webSocketPort(0).sendWait(Duration.ofMillis(400))
        .allowedOrigins(List.of("https://app.example.com")));
  }

  @AfterEach
  void stop() throws Exception {
    relay.close();
  }

  /** A Receive stream over the gRPC stub (exactly what Envoy's grpc_web filter calls). */
  static final class Receiver implements StreamObserver<ServerMessage> {
    final LinkedBlockingQueue<ServerMessage> received = new LinkedBlockingQueue<>();
    final CompletableFuture<Status> closed = new CompletableFuture<>();

    @Override
    public void onNext(ServerMessage value) {
      received.add(value);
    }

    @Override
    public void onError(Throwable t) {
      closed.complete(Status.fromThrowable(t));
    }

    @Override
    public void onCompleted() {
      closed.complete(Status.OK);
    }

    ServerMessage next(ServerMessage.KindCase kind) throws InterruptedException {
      while (true) {
        ServerMessage m = received.poll(5, TimeUnit.SECONDS);
        if (m == null) {
          throw new AssertionError("no " + kind + "; closed=" + closed.getNow(null));
        }
        if (m.getKindCase() == kind) {
          return m;
        }
        if (!m.hasHeartbeat()) {
          throw new AssertionError("expected " + kind + " but got " + m);
        }
      }
    }
  }

  private static Frame frame(long seq, String text) {
    return Frame.newBuilder().setSeq(seq).setPayload(ByteString.copyFromUtf8(text)).build();
  }

  @Test
  void aGrpcWebVerifierAndAGrpcProverExchangeFramesAndRetriesAreIdempotent() throws Exception {
    CreateSessionResponse s = relay.createSession();
    var stub = RelayServiceGrpc.newBlockingStub(relay.channel);
    Receiver web = new Receiver();
    RelayServiceGrpc.newStub(relay.channel).receive(ReceiveRequest.newBuilder().setTicket(s.getVerifierTicket()).build(), web);
    ServerMessage joined = web.next(JOINED);
    String token = joined.getJoined().getSendToken();
    assertThat(token).hasSizeGreaterThanOrEqualTo(22);
    try (TestPeer prover = relay.join(s.getProverTicket())) {
      prover.next(JOINED);
      web.next(PEER_JOINED);
      prover.sendData("commitment".getBytes());
      assertThat(web.next(DATA).getData().getPayload().toStringUtf8()).isEqualTo("commitment");

      SendRequest first = SendRequest.newBuilder().setSessionId(s.getSessionId()).setSendToken(token)
          .addFrames(frame(1, "challenge")).addFrames(frame(2, "more")).build();
      assertThat(stub.send(first).getAckedSeq()).isEqualTo(2);
      // The same Send again (a retry after a lost response): acknowledged, not forwarded twice.
      assertThat(stub.send(first).getAckedSeq()).isEqualTo(2);
      assertThat(prover.next(DATA).getData().getPayload().toStringUtf8()).isEqualTo("challenge");
      assertThat(prover.next(DATA).getData().getSeq()).isEqualTo(2);

      // A gap is refused with a status that names the expected seq.
      SendRequest gap = SendRequest.newBuilder().setSendToken(token).addFrames(frame(5, "x")).build();
      assertThatThrownBy(() -> stub.send(gap))
          .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.OUT_OF_RANGE);
            assertThat(e.getStatus().getDescription()).contains("expects seq 3");
          });

      // An unknown token is refused.
      assertThatThrownBy(() -> stub.send(SendRequest.newBuilder().setSendToken("nope").build()))
          .isInstanceOfSatisfying(StatusRuntimeException.class,
              e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION));

      // Frames and a terminate in one Send: frames first, then the session ends for both.
      stub.send(SendRequest.newBuilder().setSendToken(token).addFrames(frame(3, "result"))
          .setTerminate(Terminate.newBuilder().setReason("verified")).build());
      assertThat(prover.next(DATA).getData().getPayload().toStringUtf8()).isEqualTo("result");
      assertThat(prover.next(SESSION_ENDED).getSessionEnded().getMessage()).isEqualTo("verified");
      assertThat(web.next(SESSION_ENDED).getSessionEnded().getReason()).isEqualTo(EndReason.TERMINATED);
      assertThat(web.closed.get(5, TimeUnit.SECONDS)).isEqualTo(Status.OK);
    }
    TestRelay.await("streams forgotten", () -> relay.server.hub().sessionCount() == 0);
    TestRelay.await("permits released", () -> relay.server.addressLimiter().trackedAddresses() == 0);
  }

  /**
   * Resume over gRPC-Web: a Send may carry just an ack, which reaches the peer with the incarnation
   * it names; after its Receive stream is lost the participant opens a new one with the same
   * ticket and incarnation (a resume: nothing replaced), and the new stream takes the resent frames
   * at the seq where the client's numbering goes on.
   */
  @Test
  void aGrpcWebParticipantAcknowledgesInASendAndResumesOnANewReceiveStream() throws Exception {
    long web = 0x77L;
    long grpc = 0x33L;
    CreateSessionResponse s = relay.createSession();
    var stub = RelayServiceGrpc.newBlockingStub(relay.channel);
    Receiver first = new Receiver();
    var call = io.grpc.Context.current().withCancellation();
    call.run(() -> RelayServiceGrpc.newStub(relay.channel).receive(
        ReceiveRequest.newBuilder().setTicket(s.getVerifierTicket()).setIncarnation(web).build(), first));
    String token = first.next(JOINED).getJoined().getSendToken();
    try (TestPeer prover = relay.join(s.getProverTicket(), grpc)) {
      assertThat(prover.next(JOINED).getJoined().getPeerIncarnation()).isEqualTo(web);
      assertThat(first.next(PEER_JOINED).getPeerJoined().getIncarnation()).isEqualTo(grpc);
      prover.sendData("p1".getBytes());
      assertThat(first.next(DATA).getData().getSeq()).isEqualTo(1);

      SendResponse ackOnly = stub.send(SendRequest.newBuilder().setSendToken(token)
          .setAck(dev.checkmate.relay.proto.v1.Ack.newBuilder().setSeq(1).setIncarnation(grpc)).build());
      assertThat(ackOnly.getAckedSeq()).isZero();
      ServerMessage ack = prover.next(ServerMessage.KindCase.ACK);
      assertThat(ack.getAck().getSeq()).isEqualTo(1);
      assertThat(ack.getAck().getIncarnation()).isEqualTo(grpc);
      assertThat(stub.send(SendRequest.newBuilder().setSendToken(token)
          .addFrames(frame(1, "w1")).addFrames(frame(2, "w2")).build()).getAckedSeq()).isEqualTo(2);
      assertThat(prover.next(DATA).getData().getPayload().toStringUtf8()).isEqualTo("w1");
      assertThat(prover.next(DATA).getData().getPayload().toStringUtf8()).isEqualTo("w2");

      call.cancel(null); // the page lost its Receive stream
      assertThat(prover.next(ServerMessage.KindCase.PEER_LEFT).getPeerLeft().getIncarnation()).isEqualTo(web);
      Receiver second = new Receiver();
      RelayServiceGrpc.newStub(relay.channel).receive(
          ReceiveRequest.newBuilder().setTicket(s.getVerifierTicket()).setIncarnation(web).build(), second);
      var rejoined = second.next(JOINED).getJoined();
      assertThat(rejoined.getReplacedIncarnation()).isZero();
      assertThat(rejoined.getPeerIncarnation()).isEqualTo(grpc);
      assertThat(prover.next(PEER_JOINED).getPeerJoined().getIncarnation()).isEqualTo(web);
      String token2 = rejoined.getSendToken();
      // The client resends w2 (the peer had not acknowledged it) and goes on with w3.
      assertThat(stub.send(SendRequest.newBuilder().setSendToken(token2)
          .addFrames(frame(2, "w2")).addFrames(frame(3, "w3")).build()).getAckedSeq()).isEqualTo(3);
      assertThat(prover.next(DATA).getData().getSeq()).isEqualTo(2);
      assertThat(prover.next(DATA).getData().getPayload().toStringUtf8()).isEqualTo("w3");
      assertThatThrownBy(() -> stub.send(SendRequest.newBuilder().setSendToken(token2).addFrames(frame(5, "x")).build()))
          .isInstanceOfSatisfying(StatusRuntimeException.class,
              e -> assertThat(e.getStatus().getDescription()).contains("expects seq 4"));
      assertThatThrownBy(() -> stub.send(SendRequest.newBuilder().setSendToken(token).addFrames(frame(4, "x")).build()))
          .as("the lost stream's token is dead")
          .isInstanceOfSatisfying(StatusRuntimeException.class,
              e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION));
    }
  }

  /**
   * The other side of resume over gRPC-Web: the gRPC-Web participant keeps its Receive stream, but
   * its peer's stream dies and the peer rejoins. What the relay had forwarded to the old stream may
   * be lost, so the participant resends what the peer has not acknowledged, with the old seqs, in a
   * Send marked resend: the relay forwards those again (a plain Send with old seqs is a retry and
   * is not). The soak found gRPC-Web senders stalled for good after their peer's relay was killed:
   * every resent frame was taken for a retry, and everything after it for a frame ahead.
   */
  @Test
  void aSendMarkedResendAfterThePeerRejoinedForwardsTheOldSeqsAgain() throws Exception {
    long web = 0x77L;
    long grpc = 0x33L;
    CreateSessionResponse s = relay.createSession();
    var stub = RelayServiceGrpc.newBlockingStub(relay.channel);
    Receiver receiver = new Receiver();
    RelayServiceGrpc.newStub(relay.channel).receive(
        ReceiveRequest.newBuilder().setTicket(s.getVerifierTicket()).setIncarnation(web).build(), receiver);
    String token = receiver.next(JOINED).getJoined().getSendToken();
    TestPeer prover = relay.join(s.getProverTicket(), grpc);
    prover.next(JOINED);
    receiver.next(PEER_JOINED);
    assertThat(stub.send(SendRequest.newBuilder().setSendToken(token)
        .addFrames(frame(1, "w1")).addFrames(frame(2, "w2")).addFrames(frame(3, "w3")).build()).getAckedSeq()).isEqualTo(3);
    assertThat(prover.next(DATA).getData().getSeq()).isEqualTo(1);
    prover.cancel(); // w2 and w3 may have died with the prover's stream: it acknowledged only w1
    receiver.next(ServerMessage.KindCase.PEER_LEFT);
    try (TestPeer back = relay.join(s.getProverTicket(), grpc)) {
      back.next(JOINED);
      receiver.next(PEER_JOINED);
      // A retry of the old Send changes nothing: acknowledged, not forwarded.
      assertThat(stub.send(SendRequest.newBuilder().setSendToken(token).addFrames(frame(2, "w2")).build()).getAckedSeq())
          .isEqualTo(3);
      // The resend goes through from w2 on, then new frames follow it.
      SendResponse resent = stub.send(SendRequest.newBuilder().setSendToken(token).setResend(true)
          .addFrames(frame(2, "w2")).addFrames(frame(3, "w3")).addFrames(frame(4, "w4")).build());
      assertThat(resent.getAckedSeq()).isEqualTo(4);
      assertThat(stub.send(SendRequest.newBuilder().setSendToken(token).addFrames(frame(5, "w5")).build()).getAckedSeq())
          .isEqualTo(5);
      for (int seq = 2; seq <= 5; seq++) {
        ServerMessage m = back.next(DATA);
        assertThat(m.getData().getSeq()).isEqualTo(seq);
        assertThat(m.getData().getPayload().toStringUtf8()).isEqualTo("w" + seq);
      }
      // A resend cannot skip ahead: a gap is still refused.
      assertThatThrownBy(() -> stub.send(SendRequest.newBuilder().setSendToken(token).setResend(true)
          .addFrames(frame(7, "x")).build()))
          .isInstanceOfSatisfying(StatusRuntimeException.class,
              e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.OUT_OF_RANGE));
    }
  }

  /** After the peer restarted (a new incarnation) the gRPC-Web side numbers from 1 again, on the same Receive stream. */
  @Test
  void aSendMarkedResendStartsTheNumberingOverAfterThePeerRestarted() throws Exception {
    CreateSessionResponse s = relay.createSession();
    var stub = RelayServiceGrpc.newBlockingStub(relay.channel);
    Receiver receiver = new Receiver();
    RelayServiceGrpc.newStub(relay.channel).receive(
        ReceiveRequest.newBuilder().setTicket(s.getVerifierTicket()).setIncarnation(0x77L).build(), receiver);
    String token = receiver.next(JOINED).getJoined().getSendToken();
    TestPeer first = relay.join(s.getProverTicket(), 0x33L);
    first.next(JOINED);
    receiver.next(PEER_JOINED);
    assertThat(stub.send(SendRequest.newBuilder().setSendToken(token)
        .addFrames(frame(1, "old1")).addFrames(frame(2, "old2")).build()).getAckedSeq()).isEqualTo(2);
    first.cancel();
    receiver.next(ServerMessage.KindCase.PEER_LEFT);
    try (TestPeer restarted = relay.join(s.getProverTicket(), 0x44L)) {
      restarted.next(JOINED);
      assertThat(receiver.next(PEER_JOINED).getPeerJoined().getIncarnation()).isEqualTo(0x44L);
      assertThat(stub.send(SendRequest.newBuilder().setSendToken(token).setResend(true)
          .addFrames(frame(1, "new1")).build()).getAckedSeq()).isEqualTo(1);
      assertThat(restarted.next(DATA).getData().getPayload().toStringUtf8()).isEqualTo("new1");
    }
  }

  @Test
  void aSendWaitsForAStalledPeerAndThenAnswersWithAPartialAck() throws Exception {
    CreateSessionResponse s = relay.createSession();
    var stub = RelayServiceGrpc.newBlockingStub(relay.channel);
    Receiver web = new Receiver();
    RelayServiceGrpc.newStub(relay.channel).receive(ReceiveRequest.newBuilder().setTicket(s.getProverTicket()).build(), web);
    String token = web.next(JOINED).getJoined().getSendToken();
    TestPeer stalled = TestPeer.connect(relay.channel, false);
    stalled.sendJoin(s.getVerifierTicket());
    stalled.read(1);
    stalled.next(JOINED);

    // 64 KiB frames towards a reader that reads nothing: the relay takes what the windows and
    // buffers hold, then the Send returns after the send wait with only part of it acknowledged.
    byte[] big = new byte[60 * 1024];
    long seq = 0;
    long acked = 0;
    for (int round = 0; round < 40 && acked == seq; round++) {
      SendRequest.Builder req = SendRequest.newBuilder().setSendToken(token);
      for (int i = 0; i < 4; i++) {
        req.addFrames(Frame.newBuilder().setSeq(++seq).setPayload(ByteString.copyFrom(big)));
      }
      long t0 = System.nanoTime();
      acked = stub.send(req.build()).getAckedSeq();
      if (acked < seq) {
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isGreaterThanOrEqualTo(Duration.ofMillis(300));
      }
    }
    assertThat(acked).as("a stalled peer must stop the sender").isLessThan(seq);
    System.out.printf("gRPC-Web sender stopped after %d of %d frames%n", acked, seq);

    // The reader resumes; the client resends from acked + 1 and everything arrives once, in order.
    stalled.read(Integer.MAX_VALUE);
    SendRequest.Builder rest = SendRequest.newBuilder().setSendToken(token);
    for (long i = acked + 1; i <= seq; i++) {
      rest.addFrames(Frame.newBuilder().setSeq(i).setPayload(ByteString.copyFrom(big)));
    }
    long ack = stub.send(rest.build()).getAckedSeq();
    while (ack < seq) {
      SendRequest.Builder again = SendRequest.newBuilder().setSendToken(token);
      for (long i = ack + 1; i <= seq; i++) {
        again.addFrames(Frame.newBuilder().setSeq(i).setPayload(ByteString.copyFrom(big)));
      }
      ack = stub.send(again.build()).getAckedSeq();
    }
    for (long i = 1; i <= seq; i++) {
      assertThat(stalled.next(DATA, Duration.ofSeconds(10)).getData().getSeq()).isEqualTo(i);
    }
    stalled.close();
  }

  // ---- gRPC-Web served directly on the HTTP port ----

  private HttpResponse<InputStream> post(String method, byte[] message, String origin) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + relay.server.webSocketPort()
            + "/relay.v1.RelayService/" + method))
        .header("content-type", "application/grpc-web+proto")
        .header("x-grpc-web", "1")
        .POST(HttpRequest.BodyPublishers.ofByteArray(GrpcWebHttp.frame(message, false)));
    if (origin != null) {
      b.header("Origin", origin);
    }
    return HttpClient.newHttpClient().send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
  }

  /** Reads one gRPC-Web frame: a message, or the trailers as text (prefixed with "trailers:"). */
  private static Object readFrame(DataInputStream in) throws Exception {
    int flags = in.readUnsignedByte();
    int length = in.readInt();
    byte[] body = in.readNBytes(length);
    return (flags & 0x80) != 0 ? "trailers:" + new String(body, StandardCharsets.US_ASCII) : ServerMessage.parseFrom(body);
  }

  @Test
  void theHttpPortServesGrpcWebFramingWithCorsAndAWebSocketPeer() throws Exception {
    CreateSessionResponse s = relay.createSession();
    HttpResponse<InputStream> receive = post("Receive",
        ReceiveRequest.newBuilder().setTicket(s.getVerifierTicket()).build().toByteArray(), "https://app.example.com");
    assertThat(receive.statusCode()).isEqualTo(200);
    assertThat(receive.headers().firstValue("content-type")).hasValue("application/grpc-web+proto");
    assertThat(receive.headers().firstValue("access-control-allow-origin")).hasValue("https://app.example.com");
    DataInputStream in = new DataInputStream(receive.body());
    ServerMessage joined = (ServerMessage) readFrame(in);
    String token = joined.getJoined().getSendToken();

    try (WsPeer prover = WsPeer.join(relay.server.webSocketPort(), s.getProverTicket())) {
      prover.next(JOINED);
      assertThat(((ServerMessage) readFrame(in)).hasPeerJoined()).isTrue();
      prover.sendData("t".getBytes());
      assertThat(((ServerMessage) readFrame(in)).getData().getPayload().toStringUtf8()).isEqualTo("t");

      HttpResponse<InputStream> sent = post("Send", SendRequest.newBuilder().setSessionId(s.getSessionId())
          .setSendToken(token).addFrames(frame(1, "c")).build().toByteArray(), "https://app.example.com");
      DataInputStream sendIn = new DataInputStream(sent.body());
      byte[] first = new byte[5];
      sendIn.readFully(first);
      assertThat(first[0]).isEqualTo((byte) 0);
      SendResponse ack = SendResponse.parseFrom(sendIn.readNBytes(java.nio.ByteBuffer.wrap(first, 1, 4).getInt()));
      assertThat(ack.getAckedSeq()).isEqualTo(1);
      assertThat(readFrame(sendIn)).isEqualTo("trailers:grpc-status:0\r\n");
      assertThat(prover.next(DATA).getData().getPayload().toStringUtf8()).isEqualTo("c");

      prover.terminate("done");
      ServerMessage ended = (ServerMessage) readFrame(in);
      assertThat(ended.getSessionEnded().getMessage()).isEqualTo("done");
      assertThat(readFrame(in)).isEqualTo("trailers:grpc-status:0\r\n");
    }
  }

  @Test
  void aForgedTicketOverHttpGrpcWebEndsWithUnauthenticatedInTheTrailers() throws Exception {
    HttpResponse<InputStream> receive = post("Receive",
        ReceiveRequest.newBuilder().setTicket("not.a.ticket").build().toByteArray(), null);
    assertThat(receive.statusCode()).isEqualTo(200);
    Object trailers = readFrame(new DataInputStream(receive.body()));
    assertThat((String) trailers).startsWith("trailers:grpc-status:16\r\ngrpc-message:");
  }

  @Test
  void corsPreflightIsAnsweredForAllowedOriginsOnlyAndOtherOriginsAreRefused() throws Exception {
    HttpClient http = HttpClient.newHttpClient();
    URI uri = URI.create("http://127.0.0.1:" + relay.server.webSocketPort() + "/relay.v1.RelayService/Send");
    HttpResponse<String> ok = http.send(HttpRequest.newBuilder(uri).method("OPTIONS", HttpRequest.BodyPublishers.noBody())
        .header("Origin", "https://app.example.com").header("Access-Control-Request-Method", "POST").build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(ok.statusCode()).isEqualTo(204);
    assertThat(ok.headers().firstValue("access-control-allow-origin")).hasValue("https://app.example.com");
    assertThat(ok.headers().firstValue("access-control-allow-headers").orElse("")).contains("x-session-id");

    HttpResponse<String> no = http.send(HttpRequest.newBuilder(uri).method("OPTIONS", HttpRequest.BodyPublishers.noBody())
        .header("Origin", "https://evil.example.net").build(), HttpResponse.BodyHandlers.ofString());
    assertThat(no.statusCode()).isEqualTo(403);
    assertThat(no.headers().firstValue("access-control-allow-origin")).isEmpty();

    HttpResponse<InputStream> refused = post("Receive", ReceiveRequest.getDefaultInstance().toByteArray(), "https://evil.example.net");
    assertThat(refused.statusCode()).isEqualTo(403);
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    refused.body().transferTo(body);
    assertThat(body.toString(StandardCharsets.UTF_8)).contains("--allowed-origin");
  }
}
