package dev.checkmate.relay.cluster;

import com.google.protobuf.ByteString;
import dev.checkmate.relay.proto.cluster.v1.BindReply;
import dev.checkmate.relay.proto.cluster.v1.BindRequest;
import dev.checkmate.relay.proto.cluster.v1.NodeMessage;
import dev.checkmate.relay.proto.cluster.v1.TerminateReply;
import dev.checkmate.relay.proto.cluster.v1.TerminateRequest;
import dev.checkmate.relay.proto.v1.Frame;
import dev.checkmate.relay.error.RelayError;
import dev.checkmate.relay.error.RelayException;
import dev.checkmate.relay.ticket.Ticket;
import io.grpc.Status;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * The bridge side: binds a participant to its session's home and forwards TerminateSession to it.
 * The participant's ticket travels only sealed for that home node and that binding (or request),
 * on the home's private subject; the answer comes back on this node's private subject. Nothing
 * waits: answers complete asynchronously, and a home that does not answer within
 * {@link ClusterLink#REQUEST_TIMEOUT} fails the request with a clear status.
 */
final class Bridges {
  private record PendingTerminate(String home, CompletableFuture<Boolean> result, ScheduledFuture<?> timer) {}

  private final ClusterLink link;
  private final ScheduledExecutorService timers;
  private final String me;
  private final Map<ByteString, PendingTerminate> terminates = new ConcurrentHashMap<>();

  Bridges(ClusterLink link, ScheduledExecutorService timers) {
    this.link = link;
    this.timers = timers;
    this.me = link.nodeId();
  }

  /**
   * Binds the participant to {@code home}: found by a lookup, or the winner of a claim this node
   * lost ({@code handover}: the participant was told Joined here, and {@code handedOver} are the
   * frames it had sent, which go first).
   */
  void bind(ClusterSeat cs, String home, boolean handover, List<Frame> handedOver) {
    Ticket t = cs.ticket;
    SessionKeys keys = SessionKeys.of(t.sessionKey());
    ByteString token = ByteString.copyFrom(SessionKeys.random(16));
    RemoteSeat bridge = new RemoteSeat(link, cs, token, home, handedOver);
    link.bind(bridge);
    byte[] request = NodeMessage.newBuilder().setBind(BindRequest.newBuilder()
        .setSessionId(t.sessionId()).setBridgeToken(token)
        .setWindowFrames(bridge.windowFrames()).setWindowBytes(bridge.windowBytes()).setHandover(handover)
        .setIncarnation(t.incarnation())
        .setTicket(keys.seal(t.token(), "bind", t.sessionId(), me, home, SessionKeys.hex(token))))
        .build().toByteArray();
    if (!link.nats().publish(Subjects.node(home, me, Subjects.shard(t.sessionId())), request)) {
      bridge.release();
      cs.fail(RelayError.CLUSTER_UNAVAILABLE.toStatus("cluster link down: cannot reach the session's home node; retry shortly"));
      return;
    }
    timers.schedule(() -> {
      if (bridge.peerToken == null && !bridge.closed) {
        bridge.release();
        cs.fail(RelayError.CLUSTER_UNAVAILABLE.toStatus("the relay node holding this session did not answer; reconnect"));
      }
    }, ClusterLink.REQUEST_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** The home's answer to one of this node's binds. */
  void onBound(RemoteSeat bridge, BindReply r) {
    if (bridge.peerToken != null) {
      link.refused(ClusterRefusal.MALFORMED); // a second answer
      return;
    }
    ClusterSeat cs = bridge.client();
    if (!r.getErrorCode().isEmpty()) {
      bridge.release();
      // The home counted the refusal; the client gets the home's status and description.
      cs.fail(ClusterLink.status(r.getErrorCode(), r.getErrorMessage()));
      return;
    }
    if (r.getHomeToken().size() != 16) {
      link.refused(ClusterRefusal.MALFORMED);
      bridge.release();
      cs.fail(Status.INTERNAL.withDescription("malformed answer from the session's home node; reconnect"));
      return;
    }
    bridge.bound(r.getHomeToken(), r.getWindowFrames(), r.getWindowBytes());
    link.locator().bridgeBound(bridge.sessionId);
    cs.resolve(bridge);
  }

  /** TerminateSession for a session this node does not hold: ask its home; if nobody holds it, end it here. */
  CompletableFuture<Boolean> terminate(Ticket ticket, String reason) {
    CompletableFuture<Boolean> result = new CompletableFuture<>();
    SessionKeys keys = SessionKeys.of(ticket.sessionKey());
    if (keys == null) {
      result.completeExceptionally(ClusterLink.noSessionKey());
      return result;
    }
    if (!link.nats().isUp()) {
      result.completeExceptionally(new RelayException(RelayError.CLUSTER_UNAVAILABLE,
          "cluster link down: cannot reach the node holding this session; retry shortly"));
      return result;
    }
    link.locator().locate(ticket.sessionId(), keys, loc -> {
      switch (loc.outcome()) {
        case HOME -> send(loc.node(), ticket, keys, reason, result);
        case ENDED -> result.complete(false);
        case NOBODY, TIMEOUT -> {
          // Nobody holds it: end it here, so its tickets die (and say so to later lookups).
          link.claims().remember(ticket.sessionId(), keys);
          result.complete(link.hub().terminateHere(ticket, reason));
        }
        default -> result.completeExceptionally(new RelayException(RelayError.CLUSTER_UNAVAILABLE,
            "cluster link down: cannot reach the node holding this session; retry shortly"));
      }
    });
    return result;
  }

  private void send(String home, Ticket ticket, SessionKeys keys, String reason, CompletableFuture<Boolean> result) {
    ByteString id = ByteString.copyFrom(SessionKeys.random(16));
    ScheduledFuture<?> timer = timers.schedule(() -> {
      PendingTerminate p = terminates.remove(id);
      if (p != null) {
        p.result().completeExceptionally(new RelayException(RelayError.CLUSTER_UNAVAILABLE,
            "the relay node holding this session did not answer; retry"));
      }
    }, ClusterLink.REQUEST_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    terminates.put(id, new PendingTerminate(home, result, timer));
    byte[] request = NodeMessage.newBuilder().setTerminate(TerminateRequest.newBuilder()
        .setSessionId(ticket.sessionId()).setRequestId(id).setReason(reason == null ? "" : reason)
        .setTicket(keys.seal(ticket.token(), "terminate", ticket.sessionId(), me, home, SessionKeys.hex(id))))
        .build().toByteArray();
    if (!link.nats().publish(Subjects.node(home, me, Subjects.shard(ticket.sessionId())), request)
        && terminates.remove(id) != null) {
      timer.cancel(false);
      result.completeExceptionally(new RelayException(RelayError.CLUSTER_UNAVAILABLE,
          "cluster link down: cannot reach the node holding this session; retry shortly"));
    }
  }

  /** The home's answer to a forwarded TerminateSession. */
  void onTerminated(String src, ByteString id, TerminateReply r) {
    PendingTerminate p = terminates.get(id);
    if (p == null) {
      link.refused(ClusterRefusal.UNSOLICITED);
      return;
    }
    if (!p.home().equals(src)) {
      link.refused(ClusterRefusal.WRONG_SENDER);
      return;
    }
    if (!terminates.remove(id, p)) {
      return;
    }
    p.timer().cancel(false);
    if (r.getErrorCode().isEmpty()) {
      p.result().complete(r.getTerminated());
    } else {
      p.result().completeExceptionally(ClusterLink.status(r.getErrorCode(), r.getErrorMessage()).asRuntimeException());
    }
  }
}
