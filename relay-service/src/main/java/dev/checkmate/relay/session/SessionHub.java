package dev.checkmate.relay.session;

import dev.checkmate.relay.error.RelayError;
import dev.checkmate.relay.error.RelayException;
import dev.checkmate.relay.proto.v1.EndReason;
import dev.checkmate.relay.proto.v1.Limits;
import dev.checkmate.relay.proto.v1.Role;
import dev.checkmate.relay.ticket.Ticket;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's session table: session id → session. Sessions are created lazily by the first
 * verified join (creating a session only signs tickets), and removed the moment they end; the
 * ids of ended sessions are remembered until their tickets expire so those tickets stay dead.
 */
public final class SessionHub {
  private static final Logger log = LoggerFactory.getLogger(SessionHub.class);

  private final SessionSettings config;
  private final Clock clock;
  private final Limits limits;
  private final HubStats stats = new HubStats();
  private final ConcurrentHashMap<String, Session> sessions = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, Long> endedUntilMillis = new ConcurrentHashMap<>();
  /**
   * The same ids by the second they may be forgotten, so the sweep touches only what expires
   * (scanning every remembered id four times a second cost a third of a busy relay's timer thread).
   */
  private final java.util.concurrent.ConcurrentSkipListMap<Long, java.util.concurrent.ConcurrentLinkedQueue<String>> endedBySecond =
      new java.util.concurrent.ConcurrentSkipListMap<>();
  private volatile HubListener listener = HubListener.NONE;
  private volatile Cluster cluster;

  public SessionHub(SessionSettings config, Clock clock) {
    this.config = config;
    this.clock = clock;
    this.limits = Limits.newBuilder()
        .setMaxFrameBytes(config.maxFrameBytes())
        .setMaxFramesPerSecond(config.maxFramesPerSecond())
        .setMaxBytesPerSecond(config.maxBytesPerSecond())
        .setJoinDeadlineSeconds((int) config.joinDeadline().toSeconds())
        .setIdleTimeoutSeconds((int) config.idleTimeout().toSeconds())
        .setRendezvousMaxFrames(config.rendezvousMaxFrames())
        .setRendezvousMaxBytes(config.rendezvousMaxBytes())
        .build();
  }

  /**
   * Telemetry hooks (implemented by dev.checkmate.relay.telemetry.RelayTelemetry). Every method has
   * a no-op default. Hub events are called outside session locks; per-frame work is limited to
   * what {@link #observe} wraps around a participant and the sampled {@link #hopLatency}.
   */
  public interface HubListener {
    HubListener NONE = new HubListener() {};

    /** Wraps a participant at join, on the joining stream's thread (so its trace context is current). */
    default Participant observe(Participant participant, Ticket ticket) {
      return participant;
    }

    /** A session's second participant joined for the first time. */
    default void paired(String sessionId, long timeToPairNanos) {}

    /** A session ended (exactly once per session). */
    default void ended(String sessionId, EndReason reason) {}

    /**
     * A session left this node without ending: the cluster handed it over to the node that won its
     * home claim ({@link SessionHub#evict}). It is held there now; here it is gone.
     */
    default void evicted(String sessionId) {}

    /** Sampled: time from reading a frame until it was handed to the peer's transport. */
    default void hopLatency(String transport, long nanos) {}

    /** A sender was paused because its peer (on {@code transport}) could not take more. */
    default void stalled(String transport) {}

    /** A transport accepted a participant stream; the returned handle reports what happens to it. */
    default Connection connectionOpened(String transport, java.net.InetAddress remote) {
      return Connection.NONE;
    }

    /** One participant stream as telemetry sees it (connection gauge, join span, audit log). */
    interface Connection {
      Connection NONE = new Connection() {};

      /** Runs the ticket check and seating (the {@code relay.join} span). */
      default Seat join(JoinAction action) throws RelayException {
        return action.join();
      }

      /** The stream was refused or ended with a relay error before or at join. */
      default void rejected(RelayError error) {}

      /** The stream is gone (idempotent). */
      default void closed() {}
    }

    /** Verifies a ticket and seats its holder. */
    interface JoinAction {
      Seat join() throws RelayException;
    }
  }

  public void setListener(HubListener listener) {
    this.listener = listener;
  }

  public HubListener listener() {
    return listener;
  }

  /**
   * The hook for sessions held on other nodes (cluster mode; see dev.checkmate.relay.cluster).
   * The hub hands it every join of a session not remembered as ended; for a session this node
   * holds it answers at once with {@link #joinHere}, so node-local sessions never wait for NATS.
   * All methods may be called on transport threads and never block.
   */
  public interface Cluster {
    /**
     * Seats a participant: here if this node holds the session; otherwise finds the session's
     * home node and bridges to it, or claims home here ({@link #joinHere}). Errors found later
     * close the participant with their status.
     */
    Seat join(Ticket ticket, Participant participant) throws RelayException;

    /**
     * TerminateSession for a session not held here: asks its home node, or ends it here
     * ({@link #terminateHere}) when no node holds it. Completes on a cluster thread; fails with a
     * {@link RelayException} or a gRPC status exception when the home cannot be asked.
     */
    CompletableFuture<Boolean> terminate(Ticket ticket, String reason);

    /** A session held here ended; its tickets stay dead on this node until {@code rememberUntilMillis}. */
    void ended(String sessionId, long rememberUntilMillis);
  }

  public void setCluster(Cluster cluster) {
    this.cluster = cluster;
  }

  /**
   * Seats the ticket's holder in its session, creating the session on first join.
   *
   * @throws RelayException SESSION_ENDED if the session already ended, ROLE_TAKEN if another live
   *     stream holds the role
   */
  public Seat join(Ticket ticket, Participant participant) throws RelayException {
    Cluster c = cluster;
    if (c != null && !endedUntilMillis.containsKey(ticket.sessionId())) {
      // Refusals thrown here (cluster link down) are counted by the transport, like its own.
      return c.join(ticket, participant);
    }
    return joinHere(ticket, participant);
  }

  /**
   * Seats the ticket's holder in a session held on this node, creating it on first join (the
   * cluster calls this once this node is the session's home).
   */
  public Seat joinHere(Ticket ticket, Participant participant) throws RelayException {
    Participant observed = listener.observe(participant, ticket);
    try {
      while (true) {
        if (endedUntilMillis.containsKey(ticket.sessionId())) {
          throw new RelayException(RelayError.SESSION_ENDED,
              "this session has already ended; its tickets cannot be used again (create a new session)");
        }
        long expires = ticket.expiresAt().toEpochMilli();
        Session session = sessions.computeIfAbsent(ticket.sessionId(), id -> new Session(this, id, expires));
        Seat seat = session.join(ticket, observed);
        if (seat != null) {
          return seat;
        }
        // The session ended between lookup and join; the loop sees it in endedUntilMillis.
        sessions.remove(ticket.sessionId(), session);
      }
    } catch (RelayException e) {
      stats.rejected(e.error());
      throw e;
    }
  }

  /**
   * Ends the ticket's session on behalf of its role, from outside a stream. A session nobody has
   * joined yet is ended too, so its tickets die. Completes with false if it had already ended; in
   * cluster mode, for a session held on another node, once that node answered (never blocking).
   */
  public CompletableFuture<Boolean> terminate(Ticket ticket, String reason) {
    if (endedUntilMillis.containsKey(ticket.sessionId())) {
      return CompletableFuture.completedFuture(false);
    }
    Cluster c = cluster;
    if (c != null && !sessions.containsKey(ticket.sessionId())) {
      return c.terminate(ticket, reason);
    }
    return CompletableFuture.completedFuture(terminateHere(ticket, reason));
  }

  /** TerminateSession for a session held (or to be remembered as ended) on this node. */
  public boolean terminateHere(Ticket ticket, String reason) {
    if (endedUntilMillis.containsKey(ticket.sessionId())) {
      return false;
    }
    long expires = ticket.expiresAt().toEpochMilli();
    Session session = sessions.computeIfAbsent(ticket.sessionId(), id -> new Session(this, id, expires));
    String why = reason == null ? "" : reason.length() > 256 ? reason.substring(0, 256) : reason;
    return session.end(EndReason.TERMINATED, why, ticket.role(), null, null);
  }

  void onPaired(Session session, long timeToPairNanos) {
    stats.paired.increment();
    listener.paired(session.id, timeToPairNanos);
  }

  void onEnded(Session session, EndReason reason) {
    // Remember first, then remove: a racing join must find the session either live or ended.
    long until = session.expiresAtMillis + config.clockSkew().toMillis();
    endedUntilMillis.put(session.id, until);
    endedBySecond.computeIfAbsent(Math.floorDiv(until, 1000) + 1, k -> new java.util.concurrent.ConcurrentLinkedQueue<>())
        .add(session.id);
    sessions.remove(session.id, session);
    stats.ended(reason);
    listener.ended(session.id, reason);
    Cluster c = cluster;
    if (c != null) {
      c.ended(session.id, until);
    }
    log.debug("session {} ended: {}", dev.checkmate.relay.security.SessionIdHash.of(session.id), reason);
  }

  /** Enforces every session's timers and forgets ended sessions whose tickets have expired. */
  public void sweep() {
    long nowNanos = System.nanoTime();
    long nowMillis = clock.millis();
    for (Session s : sessions.values()) {
      s.checkTimers(nowNanos, nowMillis);
    }
    forgetExpired(nowMillis);
  }

  /** Forgets ended sessions whose tickets have expired: only the seconds that are due are visited. */
  private void forgetExpired(long nowMillis) {
    long nowSecond = Math.floorDiv(nowMillis, 1000);
    java.util.Map.Entry<Long, java.util.concurrent.ConcurrentLinkedQueue<String>> due;
    while ((due = endedBySecond.firstEntry()) != null && due.getKey() <= nowSecond) {
      endedBySecond.remove(due.getKey(), due.getValue());
      for (String id : due.getValue()) {
        // Remembered again later (a terminate after expiry) means a newer deadline: keep that one.
        endedUntilMillis.computeIfPresent(id, (k, until) -> until <= nowMillis ? null : until);
      }
    }
  }

  /** Ends every session (relay shutdown): participants are told to reconnect elsewhere. */
  public void endAll(EndReason reason, String message) {
    List<Session> all = new ArrayList<>(sessions.values());
    for (Session s : all) {
      s.end(reason, message, Role.ROLE_UNSPECIFIED, null, null);
    }
  }

  /** True while this node holds the session live (it is the session's home). */
  public boolean holds(String sessionId) {
    return sessions.containsKey(sessionId);
  }

  /** True while this node remembers the session as ended. */
  public boolean isEnded(String sessionId) {
    return endedUntilMillis.containsKey(sessionId);
  }

  /** A participant taken out of a session by {@link #evict}, with the frames it had sent to the rendezvous buffer. */
  public record Evicted(Ticket ticket, Participant participant, List<dev.checkmate.relay.proto.v1.Frame> pending) {}

  /**
   * Removes a live session without ending it (no SessionEnded, no ended-memory): the cluster
   * calls this when this node lost a home claim race and hands the participants over to the winner.
   */
  public List<Evicted> evict(String sessionId) {
    Session s = sessions.get(sessionId);
    if (s == null) {
      return List.of();
    }
    List<Evicted> out = s.evict();
    if (sessions.remove(sessionId, s)) {
      listener.evicted(sessionId);
    }
    return out;
  }

  /** A limit broken where the hub cannot see it (a cross-node bridge saw an oversize frame). */
  public void reportViolation(Seat seat, RelayError error, String message) {
    if (seat instanceof LocalSeat local) {
      local.session.violation(local, error, message);
    }
  }

  public int sessionCount() {
    return sessions.size();
  }

  /** Ids of ended sessions still remembered (bounded by session creation rate × ticket lifetime). */
  public int endedSessionCount() {
    return endedUntilMillis.size();
  }

  /** Participants currently seated across all sessions. */
  public int participantCount() {
    int n = 0;
    for (Session s : sessions.values()) {
      n += s.presentCount();
    }
    return n;
  }

  /** Bytes held in rendezvous buffers across all sessions. */
  public long rendezvousBytes() {
    long n = 0;
    for (Session s : sessions.values()) {
      n += s.pendingBytes();
    }
    return n;
  }

  public HubStats stats() {
    return stats;
  }

  public SessionSettings config() {
    return config;
  }

  /** The limits every participant is held to, as advertised to clients. */
  public Limits limits() {
    return limits;
  }
}
