package dev.checkmate.relay.cluster;

import com.google.protobuf.ByteString;
import dev.checkmate.relay.proto.cluster.v1.Credit;
import dev.checkmate.relay.proto.cluster.v1.Leave;
import dev.checkmate.relay.proto.cluster.v1.NodeMessage;
import dev.checkmate.relay.proto.v1.Ack;
import dev.checkmate.relay.proto.v1.Frame;
import dev.checkmate.relay.error.RelayError;
import dev.checkmate.relay.proto.v1.Role;
import dev.checkmate.relay.proto.v1.ServerMessage;
import dev.checkmate.relay.session.Seat;
import io.grpc.Status;
import java.util.ArrayDeque;
import java.util.List;

/**
 * The bridge half of a cross-node binding: the seat a transport uses on a node that is not the
 * session's home. Frames go up to the home over NATS; what the home sends comes down and is
 * handed to the client's stream.
 *
 * <p>Flow control, up: the bridge sends a frame (or ack) only while it holds credit, i.e. while
 * fewer than the home's window (frames and bytes) are unconsumed at the home, and reads the
 * client's next message only when nothing waits for credit; the home consumes a frame when its
 * local session takes it (only as fast as the peer reads), and cuts off a bridge that sends more.
 * Frames handed over from a lost claim wait in the same queue. Down: the bridge writes to the
 * client's stream only while it is ready; what arrives meanwhile waits here in order and counts as
 * consumed once written; the home sends only while the bridge's window has room, and a home that
 * sends more is cut off the same way. The bridge also applies the write-stall rule to its client,
 * which the home cannot see.
 */
final class RemoteSeat extends Binding implements Seat {
  private final ClusterSeat client;
  private final int maxFrameBytes;
  private final int myWindowFrames;
  private final int myWindowBytes;
  // guarded by this
  private boolean bound;
  private int homeWindowFrames;
  private int homeWindowBytes;
  private long sentFrames;
  private long sentBytes;
  private long homeConsumedFrames;
  private long homeConsumedBytes;
  private boolean waiting;
  /** Messages from the home the client cannot take yet, in order (bounded by the credit window). */
  private final ArrayDeque<ServerMessage> held = new ArrayDeque<>();
  /** The home's Close, once it came: the stream ends with it after the messages held before it (guarded by this). */
  private Status closeAfterHeld;
  private long receivedFrames;
  private long receivedBytes;
  /** Frames and acks ({@link Long}) waiting for credit, in order. */
  private final ArrayDeque<Object> outbox = new ArrayDeque<>();

  /** A binding about to be requested from {@code home}; {@code handedOver} go up first once bound. */
  RemoteSeat(ClusterLink link, ClusterSeat client, ByteString bridgeToken, String home, List<Frame> handedOver) {
    super(link, client.ticket.sessionId(), client.ticket.role(), bridgeToken);
    this.client = client;
    this.peerNode = home; // only the node asked may answer
    this.outbox.addAll(handedOver);
    this.maxFrameBytes = link.config().maxFrameBytes();
    this.myWindowFrames = link.config().clusterWindowFrames();
    this.myWindowBytes = link.config().clusterWindowBytes();
  }

  int windowFrames() {
    return myWindowFrames;
  }

  int windowBytes() {
    return myWindowBytes;
  }

  ClusterSeat client() {
    return client;
  }

  /** The home seated the participant: send the handed-over frames first, then start reading. */
  void bound(ByteString homeToken, int windowFrames, int windowBytes) {
    synchronized (this) {
      connect(peerNode, homeToken);
      homeWindowFrames = Math.max(1, windowFrames);
      homeWindowBytes = Math.max(1, windowBytes);
      lastHeardNanos = System.nanoTime();
      bound = true;
    }
    pump();
    boolean read;
    synchronized (this) {
      int outstanding = client.outstandingReads();
      read = outstanding <= 0 && outbox.isEmpty() && hasCredit(maxFrameBytes);
      waiting = !read && outstanding <= 0;
    }
    if (read) {
      client.requestNext();
    }
  }

  private boolean hasCredit(int size) {
    return sentFrames - homeConsumedFrames < homeWindowFrames && sentBytes - homeConsumedBytes + size <= homeWindowBytes;
  }

  /** Sends what waits for credit, in order, while credit lasts. */
  private void pump() {
    synchronized (this) {
      while (bound && !closed) {
        Object item = outbox.peek();
        int size = item instanceof Frame f ? f.getPayload().size() : 0;
        if (item == null || !hasCredit(size)) {
          return;
        }
        outbox.poll();
        sentFrames++;
        sentBytes += size;
        // Under the lock, so concurrent pumps keep the order.
        if (item instanceof Frame f) {
          long start = link.hooks().timeHops() ? System.nanoTime() : 0;
          if (publish(NodeMessage.newBuilder().setFrame(f))) {
            link.countOut(size);
          }
          if (start != 0) {
            link.hooks().hop(ClusterHooks.Hop.SEND, true, System.nanoTime() - start);
          }
        } else {
          publish(NodeMessage.newBuilder().setAck((Ack) item));
        }
      }
    }
  }

  /** After the client's message was queued: read the next one if nothing waits and credit allows. */
  private void readNextIfCredit() {
    boolean read;
    synchronized (this) {
      read = bound && outbox.isEmpty() && hasCredit(maxFrameBytes);
      waiting = !read;
    }
    if (read) {
      client.requestNext();
    }
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
    synchronized (this) {
      outbox.add(frame);
    }
    pump();
    readNextIfCredit();
  }

  /** An ack travels like a frame (in order, one credit frame, no bytes); the home forwards it to the peer. */
  @Override
  public void onAck(Ack ack) {
    synchronized (this) {
      outbox.add(ack);
    }
    pump();
    readNextIfCredit();
  }

  @Override
  public void onWritable() {
    flushHeld();
  }

  /**
   * The write-stall rule for a bridged client, which the session's home cannot see: a client that
   * reads nothing for the write-stall timeout leaves (the home tells its peer, which may wait for
   * it to come back) and its stream is closed with NOT_READING, as on a node-local session.
   */
  @Override
  void checkClient(long nowNanos) {
    long since = client.notReadingSinceNanos();
    if (since != 0 && nowNanos - since >= link.config().writeStallTimeout().toNanos()) {
      link.hub().stats().rejected(RelayError.NOT_READING);
      left("stopped reading");
      client.close(RelayError.NOT_READING.toStatus("the client read nothing the relay sent it for "
          + link.config().writeStallTimeout().toSeconds() + " s; read the stream, or it is closed"));
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

  @Override
  void onMessage(NodeMessage m, long receivedNanos) {
    if (!inOrder(m)) {
      link.refused(ClusterRefusal.SEQUENCE);
      lost("messages between relay nodes were lost");
      return;
    }
    boolean resume = false;
    synchronized (this) {
      homeConsumedFrames = Math.max(homeConsumedFrames, m.getConsumedFrames());
      homeConsumedBytes = Math.max(homeConsumedBytes, m.getConsumedBytes());
    }
    pump();
    synchronized (this) {
      if (waiting && outbox.isEmpty() && hasCredit(maxFrameBytes)) {
        waiting = false;
        resume = true;
      }
    }
    if (resume) {
      client.requestNext();
    }
    switch (m.getKindCase()) {
      case SERVER -> deliver(m.getServer(), receivedNanos);
      case CLOSE -> {
        // Behind what is held for the client (e.g. the SessionEnded before it): a Close written at
        // once would drop those, and the client would see its stream end without being told why.
        synchronized (this) {
          closeAfterHeld = ClusterLink.status(m.getClose().getCode(), m.getClose().getDescription());
        }
        flushHeld();
      }
      case CREDIT, PING -> { }
      default -> link.refused(ClusterRefusal.MALFORMED);
    }
  }

  /**
   * A message from the home for the client. It is written only while the client's stream can take
   * it; otherwise it waits here, behind anything already waiting, so nothing is written to a stream
   * that is not ready. Credit goes back to the home only for frames written, so what waits here is
   * bounded by the window this node granted (more is a CREDIT_EXCEEDED violation).
   */
  private void deliver(ServerMessage message, long receivedNanos) {
    if (message.hasData()) {
      int size = message.getData().getPayload().size();
      boolean over;
      synchronized (this) {
        receivedFrames++;
        receivedBytes += size;
        over = receivedFrames - consumedFrames > myWindowFrames || receivedBytes - consumedBytes > myWindowBytes;
      }
      if (over) {
        link.refused(ClusterRefusal.CREDIT_EXCEEDED);
        lost("the session's home node sent more than the cross-node credit window it was granted");
        return;
      }
      link.countIn(size);
    }
    synchronized (this) {
      held.add(message);
    }
    flushHeld();
    if (receivedNanos != 0 && message.hasData() && link.hooks().timeHops()) {
      link.hooks().hop(ClusterHooks.Hop.RECEIVE, false, System.nanoTime() - receivedNanos);
    }
  }

  /** Writes held messages while the client can take them, in order; reports the credit they free. */
  private void flushHeld() {
    long frames = 0;
    long bytes = 0;
    Status close = null;
    // Under this seat's lock, so two threads (NATS dispatcher, client event loop) never reorder.
    synchronized (this) {
      ServerMessage m;
      while ((m = held.peek()) != null && (!m.hasData() || client.isReady())) {
        held.poll();
        client.send(m);
        if (m.hasData()) {
          frames++;
          bytes += m.getData().getPayload().size();
        }
      }
      if (held.isEmpty() && closeAfterHeld != null) {
        close = closeAfterHeld;
        closeAfterHeld = null;
      }
    }
    if (close != null) {
      release();
      client.close(close);
      return;
    }
    if (frames > 0 && consumed(frames, bytes, myWindowFrames, myWindowBytes)) {
      publish(NodeMessage.newBuilder().setCredit(Credit.getDefaultInstance()));
    }
  }

  @Override
  void lost(String why) {
    release();
    client.close(Status.UNAVAILABLE.withDescription("relay node lost: " + why + "; reconnect"));
  }
}
