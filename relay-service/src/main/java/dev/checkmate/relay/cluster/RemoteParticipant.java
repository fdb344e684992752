package dev.checkmate.relay.cluster;

import com.google.protobuf.ByteString;
import dev.checkmate.relay.proto.cluster.v1.Close;
import dev.checkmate.relay.proto.cluster.v1.Credit;
import dev.checkmate.relay.proto.cluster.v1.NodeMessage;
import dev.checkmate.relay.proto.v1.Frame;
import dev.checkmate.relay.proto.v1.Role;
import dev.checkmate.relay.proto.v1.ServerMessage;
import dev.checkmate.relay.session.Participant;
import dev.checkmate.relay.error.RelayError;
import dev.checkmate.relay.session.Seat;
import io.grpc.Status;
import java.util.ArrayDeque;

/**
 * The home half of a cross-node binding: a participant joined on another node (the bridge), as
 * the home's ordinary local session sees it. Pairing, timers, limits and the one-stream-per-role
 * rule are therefore the single-node code, run at the home.
 *
 * <p>Up (bridge → home): frames and acks arrive into a small inbox; the local seat takes one per
 * {@link #requestNext} (only while its peer can take more) and each one taken is a credit back to
 * the bridge. The home counts what arrives against the window it granted the bridge: a bridge that
 * sends more than the window allows is cut off ({@link ClusterRefusal#CREDIT_EXCEEDED}), so the
 * inbox is bounded by the window whatever the other node does. Down (home → bridge):
 * {@link #isReady} is true while the bridge's window has room; credits from the bridge make it
 * ready again and wake the seat ({@link Seat#onWritable}).
 */
final class RemoteParticipant extends Binding implements Participant {
  private final int maxFrameBytes;
  private final int myWindowFrames;
  private final int myWindowBytes;
  private final int bridgeWindowFrames;
  private final int bridgeWindowBytes;
  volatile Seat seat;
  // guarded by this
  /** Frames and acks ({@link Long} seq) from the bridge, in order; each one is one read of the seat. */
  private final ArrayDeque<Object> inbox = new ArrayDeque<>();
  private int requested;
  private boolean draining;
  private long sentFrames;
  private long sentBytes;
  private long receivedFrames;
  private long receivedBytes;
  private volatile long bridgeConsumedFrames;
  private volatile long bridgeConsumedBytes;

  RemoteParticipant(ClusterLink link, String sessionId, Role role, ByteString homeToken, String bridgeNode,
      ByteString bridgeToken, int bridgeWindowFrames, int bridgeWindowBytes) {
    super(link, sessionId, role, homeToken);
    this.maxFrameBytes = link.config().maxFrameBytes();
    this.myWindowFrames = link.config().clusterWindowFrames();
    this.myWindowBytes = link.config().clusterWindowBytes();
    this.bridgeWindowFrames = Math.max(1, bridgeWindowFrames);
    this.bridgeWindowBytes = Math.max(maxFrameBytes, bridgeWindowBytes);
    connect(bridgeNode, bridgeToken);
  }

  int windowFrames() {
    return myWindowFrames;
  }

  int windowBytes() {
    return myWindowBytes;
  }

  // --- Participant: the home's session -> the bridge ---

  @Override
  public void send(ServerMessage message) {
    long start = link.hooks().timeHops() ? System.nanoTime() : 0;
    int size = message.hasData() ? message.getData().getPayload().size() : -1;
    if (size >= 0) {
      synchronized (this) {
        sentFrames++;
        sentBytes += size;
      }
    }
    if (publish(NodeMessage.newBuilder().setServer(message)) && size >= 0) {
      link.countOut(size);
      if (start != 0) {
        link.hooks().hop(ClusterHooks.Hop.SEND, false, System.nanoTime() - start);
      }
    }
  }

  @Override
  public boolean isReady() {
    synchronized (this) {
      return !closed && sentFrames - bridgeConsumedFrames < bridgeWindowFrames
          && sentBytes - bridgeConsumedBytes + maxFrameBytes <= bridgeWindowBytes;
    }
  }

  @Override
  public void requestNext() {
    synchronized (this) {
      requested++;
    }
    drain(0);
  }

  /** Hands inbox frames to the seat, one per requested read; re-entrant calls just add reads. */
  private void drain(long receivedNanos) {
    while (true) {
      Object item;
      Seat s = seat;
      synchronized (this) {
        if (draining || s == null) {
          return;
        }
        item = requested > 0 ? inbox.poll() : null;
        if (item == null) {
          return;
        }
        requested--;
        draining = true;
      }
      try {
        int size = item instanceof Frame f ? f.getPayload().size() : 0;
        if (consumed(1, size, myWindowFrames, myWindowBytes)) {
          publish(NodeMessage.newBuilder().setCredit(Credit.getDefaultInstance()));
        }
        if (item instanceof Frame f) {
          s.onFrame(f);
          if (receivedNanos != 0) {
            link.hooks().hop(ClusterHooks.Hop.RECEIVE, true, System.nanoTime() - receivedNanos);
            receivedNanos = 0;
          }
        } else {
          s.onAck((dev.checkmate.relay.proto.v1.Ack) item);
        }
      } finally {
        synchronized (this) {
          draining = false;
        }
      }
    }
  }

  @Override
  public void close(Status status) {
    publish(NodeMessage.newBuilder().setClose(Close.newBuilder().setCode(status.getCode().name())
        .setDescription(status.getDescription() == null ? "" : status.getDescription())));
    release();
  }

  @Override
  public String transport() {
    return BRIDGED_TRANSPORT;
  }

  // --- from the bridge ---

  void attach(Seat s) {
    seat = s;
    drain(0);
  }

  @Override
  void onMessage(NodeMessage m, long receivedNanos) {
    if (!inOrder(m)) {
      link.refused(ClusterRefusal.SEQUENCE);
      lost("messages between relay nodes were lost");
      return;
    }
    boolean wasReady = isReady();
    bridgeConsumedFrames = Math.max(bridgeConsumedFrames, m.getConsumedFrames());
    bridgeConsumedBytes = Math.max(bridgeConsumedBytes, m.getConsumedBytes());
    Seat s = seat;
    if (!wasReady && isReady() && s != null) {
      s.onWritable();
    }
    switch (m.getKindCase()) {
      case FRAME -> {
        int size = m.getFrame().getPayload().size();
        if (!receive(m.getFrame(), size)) {
          return;
        }
        link.countIn(size);
        drain(link.hooks().timeHops() ? receivedNanos : 0);
      }
      case ACK -> {
        if (receive(m.getAck(), 0)) {
          drain(0);
        }
      }
      case LEAVE -> {
        if (s == null) {
          return;
        }
        String detail = m.getLeave().getDetail();
        switch (m.getLeave().getKind()) {
          case TERMINATE -> s.terminate(detail);
          case PROTOCOL_ERROR -> s.protocolError(detail);
          case FRAME_TOO_LARGE -> link.hub().reportViolation(s, RelayError.FRAME_TOO_LARGE, detail);
          default -> {
            release();
            s.left(detail);
          }
        }
      }
      case CREDIT, PING -> { }
      default -> link.refused(ClusterRefusal.MALFORMED);
    }
  }

  /** Counts one arriving frame or ack against the window granted to the bridge; false = over it, binding cut. */
  private boolean receive(Object item, int size) {
    synchronized (this) {
      if (closed) {
        return false;
      }
      receivedFrames++;
      receivedBytes += size;
      if (receivedFrames - consumedFrames <= myWindowFrames && receivedBytes - consumedBytes <= myWindowBytes) {
        inbox.add(item);
        return true;
      }
      inbox.clear();
    }
    link.refused(ClusterRefusal.CREDIT_EXCEEDED);
    String why = "relay node " + peerNode + " sent more than the cross-node credit window it was granted ("
        + myWindowFrames + " frames / " + myWindowBytes + " bytes)";
    publish(NodeMessage.newBuilder().setClose(Close.newBuilder().setCode(Status.Code.RESOURCE_EXHAUSTED.name())
        .setDescription(why + "; reconnect")));
    lost(why);
    return false;
  }

  @Override
  void lost(String why) {
    release();
    Seat s = seat;
    if (s != null) {
      s.left(why);
    }
  }
}
