package dev.checkmate.relay.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import dev.checkmate.relay.proto.cluster.v1.Credit;
import dev.checkmate.relay.proto.cluster.v1.NodeMessage;
import dev.checkmate.relay.proto.cluster.v1.Ping;
import dev.checkmate.relay.proto.v1.Frame;
import dev.checkmate.relay.proto.v1.Role;
import org.junit.jupiter.api.Test;

/**
 * The receiving half of a binding notices every lost ordered message: in the middle of the stream
 * (the next one shows the gap) and at its end, where nothing ordered follows and only heartbeats
 * and credits do — those name the last ordered message sent before them.
 */
class BindingSequenceTest {
  /** A binding half without a link: only its sequence check is used. */
  private static final class Half extends Binding {
    Half() {
      super(null, "sid", Role.PROVER, ByteString.copyFromUtf8("token"));
    }

    @Override
    void onMessage(NodeMessage m, long receivedNanos) {}

    @Override
    void lost(String why) {}
  }

  private static NodeMessage frame(long seq) {
    return NodeMessage.newBuilder().setSeq(seq).setFrame(Frame.getDefaultInstance()).build();
  }

  private static NodeMessage ping(long sentSeq) {
    return NodeMessage.newBuilder().setSentSeq(sentSeq).setPing(Ping.getDefaultInstance()).build();
  }

  @Test
  void aLostLastFrameIsNoticedAtTheNextHeartbeat() {
    Half half = new Half();
    assertThat(half.inOrder(frame(1))).isTrue();
    assertThat(half.inOrder(ping(1))).as("heartbeat after everything arrived").isTrue();
    // frame 2 was lost (e.g. its NATS server died) and the sender has sent nothing ordered since
    assertThat(half.inOrder(ping(2))).as("heartbeat naming a frame that never arrived").isFalse();
  }

  @Test
  void aLostFrameIsNoticedByTheNextOneAndCreditsNameTheTailToo() {
    Half half = new Half();
    assertThat(half.inOrder(frame(1))).isTrue();
    assertThat(half.inOrder(frame(3))).as("frame 2 missing").isFalse();

    Half other = new Half();
    assertThat(other.inOrder(frame(1))).isTrue();
    assertThat(other.inOrder(NodeMessage.newBuilder().setSentSeq(2).setCredit(Credit.getDefaultInstance()).build()))
        .as("credit naming a frame that never arrived").isFalse();
  }

  @Test
  void heartbeatsFromANodeThatDoesNotNameItsLastSeqAreAccepted() {
    Half half = new Half();
    assertThat(half.inOrder(frame(1))).isTrue();
    assertThat(half.inOrder(ping(0))).isTrue();
    assertThat(half.inOrder(frame(2))).isTrue();
  }
}
