package dev.checkmate.relay.cluster;

import dev.checkmate.relay.proto.cluster.v1.Credit;
import dev.checkmate.relay.proto.cluster.v1.Leave;
import dev.checkmate.relay.proto.cluster.v1.NodeMessage;
import dev.checkmate.relay.proto.v1.Frame;
import dev.checkmate.relay.proto.v1.Role;
import dev.checkmate.relay.proto.v1.ServerMessage;
import dev.checkmate.relay.session.Seat;
import io.grpc.Status;
import java.util.List;

/**
 * The bridge half of a cross-node binding: the seat a transport uses on a node that is not the
 * session's home. Frames go up to the home over NATS; what the home sends comes down and is
 * handed to the client's stream.
 *
 * <p>Flow control, up: the bridge reads the client's next frame only while it holds credit, i.e.
 * while fewer than the home's window (frames and bytes) are unconsumed at the home; the home
 * consumes a frame when its local session takes it (only as fast as the peer reads). Down: the
 * bridge counts a frame consumed once it is handed to a client stream that is still ready, or when
 * that stream becomes writable again; the home sends only while the bridge's window has room.
 */
final class RemoteSeat extends Binding implements Seat {
  private final ClusterSeat client;
  private final int maxFrameBytes;
  private final int myWindowFrames;
  private final int myWindowBytes;
  // guarded by this
  private int homeWindowFrames;
  private int homeWindowBytes;
  private long sentFrames;
  private long sentBytes;
  private long homeConsumedFrames;
  private long homeConsumedBytes;
  private boolean waiting;
  private long blockedFrames;
  private long blockedBytes;
  private java.util.ArrayDeque<NodeMessage> early = new java.util.ArrayDeque<>();
  volatile String homeNode = "";

  RemoteSeat(ClusterLink link, ClusterSeat client, String bridgeToken) {
    super(link, client.ticket.sessionId(), client.ticket.role(), bridgeToken, null);
    this.client = client;
    this.maxFrameBytes = link.config().maxFrameBytes();
    this.myWindowFrames = link.config().clusterWindowFrames();
    this.myWindowBytes = link.config().clusterWindowBytes();
  }

  @Override
  String outSubject() {
    return upSubject;
  }

  int windowFrames() {
    return myWindowFrames;
  }

  int windowBytes() {
    return myWindowBytes;
  }

  /** The home seated the participant: replay what came down early, send handed-over frames, start reading. */
  void bound(String token, String node, int windowFrames, int windowBytes, List<Frame> handedOver) {
    synchronized (this) {
      homeToken = token;
      homeNode = node;
      homeWindowFrames = Math.max(1, windowFrames);
      homeWindowBytes = Math.max(2 * maxFrameBytes, windowBytes);
      lastHeardNanos = System.nanoTime();
    }
    // Replay what came down before the reply, in order; messages arriving meanwhile queue behind.
    while (true) {
      NodeMessage m;
      synchronized (this) {
        m = early.poll();
        if (m == null) {
          early = null;
          break;
        }
      }
      accept(m);
    }
    for (Frame f : handedOver) {
      sendUp(f);
    }
    boolean read;
    synchronized (this) {
      read = client.outstandingReads() <= 0 && hasCredit();
      waiting = !read && client.outstandingReads() <= 0;
    }
    if (read) {
      client.requestNext();
    }
  }

  private boolean hasCredit() {
    return sentFrames - homeConsumedFrames < homeWindowFrames
        && sentBytes - homeConsumedBytes + maxFrameBytes <= homeWindowBytes;
  }

  // --- Seat: the client's transport ---

  @Override
  public String sessionId() {
    return sessionId;
  }

  @Override
  public Role role() {
    return role;
  }

  @Override
  public void onFrame(Frame frame) {
    int size = frame.getPayload().size();
    if (size > maxFrameBytes) {
      // Never ship an oversize payload (it may not even fit a NATS message): the home, which runs
      // the session, ends it with LIMIT_EXCEEDED as it would for a local participant.
      publish(NodeMessage.newBuilder().setLeave(Leave.newBuilder().setKind(Leave.Kind.FRAME_TOO_LARGE)
          .setDetail("frame payload of " + size + " bytes exceeds the limit of " + maxFrameBytes
              + " bytes; split it into smaller frames")));
      return;
    }
    sendUp(frame);
    boolean read;
    synchronized (this) {
      read = hasCredit();
      waiting = !read;
    }
    if (read) {
      client.requestNext();
    }
  }

  /** An ack travels like a frame (in order, one credit frame, no bytes); the home forwards it to the peer. */
  @Override
  public void onAck(long seq) {
    synchronized (this) {
      sentFrames++;
    }
    publish(NodeMessage.newBuilder().setAck(dev.checkmate.relay.proto.v1.Ack.newBuilder().setSeq(seq)));
    boolean read;
    synchronized (this) {
      read = hasCredit();
      waiting = !read;
    }
    if (read) {
      client.requestNext();
    }
  }

  private void sendUp(Frame frame) {
    synchronized (this) {
      sentFrames++;
      sentBytes += frame.getPayload().size();
    }
    if (publish(NodeMessage.newBuilder().setFrame(frame))) {
      link.countOut(frame.getPayload().size());
    }
  }

  @Override
  public void onWritable() {
    long frames;
    long bytes;
    synchronized (this) {
      frames = blockedFrames;
      bytes = blockedBytes;
      blockedFrames = 0;
      blockedBytes = 0;
    }
    if (frames > 0) {
      consumed(frames, bytes, myWindowFrames, myWindowBytes);
      // Report at once: the home may be parked on a full window.
      publish(NodeMessage.newBuilder().setCredit(Credit.getDefaultInstance()));
    }
  }

  @Override
  public void terminate(String reason) {
    leave(Leave.Kind.TERMINATE, reason, false);
  }

  @Override
  public void left(String detail) {
    leave(Leave.Kind.LEFT, detail, true);
  }

  @Override
  public void protocolError(String message) {
    leave(Leave.Kind.PROTOCOL_ERROR, message, false);
  }

  private void leave(Leave.Kind kind, String detail, boolean gone) {
    publish(NodeMessage.newBuilder().setLeave(Leave.newBuilder().setKind(kind).setDetail(detail == null ? "" : detail)));
    if (gone) {
      release();
    }
    // Otherwise the home answers with SessionEnded and Close, which still reach the client.
  }

  // --- from the home ---

  /** One message on this binding's .down subject (dispatcher thread). */
  void onDown(NodeMessage m) {
    synchronized (this) {
      if (early != null) {
        if (m.getBridgeToken().equals(bridgeToken) && early.size() < myWindowFrames + 16) {
          early.add(m);
        }
        return;
      }
    }
    accept(m);
  }

  private void accept(NodeMessage m) {
    String why = admit(m);
    if (why != null) {
      if (why.equals("gap")) {
        lost("messages between relay nodes were lost");
      }
      return;
    }
    boolean resume = false;
    synchronized (this) {
      homeConsumedFrames = Math.max(homeConsumedFrames, m.getConsumedFrames());
      homeConsumedBytes = Math.max(homeConsumedBytes, m.getConsumedBytes());
      if (waiting && hasCredit()) {
        waiting = false;
        resume = true;
      }
    }
    if (resume) {
      client.requestNext();
    }
    switch (m.getKindCase()) {
      case SERVER -> deliver(m.getServer());
      case CLOSE -> {
        release();
        client.close(ClusterLink.status(m.getClose().getCode(), m.getClose().getDescription()));
      }
      default -> { }
    }
  }

  private void deliver(ServerMessage message) {
    if (!message.hasData()) {
      client.send(message);
      return;
    }
    int size = message.getData().getPayload().size();
    link.countIn(size);
    client.send(message);
    boolean report;
    if (client.isReady()) {
      report = consumed(1, size, myWindowFrames, myWindowBytes);
    } else {
      synchronized (this) {
        blockedFrames++;
        blockedBytes += size;
      }
      report = false;
      // The stream may have drained between send and the check: its on-ready reports then.
      if (client.isReady()) {
        onWritable();
      }
    }
    if (report) {
      publish(NodeMessage.newBuilder().setCredit(Credit.getDefaultInstance()));
    }
  }

  @Override
  void lost(String why) {
    release();
    client.close(Status.UNAVAILABLE.withDescription("relay node lost: " + why + "; reconnect"));
  }
}
