package dev.checkmate.relay.transport.http.websocket;

import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.DATA;
import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.HEARTBEAT;
import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.JOINED;
import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.PEER_JOINED;
import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.PEER_LEFT;
import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.SESSION_ENDED;
import static org.assertj.core.api.Assertions.assertThat;

import dev.checkmate.relay.RelayConfig;
import dev.checkmate.relay.proto.v1.ClientMessage;
import dev.checkmate.relay.proto.v1.CreateSessionResponse;
import dev.checkmate.relay.proto.v1.EndReason;
import dev.checkmate.relay.proto.v1.Heartbeat;
import dev.checkmate.relay.proto.v1.Role;
import dev.checkmate.relay.proto.v1.ServerMessage;
import dev.checkmate.relay.testing.TestPeer;
import dev.checkmate.relay.testing.TestRelay;
import dev.checkmate.relay.testing.WsPeer;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** WebSocket participants against a real relay on loopback: pairing, mixed sessions, back-pressure. */
class WebSocketTransportTest {
  private TestRelay relay;
  private int port;

  @BeforeEach
  void start() throws Exception {
    relay = TestRelay.start(RelayConfig.builder().webSocketPort(0));
    port = relay.server.webSocketPort();
  }

  @AfterEach
  void stop() throws Exception {
    relay.close();
  }

  @Test
  void twoWebSocketsPairAndRelayFramesBothWaysInOrder() throws Exception {
    CreateSessionResponse s = relay.createSession();
    try (WsPeer prover = WsPeer.connect(port, "session=" + s.getSessionId(), null, true)) {
      prover.sendJoin(s.getProverTicket());
      ServerMessage joined = prover.next(JOINED);
      assertThat(joined.getJoined().getRole()).isEqualTo(Role.PROVER);
      assertThat(joined.getJoined().getSessionId()).isEqualTo(s.getSessionId());
      assertThat(joined.getJoined().getPeerPresent()).isFalse();
      try (WsPeer verifier = WsPeer.join(port, s.getVerifierTicket())) {
        assertThat(verifier.next(JOINED).getJoined().getPeerPresent()).isTrue();
        assertThat(prover.next(PEER_JOINED).getPeerJoined().getRole()).isEqualTo(Role.VERIFIER);
        for (int i = 0; i < 100; i++) {
          prover.sendData(("p" + i).getBytes());
          verifier.sendData(("v" + i).getBytes());
        }
        for (int i = 0; i < 100; i++) {
          ServerMessage atVerifier = verifier.next(DATA);
          assertThat(atVerifier.getData().getSeq()).isEqualTo(i + 1);
          assertThat(atVerifier.getData().getPayload().toStringUtf8()).isEqualTo("p" + i);
          assertThat(prover.next(DATA).getData().getPayload().toStringUtf8()).isEqualTo("v" + i);
        }
        verifier.terminate("verified");
        for (WsPeer p : new WsPeer[] {prover, verifier}) {
          ServerMessage ended = p.next(SESSION_ENDED);
          assertThat(ended.getSessionEnded().getReason()).isEqualTo(EndReason.TERMINATED);
          assertThat(ended.getSessionEnded().getMessage()).isEqualTo("verified");
          assertThat(ended.getSessionEnded().getEndedBy()).isEqualTo(Role.VERIFIER);
          assertThat(p.awaitClose().code()).isEqualTo(1000);
        }
      }
    }
    TestRelay.await("hub empty", () -> relay.server.hub().sessionCount() == 0);
    TestRelay.await("permits released", () -> relay.server.addressLimiter().trackedAddresses() == 0);
  }

  @Test
  void aGrpcProverAndAWebSocketVerifierShareOneSession() throws Exception {
    CreateSessionResponse s = relay.createSession();
    try (TestPeer prover = relay.join(s.getProverTicket())) {
      // Joined first, so the prover (not the verifier) is the one told its peer joined.
      prover.next(JOINED);
      WsPeer verifier = WsPeer.join(port, s.getVerifierTicket());
      verifier.next(JOINED);
      prover.next(PEER_JOINED);
      for (int i = 0; i < 50; i++) {
        prover.sendData(new byte[] {(byte) i});
        verifier.sendData(new byte[] {(byte) -i});
      }
      for (int i = 0; i < 50; i++) {
        assertThat(verifier.next(DATA).getData().getPayload().byteAt(0)).isEqualTo((byte) i);
        assertThat(prover.next(DATA, Duration.ofSeconds(5)).getData().getPayload().byteAt(0)).isEqualTo((byte) -i);
      }
      // The browser goes away without terminating: the gRPC peer is told, the role stays reserved.
      verifier.closeSocket();
      assertThat(prover.next(PEER_LEFT).getPeerLeft().getRole()).isEqualTo(Role.VERIFIER);
      try (WsPeer again = WsPeer.join(port, s.getVerifierTicket())) {
        assertThat(again.next(JOINED).getJoined().getPeerPresent()).isTrue();
        prover.sendData("after reconnect".getBytes());
        assertThat(again.next(DATA).getData().getPayload().toStringUtf8()).isEqualTo("after reconnect");
      }
    }
  }

  @Test
  void heartbeatsAreAnswered() throws Exception {
    CreateSessionResponse s = relay.createSession();
    try (WsPeer p = WsPeer.join(port, s.getProverTicket())) {
      p.next(JOINED);
      p.send(ClientMessage.newBuilder().setHeartbeat(Heartbeat.getDefaultInstance()).build());
      assertThat(p.received.poll(5, TimeUnit.SECONDS).getKindCase()).isEqualTo(HEARTBEAT);
    }
  }

  @Test
  void aStalledWebSocketReaderStopsTheSenderAndLosesNothing() throws Exception {
    int frame = 8 * 1024;
    relay.close();
    relay = TestRelay.start(RelayConfig.builder().webSocketPort(0).maxFrameBytes(frame)
        .rendezvousMaxBytes(4 * frame).maxFramesPerSecond(1_000_000).maxBytesPerSecond(1L << 40));
    port = relay.server.webSocketPort();
    CreateSessionResponse s = relay.createSession();
    WsPeer receiver = WsPeer.connect(port, null, null, false);
    receiver.sendJoin(s.getVerifierTicket());
    receiver.read(1);
    receiver.next(JOINED);
    TestPeer sender = relay.join(s.getProverTicket());
    sender.next(JOINED);

    long sent = 0;
    long lastProgress = System.nanoTime();
    while (System.nanoTime() - lastProgress < TimeUnit.MILLISECONDS.toNanos(1500)) {
      if (sender.isReady()) {
        sender.sendData(new byte[frame]);
        sent += frame;
        lastProgress = System.nanoTime();
      } else {
        Thread.sleep(5);
      }
    }
    assertThat(sender.closed).as("sender must be stalled, not failed").isNotDone();
    // What the relay holds for the stalled browser is its channel's 32 KiB water mark plus a frame;
    // the rest of the unread bytes sit in the two kernels' socket buffers (loopback autotuning
    // lets those grow to a few MiB) and in the sender's own HTTP/2 window.
    System.out.printf("stalled WebSocket reader: sender wrote %d B before it was stopped%n", sent);
    assertThat(sent).as("the sender was really stopped").isLessThan(64L * 1024 * 1024);
    assertThat(relay.server.hub().stats().stalls()).isPositive();

    long frames = sent / frame;
    receiver.read(Long.MAX_VALUE);
    receiver.next(PEER_JOINED);
    for (long i = 1; i <= frames; i++) {
      assertThat(receiver.next(DATA).getData().getSeq()).as("frame %d of %d", i, frames).isEqualTo(i);
    }
    sender.close();
    receiver.close();
  }

  @Test
  void aWebSocketSenderIsBackPressuredByAStalledGrpcReader() throws Exception {
    int frame = 8 * 1024;
    int window = 64 * 1024;
    relay.close();
    relay = TestRelay.start(RelayConfig.builder().webSocketPort(0).maxFrameBytes(frame).flowControlWindow(window)
        .rendezvousMaxBytes(4 * frame).maxFramesPerSecond(1_000_000).maxBytesPerSecond(1L << 40));
    port = relay.server.webSocketPort();
    ManagedChannel receiverChannel = NettyChannelBuilder.forAddress("127.0.0.1", relay.server.grpcPort())
        .usePlaintext().flowControlWindow(window).build();
    CreateSessionResponse s = relay.createSession();
    TestPeer receiver = TestPeer.connect(receiverChannel, false);
    receiver.sendJoin(s.getVerifierTicket());
    receiver.read(1);
    receiver.next(JOINED);
    WsPeer sender = WsPeer.join(port, s.getProverTicket());
    sender.next(JOINED);

    // Write until the socket refuses more for a while: the relay stopped reading it.
    long sent = 0;
    while (true) {
      var written = sender.sendData(new byte[frame]);
      try {
        written.get(1500, TimeUnit.MILLISECONDS);
        sent += frame;
      } catch (java.util.concurrent.TimeoutException e) {
        break;
      }
      assertThat(sent).as("the relay must stop reading the WebSocket").isLessThan(64L * 1024 * 1024);
    }
    System.out.printf("stalled gRPC reader: WebSocket sender wrote %d B before it was stopped%n", sent);
    assertThat(sender.closed).isNotDone();
    long frames = sent / frame + 1;
    receiver.read(Integer.MAX_VALUE);
    receiver.next(PEER_JOINED);
    for (long i = 1; i <= frames; i++) {
      assertThat(receiver.next(DATA, Duration.ofSeconds(10)).getData().getSeq()).isEqualTo(i);
    }
    sender.close();
    receiver.close();
    receiverChannel.shutdownNow();
  }

  @Test
  void healthzSaysServingThenNotServingWhileDraining() throws Exception {
    relay.close();
    relay = TestRelay.start(RelayConfig.builder().webSocketPort(0).preStopDelay(Duration.ofSeconds(3)));
    port = relay.server.webSocketPort();
    var http = java.net.http.HttpClient.newHttpClient();
    var req = java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + port + "/healthz")).build();
    var res = http.send(req, java.net.http.HttpResponse.BodyHandlers.ofString());
    assertThat(res.statusCode()).isEqualTo(200);
    assertThat(res.body().strip()).isEqualTo("SERVING");
    int grpcPort = relay.server.grpcPort();

    Thread closer = new Thread(() -> {
      try {
        relay.close();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    });
    closer.start();
    Thread.sleep(200);
    res = http.send(req, java.net.http.HttpResponse.BodyHandlers.ofString());
    assertThat(res.statusCode()).isEqualTo(503);
    assertThat(res.body().strip()).isEqualTo("NOT_SERVING");
    // gRPC health says the same at the same time.
    ManagedChannel healthChannel = NettyChannelBuilder.forAddress("127.0.0.1", grpcPort).usePlaintext().build();
    var health = io.grpc.health.v1.HealthGrpc.newBlockingStub(healthChannel)
        .check(io.grpc.health.v1.HealthCheckRequest.getDefaultInstance());
    healthChannel.shutdownNow();
    assertThat(health.getStatus()).isEqualTo(io.grpc.health.v1.HealthCheckResponse.ServingStatus.NOT_SERVING);
    // A new WebSocket while draining is told to go elsewhere.
    try (WsPeer late = WsPeer.connect(port, null, null, true)) {
      assertThat(late.awaitClose().code()).isEqualTo(CloseCodes.DRAINING);
    }
    closer.join(10_000);
  }

  @Test
  void theRelayShuttingDownClosesWebSocketsWith1012() throws Exception {
    CreateSessionResponse s = relay.createSession();
    WsPeer p = WsPeer.join(port, s.getProverTicket());
    p.next(JOINED);
    relay.close();
    ServerMessage ended = p.next(SESSION_ENDED);
    assertThat(ended.getSessionEnded().getReason()).isEqualTo(EndReason.RELAY_SHUTDOWN);
    assertThat(p.awaitClose().code()).isEqualTo(1012);
    relay = TestRelay.start(RelayConfig.builder().webSocketPort(0)); // for @AfterEach
  }

  @Test
  void theGrpcStatusOfAMixedSessionMatchesTheWebSocketCloseCode() throws Exception {
    CreateSessionResponse s = relay.createSession();
    try (TestPeer prover = relay.join(s.getProverTicket())) {
      // Joined first, so the prover (not the verifier) is the one told its peer joined.
      prover.next(JOINED);
      WsPeer verifier = WsPeer.join(port, s.getVerifierTicket());
      verifier.next(JOINED);
      prover.next(PEER_JOINED);
      prover.terminate("done");
      assertThat(prover.awaitClose()).isEqualTo(Status.OK);
      assertThat(verifier.next(SESSION_ENDED).getSessionEnded().getMessage()).isEqualTo("done");
      assertThat(verifier.awaitClose().code()).isEqualTo(1000);
    }
  }
}
