package dev.checkmate.relay.cluster;

import static dev.checkmate.relay.cluster.ClusterFixture.link;
import static dev.checkmate.relay.cluster.ClusterFixture.node;
import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.DATA;
import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.JOINED;
import static org.assertj.core.api.Assertions.assertThat;

import dev.checkmate.relay.RelayConfig;
import dev.checkmate.relay.proto.v1.CreateSessionResponse;
import dev.checkmate.relay.proto.v1.ServerMessage;
import dev.checkmate.relay.testing.TestPeer;
import dev.checkmate.relay.testing.TestRelay;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Back-pressure across nodes: a stalled receiver on one node stops a sender on another, with a
 * bounded number of bytes in flight end to end (documented in docs/cluster.md), other sessions
 * keep flowing, and nothing is lost or reordered.
 */
@Timeout(60)
class ClusterBackPressureIT {
  static final int WINDOW = 64 * 1024;
  static final int FRAME = 8 * 1024;
  static final int CLUSTER_WINDOW_BYTES = 4 * FRAME;
  static final int READY_THRESHOLD = 32 * 1024;

  @TempDir
  static Path dir;
  static NatsServer nats;
  static TestRelay home;
  static TestRelay bridge;

  @BeforeAll
  static void start() throws Exception {
    ClusterFixture.requireNats();
    nats = NatsServer.builder(dir, "bp").start();
    UnaryOperator<RelayConfig.Builder> small = b -> b.flowControlWindow(WINDOW).maxFrameBytes(FRAME)
        .rendezvousMaxBytes(4 * FRAME).maxFramesPerSecond(1_000_000).maxBytesPerSecond(1L << 40)
        .clusterWindowBytes(CLUSTER_WINDOW_BYTES).clusterWindowFrames(64);
    home = node(dir, "bp-home", nats, small);
    bridge = node(dir, "bp-bridge", nats, small);
  }

  @AfterAll
  static void stop() throws Exception {
    if (home != null) {
      home.close();
    }
    if (bridge != null) {
      bridge.close();
    }
    if (nats != null) {
      nats.close();
    }
  }

  /** receiverAtHome: the stalled receiver is on the session's home and the sender on the bridge, or the reverse. */
  @ParameterizedTest
  @ValueSource(booleans = {true, false})
  void aStalledReceiverOnOneNodeBoundsASenderOnAnother(boolean receiverAtHome) throws Exception {
    TestRelay receiverNode = receiverAtHome ? home : bridge;
    TestRelay senderNode = receiverAtHome ? bridge : home;
    CreateSessionResponse s = home.createSession();
    ManagedChannel receiverChannel = NettyChannelBuilder.forAddress("127.0.0.1", receiverNode.server.grpcPort())
        .usePlaintext().flowControlWindow(WINDOW).build();
    TestPeer receiver = TestPeer.connect(receiverChannel, false);
    TestPeer sender;
    if (receiverAtHome) {
      receiver.sendJoin(s.getVerifierTicket());
      receiver.read(1);
      receiver.next(JOINED);
      sender = senderNode.join(s.getProverTicket());
      assertThat(sender.next(JOINED).getJoined().getPeerPresent()).isTrue();
    } else {
      sender = senderNode.join(s.getProverTicket());
      sender.next(JOINED);
      receiver.sendJoin(s.getVerifierTicket());
      receiver.read(1);
      receiver.next(JOINED);
      TestRelay.await("paired", () -> sender.received.stream().anyMatch(ServerMessage::hasPeerJoined));
    }

    long sent = 0;
    long lastProgress = System.nanoTime();
    while (System.nanoTime() - lastProgress < TimeUnit.MILLISECONDS.toNanos(1500)) {
      if (sender.isReady()) {
        sender.sendData(new byte[FRAME]);
        sent += FRAME;
        lastProgress = System.nanoTime();
      } else {
        Thread.sleep(5);
      }
    }
    assertThat(sender.closed).as("sender must be stalled, not failed").isNotDone();
    long inFlight = sent - receiver.payloadBytesReceived.get();
    // Sender's outbound queue + sender node's inbound window + the cross-node window (NATS and the
    // receiving node's inbox) + one frame read ahead on each node + the receiver node's outbound
    // queue + the receiver's inbound window.
    long bound = (READY_THRESHOLD + FRAME) + WINDOW + CLUSTER_WINDOW_BYTES + 2L * FRAME + (READY_THRESHOLD + FRAME) + WINDOW;
    System.out.printf("cross-node stalled (receiver at %s): sent=%d B, unread=%d B, bound=%d B%n",
        receiverAtHome ? "home" : "bridge", sent, inFlight, bound);
    assertThat(inFlight).isLessThanOrEqualTo(bound);
    assertThat(sent).as("the sender was really stopped").isLessThan(4L * bound);

    // Meanwhile another cross-node session flows.
    CreateSessionResponse other = home.createSession();
    try (TestPeer a = home.join(other.getProverTicket())) {
      a.next(JOINED);
      try (TestPeer b = bridge.join(other.getVerifierTicket())) {
        b.next(JOINED);
        for (int i = 0; i < 100; i++) {
          a.sendData(new byte[FRAME]);
          b.next(DATA);
        }
      }
    }

    // The receiver resumes: every frame arrives once, in order.
    long frames = sent / FRAME;
    receiver.read(Integer.MAX_VALUE);
    long seq = 0;
    while (seq < frames) {
      ServerMessage m = ClusterIT.skipTo(receiver, DATA);
      assertThat(m.getData().getSeq()).isEqualTo(++seq);
    }
    assertThat(link(home).crossNodeFrames(ClusterLink.Direction.OUT) + link(bridge).crossNodeFrames(ClusterLink.Direction.OUT))
        .isGreaterThanOrEqualTo(frames);
    sender.close();
    receiver.close();
    receiverChannel.shutdownNow();
  }

  /** The defaults' proportions of the cross-node window and a client's unread allowance, no rate limits. */
  private static final UnaryOperator<RelayConfig.Builder> DEFAULT_PROPORTIONS = b -> b.flowControlWindow(WINDOW)
      .maxFrameBytes(FRAME).maxFramesPerSecond(1_000_000).maxBytesPerSecond(1L << 40)
      .clusterWindowBytes(256 * 1024).clusterWindowFrames(64);

  /**
   * A session with its prover on {@code home} and its verifier on {@code bridge}; the verifier reads
   * nothing after Joined, and the prover sends frames until it is held back (or {@code maxFrames}).
   */
  private record PausedBridgedSession(TestPeer sender, TestPeer receiver, ManagedChannel receiverChannel, int frames)
      implements AutoCloseable {
    static PausedBridgedSession open(TestRelay home, TestRelay bridge, int maxFrames, long quietMillis) throws Exception {
      CreateSessionResponse s = home.createSession();
      TestPeer sender = home.join(s.getProverTicket());
      sender.next(JOINED);
      ManagedChannel receiverChannel = NettyChannelBuilder.forAddress("127.0.0.1", bridge.server.grpcPort())
          .usePlaintext().flowControlWindow(WINDOW).build();
      TestPeer receiver = TestPeer.connect(receiverChannel, false);
      receiver.sendJoin(s.getVerifierTicket());
      receiver.read(1);
      receiver.next(JOINED);
      TestRelay.await("paired", () -> sender.received.stream().anyMatch(ServerMessage::hasPeerJoined));
      int frames = 0;
      long lastProgress = System.nanoTime();
      while (System.nanoTime() - lastProgress < TimeUnit.MILLISECONDS.toNanos(quietMillis) && frames < maxFrames) {
        if (sender.isReady()) {
          sender.sendData(new byte[FRAME]);
          frames++;
          lastProgress = System.nanoTime();
        } else {
          Thread.sleep(5);
        }
      }
      return new PausedBridgedSession(sender, receiver, receiverChannel, frames);
    }

    @Override
    public void close() {
      sender.close();
      receiver.close();
      receiverChannel.shutdownNow();
    }
  }

  /**
   * The defaults' proportions: the cross-node window (256 KiB) is larger than what a client may
   * leave unread before the relay closes it (one frame + 64 KiB). A receiver on the bridge that
   * pauses (a slow reader, a busy page) must be back-pressured like a local one, not closed as not
   * reading: the bridge hands the home's frames to the client only while its stream is ready and
   * keeps the rest (within the window). It used to write them all at once; the soak found slow
   * readers on bridges closed with RESOURCE_EXHAUSTED.
   */
  @org.junit.jupiter.api.Test
  void aPausedReceiverOnABridgeIsBackPressuredNotClosedWhenTheWindowExceedsItsUnreadAllowance() throws Exception {
    try (TestRelay h = node(dir, "bpd-home", nats, DEFAULT_PROPORTIONS);
         TestRelay b = node(dir, "bpd-bridge", nats, DEFAULT_PROPORTIONS);
         PausedBridgedSession session = PausedBridgedSession.open(h, b, 400, 1500)) {
      TestPeer receiver = session.receiver();
      assertThat(session.frames()).as("more than the client may leave unread was sent")
          .isGreaterThan((FRAME + 64 * 1024) / FRAME + 1);
      Thread.sleep(300);
      assertThat(receiver.closed).as("the paused receiver is not closed").isNotDone();
      receiver.read(Integer.MAX_VALUE);
      for (int seq = 1; seq <= session.frames(); seq++) {
        assertThat(ClusterIT.skipTo(receiver, DATA).getData().getSeq()).isEqualTo(seq);
      }
      assertThat(receiver.closed).isNotDone();
    }
  }

  /**
   * A session terminated at its home while frames for a bridged receiver still wait at the bridge
   * (its client is not reading): the receiver gets those frames, then SessionEnded, then the end of
   * its stream, as a node-local receiver does. The bridge used to close the stream as soon as the
   * home's Close came, dropping what it held, SessionEnded included: the soak saw a resumed client's
   * stream end "without saying why" just as its peer terminated.
   */
  @org.junit.jupiter.api.Test
  void aBridgedReceiverGetsTheFramesHeldForItThenSessionEndedBeforeItsStreamCloses() throws Exception {
    try (TestRelay h = node(dir, "end-home", nats, DEFAULT_PROPORTIONS);
         TestRelay b = node(dir, "end-bridge", nats, DEFAULT_PROPORTIONS);
         PausedBridgedSession session = PausedBridgedSession.open(h, b, 24, 1000)) {
      TestPeer sender = session.sender();
      TestPeer receiver = session.receiver();
      assertThat(session.frames()).as("more than the receiver's stream takes unread").isGreaterThan(WINDOW / FRAME + 2);
      Thread.sleep(300); // the frames reach the bridge, which holds what its client's stream cannot take
      sender.terminate("done");
      ClusterIT.skipTo(sender, dev.checkmate.relay.proto.v1.ServerMessage.KindCase.SESSION_ENDED);
      Thread.sleep(300); // SessionEnded and Close reach the bridge while it still holds frames
      receiver.read(Integer.MAX_VALUE);
      for (int seq = 1; seq <= session.frames(); seq++) {
        assertThat(ClusterIT.skipTo(receiver, DATA).getData().getSeq()).isEqualTo(seq);
      }
      ServerMessage ended = ClusterIT.skipTo(receiver, dev.checkmate.relay.proto.v1.ServerMessage.KindCase.SESSION_ENDED);
      assertThat(ended.getSessionEnded().getReason()).isEqualTo(dev.checkmate.relay.proto.v1.EndReason.TERMINATED);
      assertThat(receiver.awaitClose().isOk()).as("closed after SessionEnded, OK").isTrue();
    }
  }

  /**
   * What the bridge holds behind the home's Close is bounded in time too: a bridged client that
   * never reads again does not keep the binding (and the frames held for it) once its session ended
   * at the home — the home stops answering for the binding and the bridge lets it go after
   * clusterDeadAfter (1 s in these tests), instead of waiting for the client forever.
   */
  @org.junit.jupiter.api.Test
  void aBridgedReceiverThatNeverReadsDoesNotKeepItsBindingAfterTheSessionEndedAtTheHome() throws Exception {
    try (TestRelay h = node(dir, "gone-home", nats, DEFAULT_PROPORTIONS);
         TestRelay b = node(dir, "gone-bridge", nats, DEFAULT_PROPORTIONS);
         PausedBridgedSession session = PausedBridgedSession.open(h, b, 24, 1000)) {
      assertThat(session.frames()).as("more than the receiver's stream takes unread").isGreaterThan(WINDOW / FRAME + 2);
      TestRelay.await("the bridge holds a binding", () -> link(b).bindingCount() == 1);
      session.sender().terminate("done");
      long t0 = System.nanoTime();
      TestRelay.await("the bridge let the binding go", () -> link(b).bindingCount() == 0);
      long ms = (System.nanoTime() - t0) / 1_000_000;
      System.out.printf("bridge released a never-reading client's binding %d ms after terminate%n", ms);
      assertThat(link(h).bindingCount()).as("the home forgot it too").isZero();
    }
  }
}
