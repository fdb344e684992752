package dev.checkmate.relay.cluster;

import dev.checkmate.relay.admission.Admission;
import com.google.protobuf.ByteString;
import dev.checkmate.relay.proto.cluster.v1.BindReply;
import dev.checkmate.relay.proto.cluster.v1.BindRequest;
import dev.checkmate.relay.proto.cluster.v1.Located;
import dev.checkmate.relay.proto.cluster.v1.Lookup;
import dev.checkmate.relay.proto.cluster.v1.NodeMessage;
import dev.checkmate.relay.proto.cluster.v1.TerminateReply;
import dev.checkmate.relay.proto.cluster.v1.TerminateRequest;
import dev.checkmate.relay.error.RelayException;
import dev.checkmate.relay.session.Seat;
import dev.checkmate.relay.session.SessionHub;
import dev.checkmate.relay.ticket.Ticket;
import io.grpc.Status;

/**
 * What the home of a session serves to other nodes: lookup answers, binds and terminates. Every
 * bind and terminate carries the participant's ticket sealed for this node and that binding
 * ({@link SessionKeys}); the home opens it and checks it with {@link Admission#verifyFromNode} — the same ticket
 * code as a local join — and seats or terminates through the same hub calls as a local client, so
 * "not ended" and the role rule hold as well. Nothing another node asserts is believed.
 */
final class HomeEndpoint {
  private final ClusterLink link;
  private final SessionHub hub;
  private final Admission admission;
  private final String me;

  HomeEndpoint(ClusterLink link, SessionHub hub, Admission admission) {
    this.link = link;
    this.hub = hub;
    this.admission = admission;
    this.me = link.nodeId();
  }

  /** A lookup on the session's home subject from {@code src}: answered privately, with proof, if this node holds or remembers it. */
  void onLookup(Claims.Home h, String src, Lookup lookup) {
    if (src.equals(me)) {
      return;
    }
    if (!lookup.getSessionId().equals(h.sessionId) || lookup.getNonce().size() != 16) {
      link.refused(ClusterRefusal.MALFORMED);
      return;
    }
    Located.State state;
    if (h.ended || hub.isEnded(h.sessionId)) {
      state = Located.State.ENDED;
    } else if (link.claims().get(h.sessionId) == h) {
      state = Located.State.HOME;
    } else {
      return; // yielded: the winner answers
    }
    link.nats().publish(Subjects.node(src, me, Subjects.shard(h.sessionId)), NodeMessage.newBuilder()
        .setLocated(Located.newBuilder().setSessionId(h.sessionId).setNonce(lookup.getNonce()).setState(state)
            .setProof(Locator.proof(h.keys, h.sessionId, me, src, lookup.getNonce(), state)))
        .build().toByteArray());
  }

  /** A bind from bridge node {@code src}. */
  void onBind(String src, BindRequest b) {
    String sid = b.getSessionId();
    ByteString bridgeToken = b.getBridgeToken();
    if (!Subjects.validToken(sid) || bridgeToken.size() != 16) {
      link.refused(ClusterRefusal.MALFORMED);
      return;
    }
    Claims.Home h = link.claims().get(sid);
    if (h == null) {
      link.refused(ClusterRefusal.NOT_HOME);
      replyBind(src, bridgeToken, Status.Code.UNAVAILABLE, "the relay node that held this session no longer does; reconnect", null);
      return;
    }
    String ticket = h.keys.open(b.getTicket(), "bind", sid, src, me, SessionKeys.hex(bridgeToken));
    if (ticket == null) {
      link.refused(ClusterRefusal.SEALED_TICKET);
      replyBind(src, bridgeToken, Status.Code.UNAUTHENTICATED,
          "join ticket missing, or not sealed for this session, relay node and binding", null);
      return;
    }
    Ticket t;
    try {
      // The incarnation is the presenting client's, carried by its bridge (not part of the ticket).
      t = admission.verifyFromNode(src, ticket, sid).withIncarnation(b.getIncarnation());
    } catch (RelayException e) {
      refuse(e);
      replyBind(src, bridgeToken, e.error().grpcCode(), e.getMessage(), null);
      return;
    }
    RemoteParticipant rp = new RemoteParticipant(link, sid, t.role(), ByteString.copyFrom(SessionKeys.random(16)), src,
        bridgeToken, b.getWindowFrames(), b.getWindowBytes());
    link.bind(rp);
    Seat seat;
    try {
      seat = hub.joinHere(t, rp);
    } catch (RelayException e) {
      // joinHere counted it in the hub's refusals; here it is a cluster refusal too.
      link.refused(e.error() == dev.checkmate.relay.error.RelayError.ROLE_TAKEN ? ClusterRefusal.ROLE_TAKEN : ClusterRefusal.SESSION_ENDED);
      rp.release();
      replyBind(src, bridgeToken, e.error().grpcCode(), e.getMessage(), null);
      return;
    }
    replyBind(src, bridgeToken, null, "", rp);
    rp.attach(seat);
  }

  private void replyBind(String bridge, ByteString bridgeToken, Status.Code error, String message, RemoteParticipant rp) {
    BindReply.Builder r = BindReply.newBuilder().setErrorCode(error == null ? "" : error.name()).setErrorMessage(message);
    if (rp != null) {
      r.setHomeToken(rp.token).setWindowFrames(rp.windowFrames()).setWindowBytes(rp.windowBytes());
    }
    link.nats().publish(Subjects.node(bridge, me, Subjects.shard(bridgeToken.toByteArray())),
        NodeMessage.newBuilder().setToken(bridgeToken).setBound(r).build().toByteArray());
  }

  /** TerminateSession for a session homed here, forwarded by node {@code src}. */
  void onTerminate(String src, TerminateRequest t) {
    String sid = t.getSessionId();
    ByteString id = t.getRequestId();
    if (!Subjects.validToken(sid) || id.size() != 16) {
      link.refused(ClusterRefusal.MALFORMED);
      return;
    }
    Claims.Home h = link.claims().get(sid);
    if (h == null) {
      link.refused(ClusterRefusal.NOT_HOME);
      replyTerminate(src, id, false, Status.Code.UNAVAILABLE, "the relay node that held this session no longer does; retry");
      return;
    }
    String ticket = h.keys.open(t.getTicket(), "terminate", sid, src, me, SessionKeys.hex(id));
    if (ticket == null) {
      link.refused(ClusterRefusal.SEALED_TICKET);
      replyTerminate(src, id, false, Status.Code.UNAUTHENTICATED,
          "ticket missing, or not sealed for this session, relay node and request");
      return;
    }
    try {
      Ticket verified = admission.verifyFromNode(src, ticket, sid);
      String reason = t.getReason();
      replyTerminate(src, id, hub.terminateHere(verified, reason), null, "");
    } catch (RelayException e) {
      refuse(e);
      replyTerminate(src, id, false, e.error().grpcCode(), e.getMessage());
    }
  }

  private void replyTerminate(String to, ByteString id, boolean done, Status.Code error, String message) {
    link.nats().publish(Subjects.node(to, me, Subjects.shard(id.toByteArray())), NodeMessage.newBuilder().setToken(id)
        .setTerminated(TerminateReply.newBuilder().setTerminated(done).setErrorCode(error == null ? "" : error.name())
            .setErrorMessage(message)).build().toByteArray());
  }

  /** A ticket refusal at the home: counted like a local join's, and as a cluster refusal. */
  private void refuse(RelayException e) {
    hub.stats().rejected(e.error());
    link.refused(e.error() == dev.checkmate.relay.error.RelayError.RATE_LIMITED ? ClusterRefusal.RATE_LIMITED : ClusterRefusal.TICKET);
  }
}
