package dev.checkmate.relay.cluster;

import dev.checkmate.relay.proto.cluster.v1.NodeMessage;
import dev.checkmate.relay.proto.v1.Role;
import io.nats.client.Subscription;

/**
 * One cross-node binding, i.e. one participant joined on a bridge node and seated at the session's
 * home: the half each node keeps. Both halves number their messages (a gap tears the binding
 * down, since NATS core may drop messages across a reconnect), stamp them with both tokens, and
 * carry cumulative consumption counters that are the credits of the other direction.
 */
abstract class Binding {
  final ClusterLink link;
  final String sessionId;
  final Role role;
  final String bridgeToken;
  final String upSubject;
  final String downSubject;
  volatile String homeToken;
  volatile Subscription subscription;

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

  Binding(ClusterLink link, String sessionId, Role role, String bridgeToken, String homeToken) {
    this.link = link;
    this.sessionId = sessionId;
    this.role = role;
    this.bridgeToken = bridgeToken;
    this.homeToken = homeToken;
    this.upSubject = Subjects.up(sessionId, role);
    this.downSubject = Subjects.down(sessionId, role);
    long now = System.nanoTime();
    this.lastSentNanos = now;
    this.lastHeardNanos = now;
  }

  /** The subject this half publishes on. */
  abstract String outSubject();

  /**
   * Stamps and publishes one message; returns false if the link refused it. Ordered messages
   * (frames, server messages, leave, close) are numbered and a receiver tears the binding down on a
   * gap; credits and pings are idempotent (cumulative counters) and carry seq 0.
   */
  final boolean publish(NodeMessage.Builder m) {
    boolean ordered = switch (m.getKindCase()) {
      case CREDIT, PING -> false;
      default -> true;
    };
    synchronized (this) {
      if (closed) {
        return false;
      }
      m.setBridgeToken(bridgeToken).setHomeToken(homeToken == null ? "" : homeToken)
          .setSeq(ordered ? ++outSeq : 0).setConsumedFrames(consumedFrames).setConsumedBytes(consumedBytes);
      reportedFrames = consumedFrames;
      reportedBytes = consumedBytes;
      lastSentNanos = System.nanoTime();
      // Published under the lock so seq order is wire order.
      return link.publish(outSubject(), m.build().toByteArray());
    }
  }

  /** Records consumption of one received frame; true when a credit report is due. */
  final synchronized boolean consumed(long frames, long bytes, int windowFrames, int windowBytes) {
    consumedFrames += frames;
    consumedBytes += bytes;
    return consumedFrames - reportedFrames >= Math.max(1, windowFrames / 4)
        || consumedBytes - reportedBytes >= windowBytes / 4;
  }

  /** Checks tokens and sequence of an incoming message: null = accept, otherwise why it is dropped. */
  final synchronized String admit(NodeMessage m) {
    String home = homeToken;
    if (!bridgeToken.equals(m.getBridgeToken()) || home == null || !home.equals(m.getHomeToken())) {
      return "token";
    }
    lastHeardNanos = System.nanoTime();
    if (m.getSeq() == 0) {
      return null;
    }
    if (m.getSeq() != inSeq + 1) {
      return "gap";
    }
    inSeq = m.getSeq();
    return null;
  }

  /** Sends a ping when nothing was sent for the heartbeat interval; reports death after dead-after. */
  final void tick(long nowNanos, long heartbeatNanos, long deadNanos) {
    if (closed) {
      return;
    }
    if (nowNanos - lastHeardNanos >= deadNanos) {
      lost("the relay node at the other end of this session stopped answering");
      return;
    }
    if (nowNanos - lastSentNanos >= heartbeatNanos && homeToken != null) {
      publish(NodeMessage.newBuilder().setPing(dev.checkmate.relay.proto.cluster.v1.Ping.getDefaultInstance()));
    }
  }

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
