package dev.checkmate.relay;

import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.DATA;
import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.JOINED;
import static org.assertj.core.api.Assertions.assertThat;

import dev.checkmate.relay.proto.v1.CreateSessionResponse;
import dev.checkmate.relay.testing.TestPeer;
import dev.checkmate.relay.testing.TestRelay;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * End-to-end back-pressure: a receiver that stops reading stalls its sender, the relay holds a
 * bounded number of bytes for that session, other sessions keep flowing, and nothing is lost.
 */
class BackPressureTest {
  static final int WINDOW = 64 * 1024;
  static final int FRAME = 8 * 1024;
  /** grpc-java's DEFAULT_ONREADY_THRESHOLD: a stream stops being ready past this much queued. */
  static final int READY_THRESHOLD = 32 * 1024;

  @Test
  void aStalledReceiverBoundsWhatTheRelayHoldsAndOtherSessionsKeepFlowing() throws Exception {
    try (TestRelay relay = TestRelay.start(RelayConfig.builder().flowControlWindow(WINDOW).maxFrameBytes(FRAME)
        .rendezvousMaxBytes(4 * FRAME).maxFramesPerSecond(1_000_000).maxBytesPerSecond(1L << 40))) {
      // The stalled receiver's own window is small too, so the end-to-end accounting is tight.
      ManagedChannel receiverChannel = NettyChannelBuilder.forAddress("127.0.0.1", relay.server.grpcPort())
          .usePlaintext().flowControlWindow(WINDOW).build();
      CreateSessionResponse s = relay.createSession();
      TestPeer receiver = TestPeer.connect(receiverChannel, false);
      receiver.sendJoin(s.getVerifierTicket());
      receiver.read(1);
      receiver.next(JOINED);
      TestPeer sender = relay.join(s.getProverTicket());
      sender.next(JOINED);

      // Send while the stream is ready, exactly as a well-behaved client (and the SDK) does.
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
      // Everything not yet read by the receiving application sits in one of four bounded places:
      // the sender's outbound queue, the relay's inbound window, the relay's outbound queue to the
      // receiver, and the receiver's inbound window. The relay's own share is the middle two.
      long relayBound = WINDOW + READY_THRESHOLD + FRAME;
      long endToEndBound = (READY_THRESHOLD + FRAME) + relayBound + WINDOW;
      System.out.printf("stalled: sent=%d B, unread=%d B, end-to-end bound=%d B, relay bound=%d B%n",
          sent, inFlight, endToEndBound, relayBound);
      assertThat(inFlight).isLessThanOrEqualTo(endToEndBound);
      assertThat(sent).as("the sender was really stopped").isLessThan(10L * endToEndBound);
      assertThat(relay.server.hub().stats().stalls()).isPositive();

      // Meanwhile another session flows normally.
      CreateSessionResponse other = relay.createSession();
      try (TestPeer a = relay.join(other.getProverTicket()); TestPeer b = relay.join(other.getVerifierTicket())) {
        a.next(JOINED);
        b.next(JOINED);
        for (int i = 0; i < 200; i++) {
          a.sendData(new byte[FRAME]);
          b.next(DATA);
        }
      }

      // The receiver resumes: every frame arrives, in order, none dropped.
      long frames = sent / FRAME;
      receiver.read(Integer.MAX_VALUE);
      receiver.next(dev.checkmate.relay.proto.v1.ServerMessage.KindCase.PEER_JOINED);
      for (long i = 1; i <= frames; i++) {
        assertThat(receiver.next(DATA).getData().getSeq()).isEqualTo(i);
      }
      sender.close();
      receiver.close();
      receiverChannel.shutdownNow();
    }
  }

  @Test
  void aFullRendezvousBufferBackPressuresTheSenderInsteadOfDropping() throws Exception {
    try (TestRelay relay = TestRelay.start(RelayConfig.builder().rendezvousMaxFrames(8).rendezvousMaxBytes(64 * 1024)
        .maxFrameBytes(1024).flowControlWindow(WINDOW))) {
      CreateSessionResponse s = relay.createSession();
      try (TestPeer early = relay.join(s.getProverTicket())) {
        early.next(JOINED);
        for (int i = 0; i < 50; i++) {
          early.sendData(new byte[1000]);
        }
        TestRelay.await("buffer full", () -> relay.server.hub().rendezvousBytes() == 8 * 1000);
        Thread.sleep(200);
        assertThat(relay.server.hub().rendezvousBytes()).as("never past the bound").isEqualTo(8 * 1000);
        try (TestPeer late = relay.join(s.getVerifierTicket())) {
          late.next(JOINED);
          for (int i = 1; i <= 50; i++) {
            assertThat(late.next(DATA).getData().getSeq()).isEqualTo(i);
          }
        }
      }
    }
  }
}
