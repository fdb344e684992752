package dev.checkmate.relay.telemetry;

import java.net.InetAddress;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Structured audit lines on the logger {@code relay.audit}: one per connection attempt, join,
 * rejection, created session and session end. Fields are SLF4J key-value pairs (JSON fields with
 * RELAY_LOG_FORMAT=json). Never a ticket, an API key or a payload: only the session id, bounded
 * labels, the remote address and durations.
 *
 * <p>Rejections are throttled so that a flood of bad requests cannot turn into a flood of log
 * lines (disk, log shipping): at most {@link #REJECTIONS_PER_SECOND} lines per reason and second;
 * the rest are counted and reported as one {@code rejection_suppressed} line per reason and window
 * ("suppressed K similar"), at the latest about a second after the window ends. Metrics
 * ({@code relay_rejections_total}) still count every rejection.
 */
final class AuditLog {
  static final Logger LOG = LoggerFactory.getLogger("relay.audit");
  /** Rejection lines per reason and second before further ones are only counted. */
  static final int REJECTIONS_PER_SECOND = 20;
  static final AuditThrottle REJECTIONS = new AuditThrottle(REJECTIONS_PER_SECOND, System::nanoTime, AuditLog::suppressed);
  private static final AtomicBoolean FLUSH_SCHEDULED = new AtomicBoolean();
  private static volatile ScheduledExecutorService flusher;

  private AuditLog() {}

  static void connection(String transport, InetAddress remote) {
    LOG.atInfo().setMessage("connection")
        .addKeyValue("event", "connection")
        .addKeyValue("transport", transport)
        .addKeyValue("remote", address(remote))
        .log();
  }

  static void joined(String sessionId, String sessionHash, String role, String transport, InetAddress remote) {
    LOG.atInfo().setMessage("join")
        .addKeyValue("event", "join")
        .addKeyValue("session_id", sessionId)
        .addKeyValue("session_hash", sessionHash)
        .addKeyValue("role", role)
        .addKeyValue("transport", transport)
        .addKeyValue("remote", address(remote))
        .log();
  }

  static void rejected(String reason, String operation, String transport, InetAddress remote) {
    if (!REJECTIONS.admit(reason)) {
      scheduleFlush();
      return;
    }
    LOG.atInfo().setMessage("rejection")
        .addKeyValue("event", "rejection")
        .addKeyValue("reason", reason)
        .addKeyValue("operation", operation)
        .addKeyValue("transport", transport)
        .addKeyValue("remote", address(remote))
        .log();
  }

  static void sessionCreated(String sessionId, String sessionHash, InetAddress remote) {
    LOG.atInfo().setMessage("session_created")
        .addKeyValue("event", "session_created")
        .addKeyValue("session_id", sessionId)
        .addKeyValue("session_hash", sessionHash)
        .addKeyValue("remote", address(remote))
        .log();
  }

  static void sessionEnded(String sessionId, String sessionHash, String outcome, boolean paired, long durationMillis) {
    LOG.atInfo().setMessage("session_end")
        .addKeyValue("event", "session_end")
        .addKeyValue("session_id", sessionId)
        .addKeyValue("session_hash", sessionHash)
        .addKeyValue("outcome", outcome)
        .addKeyValue("paired", paired)
        .addKeyValue("duration_ms", durationMillis)
        .log();
  }

  /** The summary of a window's suppressed rejection lines (bounded: one per reason and second). */
  static void suppressed(String reason, long count, long windowMillis) {
    LOG.atInfo().setMessage("rejection_suppressed: {} similar rejection lines (reason {}) suppressed in {} ms")
        .addArgument(count)
        .addArgument(reason)
        .addArgument(windowMillis)
        .addKeyValue("event", "rejection_suppressed")
        .addKeyValue("reason", reason)
        .addKeyValue("suppressed", count)
        .addKeyValue("window_ms", windowMillis)
        .log();
  }

  /** Reports suppressed counts once their window is over, also when the flood has stopped. */
  private static void scheduleFlush() {
    if (!FLUSH_SCHEDULED.compareAndSet(false, true)) {
      return;
    }
    flusherThread().schedule(AuditLog::flushAndReschedule, 1, TimeUnit.SECONDS);
  }

  private static void flushAndReschedule() {
    int pending;
    try {
      pending = REJECTIONS.flush();
    } finally {
      FLUSH_SCHEDULED.set(false);
    }
    if (pending > 0 || REJECTIONS.pendingSuppressed() > 0) {
      scheduleFlush();
    }
  }

  private static ScheduledExecutorService flusherThread() {
    ScheduledExecutorService f = flusher;
    if (f == null) {
      synchronized (AuditLog.class) {
        f = flusher;
        if (f == null) {
          ScheduledThreadPoolExecutor e = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "relay-audit-flush");
            t.setDaemon(true);
            return t;
          });
          e.setRemoveOnCancelPolicy(true);
          flusher = f = e;
        }
      }
    }
    return f;
  }

  private static String address(InetAddress remote) {
    return remote == null ? "unknown" : remote.getHostAddress();
  }
}
