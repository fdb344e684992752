package dev.checkmate.relay.bench;

import com.google.protobuf.ByteString;
import dev.checkmate.relay.proto.v1.ClientMessage;
import dev.checkmate.relay.proto.v1.CreateSessionRequest;
import dev.checkmate.relay.proto.v1.Frame;
import dev.checkmate.relay.proto.v1.Join;
import dev.checkmate.relay.proto.v1.ServerMessage;
import dev.checkmate.relay.proto.v1.Terminate;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What the two participants of a W8 session do, whatever carries their messages (gRPC stream or
 * WebSocket): join; once the prover knows its peer is there it sends a 256-byte frame, the
 * verifier sends each frame straight back, and after {@link #ROUND_TRIPS} round trips the prover
 * terminates in-band. The session is done when the relay has closed both participants normally.
 */
final class ChurnPeers {
  static final int PAYLOAD_BYTES = 256;
  static final int ROUND_TRIPS = 4;
  private static final ByteString PAYLOAD;

  static {
    byte[] b = new byte[PAYLOAD_BYTES];
    for (int i = 0; i < b.length; i++) {
      b[i] = (byte) (i * 31 + 7);
    }
    PAYLOAD = ByteString.copyFrom(b);
  }

  /**
   * CreateSession for a short-lived session, as ZKP sessions are. The lifetime matters beyond the
   * session: the relay remembers an ended session's id until its tickets expire (plus clock skew).
   */
  static CreateSessionRequest create(int ttlSeconds) {
    return CreateSessionRequest.newBuilder().setTtlSeconds(ttlSeconds).build();
  }

  static final ClientMessage TERMINATE =
      ClientMessage.newBuilder().setTerminate(Terminate.newBuilder().setReason("done")).build();

  static ClientMessage join(String ticket) {
    return ClientMessage.newBuilder().setJoin(Join.newBuilder().setTicket(ticket)).build();
  }

  static ClientMessage frame(long seq, ByteString payload) {
    return ClientMessage.newBuilder().setData(Frame.newBuilder().setSeq(seq).setPayload(payload)).build();
  }

  /** One session's two participants. */
  static final class Pair {
    final ChurnDriver.Session session;
    private final AtomicInteger paired = new AtomicInteger();
    private final AtomicInteger closedOk = new AtomicInteger();
    /** Runs once when the session is over, either way (e.g. closes dedicated connections). */
    volatile Runnable cleanup = () -> {};

    Pair(ChurnDriver.Session session) {
      this.session = session;
    }

    private void peerPaired() {
      if (paired.incrementAndGet() == 2) {
        session.paired();
      }
    }

    private void closed(Peer p, boolean ok, String why) {
      if (!ok) {
        session.fail(why);
        return;
      }
      if (!p.ended) {
        session.fail("closed before SessionEnded");
        return;
      }
      if (closedOk.incrementAndGet() == 2) {
        session.done();
        cleanup.run();
      }
    }
  }

  /** One participant; subclasses carry its messages. */
  abstract static class Peer {
    final Pair pair;
    final boolean prover;
    private boolean seenPeer; // event-loop confined
    private int rounds;
    private long seq;
    volatile boolean ended;

    Peer(Pair pair, boolean prover) {
      this.pair = pair;
      this.prover = prover;
    }

    /** Sends one client message on this participant's stream or socket. */
    abstract void send(ClientMessage m);

    final void onMessage(ServerMessage m) {
      switch (m.getKindCase()) {
        case JOINED -> {
          if (m.getJoined().getPeerPresent()) {
            peerThere();
          }
        }
        case PEER_JOINED -> peerThere();
        case DATA -> {
          if (!prover) {
            send(frame(++seq, m.getData().getPayload()));
          } else if (++rounds < ROUND_TRIPS) {
            send(frame(++seq, PAYLOAD));
          } else {
            send(TERMINATE);
          }
        }
        case SESSION_ENDED -> ended = true;
        default -> { }
      }
    }

    private void peerThere() {
      if (seenPeer) {
        return;
      }
      seenPeer = true;
      pair.peerPaired();
      if (prover) {
        send(frame(++seq, PAYLOAD));
      }
    }

    /** The relay closed this participant: {@code ok} = normally (gRPC OK, WebSocket 1000). */
    final void onClosed(boolean ok, String why) {
      pair.closed(this, ok, why);
    }
  }
}
