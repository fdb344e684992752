package dev.checkmate.relay.cluster;

import com.google.protobuf.ByteString;
import dev.checkmate.relay.proto.cluster.v1.Located;
import dev.checkmate.relay.proto.cluster.v1.Lookup;
import dev.checkmate.relay.proto.cluster.v1.NodeMessage;
import java.time.Duration;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Finds a session's home: one lookup on {@code relay.v1.home.<sid>.<me>} with a reply subject in
 * this node's inbox. Three ends, none of which believes a silent listener:
 *
 * <ul>
 *   <li>NATS answers "no responders" (nobody subscribes to the session's home subject): nobody
 *       holds it;
 *   <li>a node answers privately with a {@link Located} whose proof verifies with the session's
 *       key (so it holds a ticket of the session) for this very lookup's nonce: that node is home
 *       (or remembers the session as ended). Unverifiable answers are counted and ignored;
 *   <li>nothing valid within {@link ClusterSettings#clusterLookupTimeout}: NATS
 *       saw a subscriber that did not answer (a passive listener, or a home too slow to matter):
 *       treated as nobody, and the claim rule settles it if a home did exist.
 * </ul>
 *
 * <p>It also remembers, for a while, which sessions were homed on another node, so that while the
 * link is down a join for one of them fails fast instead of being homed here.
 */
final class Locator {
  /** How a lookup ended. */
  enum Outcome { HOME, ENDED, NOBODY, TIMEOUT, LINK_DOWN }

  /** The end of a lookup: the home node for HOME and ENDED. */
  record Location(Outcome outcome, String node) {}

  private record Pending(String sessionId, SessionKeys keys, byte[] nonce, Consumer<Location> done, ScheduledFuture<?> timer) {}

  private static final int MAX_REMEMBERED = 100_000;
  /** Marks a session with a live bridge here (no expiry). */
  private static final long LIVE = Long.MIN_VALUE;

  private final ClusterLink link;
  private final ScheduledExecutorService timers;
  private final Duration timeout;
  private final Map<String, Pending> pending = new ConcurrentHashMap<>();
  /** Session id -> until when (nanoTime) it is known to be homed on another node. */
  private final Map<String, Long> remoteHomes = new ConcurrentHashMap<>();

  Locator(ClusterLink link, ScheduledExecutorService timers, Duration timeout) {
    this.link = link;
    this.timers = timers;
    this.timeout = timeout;
  }

  /** Looks the session up; {@code done} runs once, on a cluster thread. */
  void locate(String sessionId, SessionKeys keys, Consumer<Location> done) {
    byte[] nonce = SessionKeys.random(16);
    String id = SessionKeys.hex(nonce);
    ScheduledFuture<?> timer = timers.schedule(() -> {
      Pending p = pending.remove(id);
      if (p != null) {
        link.refused(ClusterRefusal.LOOKUP_TIMEOUT);
        p.done().accept(new Location(Outcome.TIMEOUT, null));
      }
    }, timeout.toMillis(), TimeUnit.MILLISECONDS);
    pending.put(id, new Pending(sessionId, keys, nonce, done, timer));
    byte[] lookup = NodeMessage.newBuilder()
        .setLookup(Lookup.newBuilder().setSessionId(sessionId).setNonce(ByteString.copyFrom(nonce))).build().toByteArray();
    if (!link.nats().isUp() || !link.nats().publish(Subjects.home(sessionId, link.nodeId()),
        Subjects.inbox(link.nodeId()) + ".lk." + id, lookup)) {
      Pending p = pending.remove(id);
      if (p != null) {
        timer.cancel(false);
        done.accept(new Location(Outcome.LINK_DOWN, null));
      }
    }
  }

  /** NATS: no node subscribes to the session's home subject. */
  void onNoResponders(String id) {
    Pending p = pending.remove(id);
    if (p != null) {
      p.timer().cancel(false);
      p.done().accept(new Location(Outcome.NOBODY, null));
    }
  }

  /** A private answer from {@code src}. */
  void onLocated(String src, Located located) {
    String id = SessionKeys.hex(located.getNonce());
    Pending p = pending.get(id);
    if (p == null || !p.sessionId().equals(located.getSessionId())) {
      link.refused(ClusterRefusal.UNSOLICITED);
      return;
    }
    if (!p.keys().verify(located.getProof(), "located", p.sessionId(), src, link.nodeId(), id,
        located.getState().name())) {
      link.refused(ClusterRefusal.PROOF);
      return; // keep waiting for a genuine answer
    }
    if (pending.remove(id, p)) {
      p.timer().cancel(false);
      p.done().accept(new Location(located.getState() == Located.State.ENDED ? Outcome.ENDED : Outcome.HOME, src));
    }
  }

  /** The proof a home puts on its answer to {@code asker}'s lookup. */
  static ByteString proof(SessionKeys keys, String sessionId, String home, String asker, ByteString nonce, Located.State state) {
    return ByteString.copyFrom(keys.proof("located", sessionId, home, asker, SessionKeys.hex(nonce), state.name()));
  }

  /** A bridge of this node is bound to the session's home on another node. */
  void bridgeBound(String sessionId) {
    remember(sessionId, LIVE);
  }

  /** A bridge ended: for the join deadline (the time a rejoin may take) the session is still known to live elsewhere. */
  void bridgeEnded(String sessionId, Duration forHowLong) {
    remember(sessionId, System.nanoTime() + forHowLong.toNanos());
  }

  private void remember(String sessionId, long until) {
    if (remoteHomes.size() >= MAX_REMEMBERED && !remoteHomes.containsKey(sessionId)) {
      expire();
      if (remoteHomes.size() >= MAX_REMEMBERED) {
        remoteHomes.clear();
      }
    }
    remoteHomes.put(sessionId, until);
  }

  /** True if the session is (or was just) homed on another node: while the link is down, a join for it fails fast. */
  boolean knownRemote(String sessionId) {
    Long until = remoteHomes.get(sessionId);
    return until != null && (until == LIVE || until - System.nanoTime() > 0);
  }

  /** Forgets expired remote homes (sweeper). */
  void expire() {
    long now = System.nanoTime();
    for (Iterator<Long> it = remoteHomes.values().iterator(); it.hasNext(); ) {
      long until = it.next();
      if (until != LIVE && until - now <= 0) {
        it.remove();
      }
    }
  }
}
