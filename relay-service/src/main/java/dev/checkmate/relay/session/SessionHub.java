package dev.checkmate.relay.session;

import dev.checkmate.relay.RelayConfig;
import dev.checkmate.relay.proto.v1.EndReason;
import dev.checkmate.relay.proto.v1.Limits;
import dev.checkmate.relay.proto.v1.Role;
import dev.checkmate.relay.ticket.Ticket;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
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

  private final RelayConfig config;
  private final Clock clock;
  private final Limits limits;
  private final HubStats stats = new HubStats();
  private final ConcurrentHashMap<String, Session> sessions = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, Long> endedUntilMillis = new ConcurrentHashMap<>();
  private volatile HubListener listener = HubListener.NONE;

  public SessionHub(RelayConfig config, Clock clock) {
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

  /** Observes pairing and endings (telemetry hooks in here). Called outside session locks. */
  public interface HubListener {
    HubListener NONE = new HubListener() {};

    default void paired(long timeToPairNanos) {}

    default void ended(EndReason reason) {}
  }

  public void setListener(HubListener listener) {
    this.listener = listener;
  }

  /**
   * Seats the ticket's holder in its session, creating the session on first join.
   *
   * @throws RelayException SESSION_ENDED if the session already ended, ROLE_TAKEN if another live
   *     stream holds the role
   */
  public Seat join(Ticket ticket, Participant participant) throws RelayException {
    try {
      while (true) {
        if (endedUntilMillis.containsKey(ticket.sessionId())) {
          throw new RelayException(RelayError.SESSION_ENDED,
              "this session has already ended; its tickets cannot be used again (create a new session)");
        }
        long expires = ticket.expiresAt().toEpochMilli();
        Session session = sessions.computeIfAbsent(ticket.sessionId(), id -> new Session(this, id, expires));
        Seat seat = session.join(ticket, participant);
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
   * joined yet is ended too, so its tickets die. Returns false if it had already ended.
   */
  public boolean terminate(Ticket ticket, String reason) {
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
    listener.paired(timeToPairNanos);
  }

  void onEnded(Session session, EndReason reason) {
    // Remember first, then remove: a racing join must find the session either live or ended.
    endedUntilMillis.put(session.id, session.expiresAtMillis + config.clockSkew().toMillis());
    sessions.remove(session.id, session);
    stats.ended(reason);
    listener.ended(reason);
    log.debug("session {} ended: {}", session.id, reason);
  }

  /** Enforces every session's timers and forgets ended sessions whose tickets have expired. */
  public void sweep() {
    long nowNanos = System.nanoTime();
    long nowMillis = clock.millis();
    for (Session s : sessions.values()) {
      s.checkTimers(nowNanos, nowMillis);
    }
    endedUntilMillis.values().removeIf(until -> until <= nowMillis);
  }

  /** Ends every session (relay shutdown): participants are told to reconnect elsewhere. */
  public void endAll(EndReason reason, String message) {
    List<Session> all = new ArrayList<>(sessions.values());
    for (Session s : all) {
      s.end(reason, message, Role.ROLE_UNSPECIFIED, null, null);
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

  public RelayConfig config() {
    return config;
  }

  /** The limits every participant is held to, as advertised to clients. */
  public Limits limits() {
    return limits;
  }
}
