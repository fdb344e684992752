package dev.checkmate.relay.client;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import dev.checkmate.relay.proto.v1.Ack;
import dev.checkmate.relay.proto.v1.ClientMessage;
import dev.checkmate.relay.proto.v1.Frame;
import dev.checkmate.relay.proto.v1.PeerLeft;
import dev.checkmate.relay.proto.v1.ServerMessage;
import io.grpc.Status;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The SDK's resume on the wire, against a scripted relay: duplicate and out-of-order suppression
 * by seq, cumulative batched acks, the bounded unacknowledged buffer back-pressuring send, and a
 * rejoin that sends the current ack and then the unacknowledged frames with their original seq
 * and bytes before anything new.
 */
@Timeout(30)
class ResumeProtocolTest {
  private volatile boolean peerPresent = true;
  private ScriptedRelay relay;
  private RelayClient client;

  @BeforeEach
  void start() throws Exception {
    relay = new ScriptedRelay(join -> ScriptedRelay.joined(peerPresent).build());
    client = RelayClient.builder()
        .target(relay.target())
        .usePlaintext()
        .heartbeatInterval(Duration.ZERO)
        .resumeBuffer(4, 1 << 20)
        .resumeGrace(Duration.ofSeconds(10))
        .build();
  }

  @AfterEach
  void stop() throws Exception {
    client.close();
    relay.close();
  }

  private static String ticket() {
    return ScriptedRelay.ticket();
  }

  private static ServerMessage frame(long seq, String text) {
    return ServerMessage.newBuilder().setData(Frame.newBuilder()
        .setSeq(seq).setPayload(ByteString.copyFromUtf8(text))).build();
  }

  private static ServerMessage ack(long seq) {
    return ServerMessage.newBuilder().setAck(Ack.newBuilder().setSeq(seq)).build();
  }

  private static String text(byte[] b) {
    return b == null ? null : new String(b, StandardCharsets.UTF_8);
  }

  @Test
  void duplicatesAndFramesAheadOfARetransmissionAreDroppedBySeqAndAcksAreCumulative() throws Exception {
    try (RelaySession s = client.join(ticket())) {
      ScriptedRelay.Stream relay = this.relay.nextStream();
      relay.toClient().onNext(frame(1, "one"));
      relay.toClient().onNext(frame(2, "two"));
      relay.toClient().onNext(frame(2, "two again"));
      relay.toClient().onNext(frame(1, "one again"));
      relay.toClient().onNext(frame(4, "four, ahead of three"));
      relay.toClient().onNext(frame(3, "three"));
      relay.toClient().onNext(frame(4, "four"));
      List<String> got = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        got.add(text(s.receive(Duration.ofSeconds(5))));
      }
      assertThat(got).containsExactly("one", "two", "three", "four");
      assertThat(s.receive(Duration.ofMillis(200))).isNull();
      assertThat(s.isOpen()).isTrue();
      GrpcRelaySession g = (GrpcRelaySession) s;
      assertThat(g.duplicatesDropped()).isEqualTo(2);
      assertThat(g.outOfOrderDropped()).isEqualTo(1);
      // Batched: after the delay one cumulative ack covers everything in order so far.
      long acked = 0;
      for (ClientMessage m; acked < 4 && (m = relay.fromClient().poll(2, TimeUnit.SECONDS)) != null; ) {
        if (m.hasAck()) {
          assertThat(m.getAck().getSeq()).isGreaterThanOrEqualTo(acked);
          acked = m.getAck().getSeq();
        }
      }
      assertThat(acked).isEqualTo(4);
      assertThat(g.acksSent()).as("batched, not one per frame").isLessThan(4);
    }
  }

  /**
   * A frame is acknowledged only once the application has it: frames waiting in the SDK when its
   * process dies are then resent or reported lost by the peer, never believed delivered.
   */
  @Test
  void framesAreAcknowledgedOnlyOnceTheApplicationTookThem() throws Exception {
    try (RelaySession s = client.join(ticket())) {
      ScriptedRelay.Stream relay = this.relay.nextStream();
      for (int i = 1; i <= 3; i++) {
        relay.toClient().onNext(frame(i, "f" + i));
      }
      assertThat(relay.fromClient().poll(300, TimeUnit.MILLISECONDS)).as("nothing taken, nothing acknowledged").isNull();
      assertThat(text(s.receive(Duration.ofSeconds(5)))).isEqualTo("f1");
      ClientMessage ack = relay.nextNonHeartbeat();
      assertThat(ack.getAck().getSeq()).isEqualTo(1);
      assertThat(relay.fromClient().poll(300, TimeUnit.MILLISECONDS)).as("f2 and f3 are not taken yet").isNull();
      s.receive(Duration.ofSeconds(5));
      s.receive(Duration.ofSeconds(5));
      assertThat(relay.nextNonHeartbeat().getAck().getSeq()).isEqualTo(3);
    }
  }

  @Test
  void theUnacknowledgedBufferIsBoundedAndBackPressuresSend() throws Exception {
    try (RelaySession s = client.join(ticket())) {
      ScriptedRelay.Stream relay = this.relay.nextStream();
      List<CompletableFuture<Void>> sends = new ArrayList<>();
      for (int i = 1; i <= 6; i++) {
        sends.add(s.send(("f" + i).getBytes(StandardCharsets.UTF_8)));
      }
      for (int i = 0; i < 4; i++) {
        sends.get(i).get(5, TimeUnit.SECONDS);
        assertThat(relay.nextNonHeartbeat().getData().getSeq()).isEqualTo(i + 1);
      }
      Thread.sleep(300);
      assertThat(sends.get(4)).as("5th frame waits: 4 unacknowledged").isNotDone();
      assertThat(relay.fromClient().poll(100, TimeUnit.MILLISECONDS)).isNull();
      relay.toClient().onNext(ack(1));
      sends.get(4).get(5, TimeUnit.SECONDS);
      assertThat(relay.nextNonHeartbeat().getData().getSeq()).isEqualTo(5);
      assertThat(sends.get(5)).isNotDone();
      relay.toClient().onNext(ack(5));
      sends.get(5).get(5, TimeUnit.SECONDS);
      assertThat(relay.nextNonHeartbeat().getData().getSeq()).isEqualTo(6);
    }
  }

  @Test
  void afterALostStreamTheSdkRejoinsSendsItsAckThenTheUnacknowledgedFramesThenNewOnes() throws Exception {
    BlockingQueue<String> events = new LinkedBlockingQueue<>();
    RelaySession s = client.join(ticket(), new SessionListener() {
      @Override
      public void onFrame(RelaySession session, byte[] payload) {
        events.add("frame " + text(payload));
      }

      @Override
      public void onReconnecting(RelaySession session, RelayException cause) {
        events.add("reconnecting " + cause.code());
      }

      @Override
      public void onResumed(RelaySession session) {
        events.add("resumed");
      }

      @Override
      public void onPeerReconnecting(RelaySession session, String detail) {
        events.add("peer reconnecting");
      }

      @Override
      public void onEnded(RelaySession session, RelayException reason) {
        events.add("ended " + reason);
      }
    });
    try {
      ScriptedRelay.Stream first = relay.nextStream();
      first.toClient().onNext(frame(1, "a"));
      first.toClient().onNext(ServerMessage.newBuilder().setPeerLeft(PeerLeft.newBuilder()
          .setRole(dev.checkmate.relay.proto.v1.Role.PROVER).setReconnecting(true)).build());
      assertThat(events.poll(5, TimeUnit.SECONDS)).isEqualTo("frame a");
      assertThat(events.poll(5, TimeUnit.SECONDS)).isEqualTo("peer reconnecting");
      List<ClientMessage> sent = new ArrayList<>();
      for (int i = 1; i <= 3; i++) {
        s.send(("m" + i).getBytes(StandardCharsets.UTF_8)).get(5, TimeUnit.SECONDS);
      }
      while (sent.size() < 3) {
        ClientMessage m = first.nextNonHeartbeat();
        if (m.hasData()) {
          sent.add(m);
        }
      }
      first.toClient().onNext(ack(1));
      Thread.sleep(100); // the ack arrives before the loss
      first.toClient().onError(Status.UNAVAILABLE.withDescription("node lost").asRuntimeException());
      assertThat(events.poll(5, TimeUnit.SECONDS)).isEqualTo("reconnecting UNAVAILABLE");
      CompletableFuture<Void> during = s.send("m4".getBytes(StandardCharsets.UTF_8));

      ScriptedRelay.Stream second = relay.nextStream();
      assertThat(events.poll(5, TimeUnit.SECONDS)).isEqualTo("resumed");
      ClientMessage m = second.nextNonHeartbeat();
      assertThat(m.hasAck()).as("the current ack first: " + m).isTrue();
      assertThat(m.getAck().getSeq()).isEqualTo(1);
      // Frames 2 and 3 again, byte for byte, then the frame sent while away.
      assertThat(second.nextNonHeartbeat()).isEqualTo(sent.get(1));
      assertThat(second.nextNonHeartbeat()).isEqualTo(sent.get(2));
      ClientMessage fresh = second.nextNonHeartbeat();
      assertThat(fresh.getData().getSeq()).isEqualTo(4);
      assertThat(fresh.getData().getPayload().toStringUtf8()).isEqualTo("m4");
      during.get(5, TimeUnit.SECONDS);
      // The peer's numbering continues across the loss: 1 again is a duplicate, 2 is new.
      second.toClient().onNext(frame(1, "a again"));
      second.toClient().onNext(frame(2, "b"));
      assertThat(events.poll(5, TimeUnit.SECONDS)).isEqualTo("frame b");
      assertThat(s.isOpen()).isTrue();
    } finally {
      s.close();
    }
  }

  /**
   * A Terminate written on a stream that broke before the relay confirmed it may never have
   * reached the session's home (the soak under relay kills found sessions that stayed open after
   * their prover terminated): the rejoined stream carries it again, behind the frames sent again.
   */
  @Test
  void aTerminateLostWithItsStreamIsWrittenAgainAfterTheRejoin() throws Exception {
    RelaySession s = client.join(ticket());
    ScriptedRelay.Stream first = relay.nextStream();
    s.send("last".getBytes(StandardCharsets.UTF_8)).get(5, TimeUnit.SECONDS);
    CompletableFuture<Void> terminated = CompletableFuture.runAsync(() -> {
      try {
        s.terminate("done");
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    });
    ClientMessage m;
    do {
      m = first.nextNonHeartbeat();
    } while (!m.hasTerminate());
    first.toClient().onError(Status.UNAVAILABLE.withDescription("node lost").asRuntimeException());

    ScriptedRelay.Stream second = relay.nextStream();
    List<ClientMessage> after = new ArrayList<>();
    do {
      m = second.nextNonHeartbeat();
      after.add(m);
    } while (!m.hasTerminate());
    assertThat(m.getTerminate().getReason()).isEqualTo("done");
    assertThat(after).as("the unacknowledged frame again, then the Terminate")
        .anyMatch(x -> x.hasData() && x.getData().getPayload().toStringUtf8().equals("last"));
    second.toClient().onNext(ServerMessage.newBuilder().setSessionEnded(dev.checkmate.relay.proto.v1.SessionEnded.newBuilder()
        .setReason(dev.checkmate.relay.proto.v1.EndReason.TERMINATED).setMessage("done")).build());
    second.toClient().onCompleted();
    terminated.get(10, TimeUnit.SECONDS);
    assertThat(s.isOpen()).isFalse();
  }

  @Test
  void aStreamReplacedByAnotherJoinIsNotResumed() throws Exception {
    RelaySession s = client.join(ticket());
    ScriptedRelay.Stream stream = relay.nextStream();
    stream.toClient().onError(Status.ABORTED.withDescription("replaced by a newer connection").asRuntimeException());
    try {
      s.receive(Duration.ofSeconds(5));
      throw new AssertionError("expected the end");
    } catch (RelayException e) {
      assertThat(e.code()).isEqualTo(StatusCode.ABORTED);
    }
    assertThat(relay.pollStream(500)).as("no rejoin").isNull();
  }

  @Test
  void aRefusedRejoinEndsTheSessionWithTheRelaysError() throws Exception {
    RelaySession s = client.join(ticket());
    ScriptedRelay.Stream stream = relay.nextStream();
    relay.refuseJoins(Status.FAILED_PRECONDITION.withDescription("the session has already ended"));
    stream.drop();
    try {
      s.receive(Duration.ofSeconds(10));
      throw new AssertionError("expected the end");
    } catch (SessionEndedException e) {
      assertThat(e.code()).isEqualTo(StatusCode.FAILED_PRECONDITION);
    }
  }
}
