package dev.checkmate.relay.cluster;

import com.google.protobuf.ByteString;
import dev.checkmate.relay.proto.cluster.v1.NodeMessage;
import dev.checkmate.relay.proto.cluster.v1.Ping;
import dev.checkmate.relay.proto.v1.Role;

/**
 * One cross-node binding, i.e. one participant joined on a bridge node and seated at the session's
 * home: the half each node keeps. Each half is known by the random 128-bit token it issued (the
 * bridge in its BindRequest, the home in its BindReply); a message is for a binding only if it
 * carries that token and comes from the other half's node, on this node's private subject (so
 * tokens are read by the two nodes only). Both halves number their messages (a gap tears the
 * binding down, since NATS core may drop messages across a reconnect) and carry cumulative
 * consumption counters that are the credits of the other direction.
 */
abstract class Binding {
  final ClusterLink link;
  final String sessionId;
  final Role role;
  /** The token this node issued: how messages find this binding here. */
  final ByteString token;

  /** The other half, once known (the bridge learns the home's token from the BindReply). */
  volatile ByteString peerToken;
  volatile String peerNode;
  private volatile String outSubject;

  // guarded by this
  private long outSeq;
  private long inSeq;
  long consumedFrames;
  long consumedBytes;
  private long reportedFrames;
  private long reportedBytes;
  volatile long lastSentNanos;
  volatile long lastHeardNanos;
  volatile boolean closed;

  Binding(ClusterLink link, String sessionId, Role role, ByteString token) {
    this.link = link;
    this.sessionId = sessionId;
    this.role = role;
    this.token = token;
    long now = System.nanoTime();
    this.lastSentNanos = now;
    this.lastHeardNanos = now;
  }

  /** Sets the other half; messages can flow from now on. */
  final void connect(String node, ByteString peer) {
    peerNode = node;
    peerToken = peer;
    outSubject = Subjects.node(node, link.nodeId(), Subjects.shard(peer.toByteArray()));
  }

  /**
   * Stamps and publishes one message; returns false if it was not sent. Ordered messages (frames,
   * server messages, leave, close, ack) are numbered and a receiver tears the binding down on a
   * gap; credits and pings are idempotent (cumulative counters), carry seq 0 and the last seq sent.
   */
  final boolean publish(NodeMessage.Builder m) {
    boolean ordered = switch (m.getKindCase()) {
      case CREDIT, PING -> false;
      default -> true;
    };
    synchronized (this) {
      String subject = outSubject;
      if (closed || subject == null) {
        return false;
      }
      m.setToken(peerToken).setSeq(ordered ? ++outSeq : 0).setConsumedFrames(consumedFrames).setConsumedBytes(consumedBytes);
      if (!ordered) {
        m.setSentSeq(outSeq); // lets the receiver see a lost tail (pings flow even when nothing else does)
      }
      reportedFrames = consumedFrames;
      reportedBytes = consumedBytes;
      long now = System.nanoTime();
      lastSentNanos = now;
      if (link.hooks().timeHops() && (m.hasFrame() || m.hasServer() && m.getServer().hasData())) {
        m.setSentNanos(now);
      }
      // Published under the lock so seq order is wire order.
      return link.nats().publish(subject, m.build().toByteArray());
    }
  }

  /** Records consumption of one received frame; true when a credit report is due. */
  final synchronized boolean consumed(long frames, long bytes, int windowFrames, int windowBytes) {
    consumedFrames += frames;
    consumedBytes += bytes;
    return consumedFrames - reportedFrames >= Math.max(1, windowFrames / 4)
        || consumedBytes - reportedBytes >= windowBytes / 4;
  }

  /**
   * Checks the sequence of an incoming message (token and sender were checked by the router); false
   * = gap. A credit or ping names the last ordered message its sender published before it (same
   * subject, same lock: wire order), so a lost last frame or ack is noticed at the next heartbeat
   * rather than never.
   */
  final synchronized boolean inOrder(NodeMessage m) {
    lastHeardNanos = System.nanoTime();
    if (m.getSeq() == 0) {
      return m.getSentSeq() <= inSeq;
    }
    if (m.getSeq() != inSeq + 1) {
      return false;
    }
    inSeq = m.getSeq();
    return true;
  }

  /** One message for this binding (dispatcher thread of its shard). */
  abstract void onMessage(NodeMessage m, long receivedNanos);

  /** Sends a ping when nothing was sent for the heartbeat interval; reports death after dead-after. */
  final void tick(long nowNanos, long heartbeatNanos, long deadNanos) {
    if (closed || peerToken == null) {
      return; // not bound yet: the bind request has its own timeout
    }
    if (nowNanos - lastHeardNanos >= deadNanos) {
      lost("the relay node at the other end of this session stopped answering");
      return;
    }
    if (nowNanos - lastSentNanos >= heartbeatNanos && peerToken != null) {
      publish(NodeMessage.newBuilder().setPing(Ping.getDefaultInstance()));
    }
    checkClient(nowNanos);
  }

  /** Per tick, for the half of a binding that has a client stream (the bridge): is it still reading? */
  void checkClient(long nowNanos) {}

  /** The other node or the link is gone. */
  abstract void lost(String why);

  /** Stops listening; idempotent. */
  final void release() {
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
    }
    link.unbind(this);
  }
}
