package dev.checkmate.relay.session;

import dev.checkmate.relay.error.RelayError;
import dev.checkmate.relay.error.RelayException;
import dev.checkmate.relay.proto.v1.EndReason;
import dev.checkmate.relay.proto.v1.Frame;
import dev.checkmate.relay.proto.v1.Joined;
import dev.checkmate.relay.proto.v1.PeerJoined;
import dev.checkmate.relay.proto.v1.PeerLeft;
import dev.checkmate.relay.proto.v1.Role;
import dev.checkmate.relay.proto.v1.ServerMessage;
import dev.checkmate.relay.proto.v1.SessionEnded;
import dev.checkmate.relay.security.RateLimit;
import dev.checkmate.relay.ticket.Ticket;
import com.google.protobuf.Timestamp;
import io.grpc.Status;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * One session: two role slots, the rendezvous buffers, and the timers' state. Pairing, leaving and
 * ending take the session's lock (short, never blocking); forwarding between paired seats does not.
 */
final class Session {
  /**
   * A role's place: the live seat, if any; the frames it sent that its peer has not taken yet
   * (while the peer was away, or not reading); its rate budgets, which belong to the role's
   * ticket, not to one stream, so a reconnect does not refill them; and the latest non-zero
   * incarnation that held it (kept while the role is empty; relay.proto, Join).
   */
  static final class Slot {
    final Role role;
    LocalSeat current;
    final ArrayDeque<Frame> pending = new ArrayDeque<>(0);
    long pendingBytes;
    long incarnation;
    private RateLimit frameBudget;
    private RateLimit byteBudget;

    Slot(Role role) {
      this.role = role;
    }

    synchronized RateLimit frameBudget(SessionSettings config) {
      if (frameBudget == null) {
        frameBudget = RateLimit.handedOver(config.maxFramesPerSecond(), config.maxFramesPerSecond());
      }
      return frameBudget;
    }

    synchronized RateLimit byteBudget(SessionSettings config) {
      if (byteBudget == null) {
        byteBudget = RateLimit.handedOver(config.maxBytesPerSecond(), config.maxBytesPerSecond());
      }
      return byteBudget;
    }
  }

  final String id;
  final long expiresAtMillis;
  private final SessionHub hub;
  private final Slot prover = new Slot(Role.PROVER);
  private final Slot verifier = new Slot(Role.VERIFIER);
  volatile long lastActivityNanos;
  private boolean ended;
  private long deadlineNanos;
  private String deadlineWhy = "";
  private long firstJoinNanos;
  private boolean everPaired;

  Session(SessionHub hub, String id, long expiresAtMillis) {
    this.hub = hub;
    this.id = id;
    this.expiresAtMillis = expiresAtMillis;
    this.lastActivityNanos = System.nanoTime();
  }

  private Slot slot(Role role) {
    return role == Role.PROVER ? prover : verifier;
  }

  private Slot other(Slot s) {
    return s == prover ? verifier : prover;
  }

  /** Seats a participant, or explains why not. Returns null if the session ended meanwhile. */
  LocalSeat join(Ticket ticket, Participant participant) throws RelayException {
    LocalSeat seat;
    LocalSeat replaced = null;
    LocalSeat resumePeer = null;
    boolean readNow = true;
    long now = System.nanoTime();
    synchronized (this) {
      if (ended) {
        return null;
      }
      Slot mine = slot(ticket.role());
      if (mine.current != null) {
        if (!mine.current.ticket.ticketId().equals(ticket.ticketId())) {
          throw new RelayException(RelayError.ROLE_TAKEN, "the " + roleName(mine.role)
              + " of this session is already connected; only one stream per role (a reconnect must present the same ticket)");
        }
        replaced = mine.current;
        replaced.forwardTarget = null;
      }
      seat = new LocalSeat(hub, this, mine, participant, ticket, now);
      mine.current = seat;
      if (firstJoinNanos == 0) {
        firstJoinNanos = now;
      }
      Slot theirs = other(mine);
      long replacedIncarnation = 0;
      if (ticket.incarnation() != 0) {
        if (mine.incarnation != 0 && mine.incarnation != ticket.incarnation()) {
          // A restarted participant: nothing its predecessor sent, and nothing held for its
          // predecessor, may reach anyone now (each side's SDK reports its unacknowledged frames).
          replacedIncarnation = mine.incarnation;
          discardPending(mine);
          discardPending(theirs);
        }
        mine.incarnation = ticket.incarnation();
      }
      LocalSeat peer = theirs.current;
      boolean bridged = peer != null && (bridged(participant) || bridged(peer.participant));
      participant.send(joined(ticket.role(), peer != null, bridged, theirs.incarnation, replacedIncarnation));
      if (peer != null) {
        peer.participant.send(ServerMessage.newBuilder().setPeerJoined(PeerJoined.newBuilder()
            .setRole(mine.role).setBridged(bridged).setIncarnation(ticket.incarnation())).build());
        // Frames that waited go first, in order, before any new frame — and only as fast as the
        // receiver takes them: what it cannot take yet stays in the sender's bounded buffer.
        seat.forwardTarget = drain(mine, peer) ? peer : null;
        peer.forwardTarget = drain(theirs, seat) ? seat : null;
        resumePeer = peer;
        deadlineNanos = 0;
        lastActivityNanos = now;
        if (!everPaired) {
          everPaired = true;
          hub.onPaired(this, now - firstJoinNanos);
        }
      } else {
        if (deadlineNanos == 0) {
          deadlineNanos = now + hub.config().joinDeadline().toNanos();
          deadlineWhy = "the " + roleName(theirs.role) + " did not join within " + hub.config().joinDeadline().toSeconds() + " s";
        }
        readNow = hasRendezvousRoom(mine);
      }
    }
    if (replaced != null) {
      replaced.participant.close(Status.ABORTED.withDescription(
          "replaced by a newer connection presenting the same ticket"));
    }
    if (resumePeer != null) {
      // The peer may have been parked on a full rendezvous buffer or on the replaced stream.
      if (resumePeer.waiting.compareAndSet(true, false)) {
        resumePeer.readNextWhenPeerReady(seat);
      }
    }
    if (readNow) {
      participant.requestNext();
    } else {
      seat.waiting.set(true);
    }
    return seat;
  }

  /**
   * Hands a sender's held frames to the receiver, in order, while the receiver can take them.
   * Returns true when none are left (the sender may then forward directly). Caller holds the lock.
   */
  private boolean drain(Slot from, LocalSeat to) {
    Frame f;
    while ((f = from.pending.peek()) != null) {
      if (!to.participant.isReady()) {
        return false;
      }
      from.pending.poll();
      from.pendingBytes -= f.getPayload().size();
      to.participant.sendData(f);
      hub.stats().framesRelayed.increment();
      hub.stats().bytesRelayed.add(f.getPayload().size());
    }
    from.pendingBytes = 0;
    return true;
  }

  /**
   * A receiver became writable: frames its peer's slot holds for it go out (as many as it takes),
   * and the sender forwards directly again once they are all out. Returns the sender's seat if it
   * may read again (it was parked and its frames are flowing), else null.
   */
  LocalSeat writable(LocalSeat receiver) {
    synchronized (this) {
      if (ended || receiver.slot.current != receiver) {
        return null;
      }
      Slot from = other(receiver.slot);
      LocalSeat sender = from.current;
      if (from.pending.isEmpty()) {
        return sender;
      }
      if (!drain(from, receiver)) {
        return null;
      }
      if (sender != null) {
        sender.forwardTarget = receiver;
      }
      return sender;
    }
  }

  private static void discardPending(Slot s) {
    s.pending.clear();
    s.pendingBytes = 0;
  }

  private boolean hasRendezvousRoom(Slot s) {
    return s.pending.size() < hub.config().rendezvousMaxFrames()
        && s.pendingBytes + hub.config().maxFrameBytes() <= hub.config().rendezvousMaxBytes();
  }

  /**
   * A frame from a seat with no forward target: hold it for the peer (absent, or not taking its
   * held frames yet), or forward it if that changed meanwhile.
   */
  void bufferOrForward(LocalSeat seat, Frame frame) {
    LocalSeat target;
    boolean readNext;
    synchronized (this) {
      if (ended || seat.slot.current != seat) {
        return;
      }
      target = seat.forwardTarget;
      if (target == null) {
        seat.slot.pending.add(frame);
        seat.slot.pendingBytes += frame.getPayload().size();
        LocalSeat receiver = other(seat.slot).current;
        if (receiver != null && drain(seat.slot, receiver)) {
          // The peer took everything held: forward directly from now on.
          seat.forwardTarget = receiver;
          target = receiver;
          readNext = false;
        } else {
          // Held for an absent peer up to the rendezvous bound; for a present peer that is not
          // reading, the sender waits for the peer's next on-ready. Nothing is dropped.
          readNext = receiver == null && hasRendezvousRoom(seat.slot);
          if (!readNext) {
            seat.waiting.set(true);
            hub.stats().stalls.increment();
          }
        }
      } else {
        target.participant.sendData(frame);
        hub.stats().framesRelayed.increment();
        hub.stats().bytesRelayed.add(frame.getPayload().size());
        readNext = false;
      }
    }
    if (target != null) {
      seat.readNextWhenPeerReady(target);
    } else if (readNext) {
      seat.participant.requestNext();
    }
  }

  /** The sweeper found participants that stopped reading: they leave (the peer may wait for them). */
  private void closeStalled(List<LocalSeat> stalled) {
    for (LocalSeat seat : stalled) {
      hub.stats().rejected(RelayError.NOT_READING);
      left(seat, "stopped reading");
      seat.participant.close(RelayError.NOT_READING.toStatus("the client read nothing the relay sent it for "
          + hub.config().writeStallTimeout().toSeconds() + " s; read the stream, or it is closed"));
    }
  }

  void left(LocalSeat seat, String detail) {
    LocalSeat peer;
    synchronized (this) {
      if (ended || seat.slot.current != seat) {
        return;
      }
      seat.slot.current = null;
      seat.forwardTarget = null;
      peer = other(seat.slot).current;
      deadlineNanos = System.nanoTime() + hub.config().joinDeadline().toNanos();
      deadlineWhy = "the " + roleName(seat.slot.role) + " left and did not rejoin within "
          + hub.config().joinDeadline().toSeconds() + " s";
      if (peer != null) {
        peer.forwardTarget = null;
        peer.participant.send(ServerMessage.newBuilder()
            .setPeerLeft(PeerLeft.newBuilder().setRole(seat.slot.role).setDetail(detail)
                .setIncarnation(seat.ticket.incarnation())
                // The role stays reserved until the join deadline: "peer reconnecting".
                .setReconnecting(true)).build());
      }
    }
    if (peer != null) {
      // Reads parked on the departed peer resume into the rendezvous buffer.
      peer.unpark();
    }
  }

  void terminate(LocalSeat seat, String reason) {
    String why = reason == null ? "" : reason;
    if (why.length() > 256) {
      why = why.substring(0, 256);
    }
    end(EndReason.TERMINATED, why, seat.slot.role, seat, null);
  }

  void violation(LocalSeat seat, RelayError error, String message) {
    hub.stats().rejected(error);
    EndReason reason = error == RelayError.MALFORMED ? EndReason.PROTOCOL_ERROR : EndReason.LIMIT_EXCEEDED;
    end(reason, roleName(seat.slot.role) + ": " + message, seat.slot.role, seat, error.toStatus(message));
  }

  /** Called by the sweeper: enforces the join deadline, the idle timeout and the lifetime. */
  void checkTimers(long nowNanos, long nowMillis) {
    EndReason reason = null;
    String message = null;
    List<LocalSeat> stalled = null;
    synchronized (this) {
      if (ended) {
        return;
      }
      long stall = hub.config().writeStallTimeout().toNanos();
      for (Slot s : new Slot[] {prover, verifier}) {
        LocalSeat seat = s.current;
        long since = seat == null ? 0 : seat.participant.notReadingSinceNanos();
        if (since != 0 && nowNanos - since >= stall) {
          if (stalled == null) {
            stalled = new ArrayList<>(2);
          }
          stalled.add(seat);
        }
      }
      if (nowMillis >= expiresAtMillis) {
        reason = EndReason.LIFETIME_EXCEEDED;
        message = "session lifetime reached (tickets expired); create a new session";
      } else if (deadlineNanos != 0 && nowNanos - deadlineNanos >= 0) {
        reason = EndReason.PEER_NEVER_JOINED;
        message = deadlineWhy;
      } else if (deadlineNanos == 0 && nowNanos - lastActivityNanos >= hub.config().idleTimeout().toNanos()) {
        reason = EndReason.IDLE_TIMEOUT;
        message = "no frame in either direction for " + hub.config().idleTimeout().toSeconds() + " s";
      }
    }
    if (reason != null) {
      end(reason, message, Role.ROLE_UNSPECIFIED, null, null);
    } else if (stalled != null) {
      closeStalled(stalled);
    }
  }

  /**
   * Ends the session once: every present participant gets SessionEnded, then its stream closes
   * with the status for the reason. Everything the session held is released.
   */
  boolean end(EndReason reason, String message, Role endedBy, LocalSeat culprit, Status culpritStatus) {
    List<LocalSeat> present = new ArrayList<>(2);
    synchronized (this) {
      if (ended) {
        return false;
      }
      ended = true;
      for (Slot s : new Slot[] {prover, verifier}) {
        if (s.current != null) {
          present.add(s.current);
          s.current.forwardTarget = null;
          s.current = null;
        }
        discardPending(s);
      }
    }
    hub.onEnded(this, reason);
    ServerMessage endedMessage = ServerMessage.newBuilder()
        .setSessionEnded(SessionEnded.newBuilder().setReason(reason).setMessage(message).setEndedBy(endedBy))
        .build();
    for (LocalSeat seat : present) {
      seat.participant.send(endedMessage);
      seat.participant.close(closeStatus(reason, message, seat == culprit ? culpritStatus : null, culprit != null));
    }
    return true;
  }

  private static Status closeStatus(EndReason reason, String message, Status culpritStatus, boolean hasCulprit) {
    if (culpritStatus != null) {
      return culpritStatus;
    }
    return switch (reason) {
      case TERMINATED -> Status.OK;
      case PEER_NEVER_JOINED, IDLE_TIMEOUT, LIFETIME_EXCEEDED -> Status.DEADLINE_EXCEEDED.withDescription(message);
      case RELAY_SHUTDOWN -> Status.UNAVAILABLE.withDescription(message);
      default -> (hasCulprit ? Status.ABORTED : Status.INTERNAL).withDescription("session ended: " + message);
    };
  }

  /** Takes the session apart without ending it (cluster hand-over); empty if it already ended. */
  List<SessionHub.Evicted> evict() {
    List<SessionHub.Evicted> out = new ArrayList<>(2);
    synchronized (this) {
      if (ended) {
        return out;
      }
      ended = true;
      for (Slot s : new Slot[] {prover, verifier}) {
        if (s.current != null) {
          out.add(new SessionHub.Evicted(s.current.ticket, s.current.participant, new ArrayList<>(s.pending)));
          s.current.forwardTarget = null;
          s.current = null;
        }
        discardPending(s);
      }
    }
    return out;
  }

  synchronized boolean isEnded() {
    return ended;
  }

  synchronized int presentCount() {
    return (prover.current != null ? 1 : 0) + (verifier.current != null ? 1 : 0);
  }

  synchronized long pendingBytes() {
    return prover.pendingBytes + verifier.pendingBytes;
  }

  /** True for a participant that joined on another node and reaches this (home) node over the cluster. */
  private static boolean bridged(Participant p) {
    return Participant.BRIDGED_TRANSPORT.equals(p.transport());
  }

  private ServerMessage joined(Role role, boolean peerPresent, boolean bridged, long peerIncarnation,
      long replacedIncarnation) {
    return ServerMessage.newBuilder().setJoined(Joined.newBuilder()
        .setSessionId(id)
        .setRole(role)
        .setPeerPresent(peerPresent)
        .setBridged(bridged)
        .setPeerIncarnation(peerIncarnation)
        .setReplacedIncarnation(replacedIncarnation)
        .setExpiresAt(Timestamp.newBuilder().setSeconds(Math.floorDiv(expiresAtMillis, 1000))
            .setNanos((int) Math.floorMod(expiresAtMillis, 1000) * 1_000_000))
        .setLimits(hub.limits()))
        .build();
  }

  static String roleName(Role role) {
    return role == Role.PROVER ? "prover" : role == Role.VERIFIER ? "verifier" : "participant";
  }
}
