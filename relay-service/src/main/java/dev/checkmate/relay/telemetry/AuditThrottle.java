package dev.checkmate.relay.telemetry;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * Keeps audit records from becoming an amplification vector: at most {@code perSecond} lines per
 * key (e.g. a rejection reason) in each one-second window; the rest are counted, and the count is
 * reported once per window as a summary ("suppressed K similar"), either with the next admitted
 * line of that key or by {@link #flush()} (which the caller runs periodically while anything is
 * suppressed). Keys are bounded labels; beyond {@link #MAX_KEYS} distinct keys, new keys share one
 * window, so the map cannot grow with attacker input. Thread-safe, lock per key.
 */
final class AuditThrottle {
  static final int MAX_KEYS = 256;
  static final String OVERFLOW_KEY = "other";
  static final long WINDOW_NANOS = 1_000_000_000L;

  /** Receives "K lines of {@code key} were suppressed in the window that started at …". */
  interface Summary {
    void suppressed(String key, long count, long windowMillis);
  }

  private static final class Window {
    long start;
    int used;
    long suppressed;

    Window(long start) {
      this.start = start;
    }
  }

  private final int perSecond;
  private final LongSupplier nanoClock;
  private final Summary summary;
  private final Map<String, Window> windows = new ConcurrentHashMap<>();

  AuditThrottle(int perSecond, LongSupplier nanoClock, Summary summary) {
    if (perSecond < 1) {
      throw new IllegalArgumentException("perSecond must be >= 1");
    }
    this.perSecond = perSecond;
    this.nanoClock = nanoClock;
    this.summary = summary;
  }

  /**
   * Whether a line for {@code key} may be written now. Reports the previous window's suppressed
   * count first when a new window starts.
   *
   * @return true to log the line, false when it is suppressed (and counted)
   */
  boolean admit(String key) {
    Window w = window(key);
    long now = nanoClock.getAsLong();
    long report = 0;
    long reportMillis = 0;
    boolean admitted;
    synchronized (w) {
      if (now - w.start >= WINDOW_NANOS) {
        report = w.suppressed;
        reportMillis = (now - w.start) / 1_000_000L;
        w.start = now;
        w.used = 0;
        w.suppressed = 0;
      }
      admitted = w.used < perSecond;
      if (admitted) {
        w.used++;
      } else {
        w.suppressed++;
      }
    }
    if (report > 0) {
      summary.suppressed(key, report, reportMillis);
    }
    return admitted;
  }

  /** Reports every window that is over and suppressed something; returns how many keys still suppress. */
  int flush() {
    long now = nanoClock.getAsLong();
    List<Object[]> reports = new ArrayList<>();
    int pending = 0;
    for (Map.Entry<String, Window> e : windows.entrySet()) {
      Window w = e.getValue();
      synchronized (w) {
        if (w.suppressed == 0) {
          continue;
        }
        if (now - w.start >= WINDOW_NANOS) {
          reports.add(new Object[] {e.getKey(), w.suppressed, (now - w.start) / 1_000_000L});
          w.start = now;
          w.used = 0;
          w.suppressed = 0;
        } else {
          pending++;
        }
      }
    }
    for (Object[] r : reports) {
      summary.suppressed((String) r[0], (Long) r[1], (Long) r[2]);
    }
    return pending;
  }

  /** Lines suppressed and not yet reported, over all keys (for tests and metrics). */
  long pendingSuppressed() {
    long n = 0;
    for (Window w : windows.values()) {
      synchronized (w) {
        n += w.suppressed;
      }
    }
    return n;
  }

  private Window window(String key) {
    String k = key == null ? OVERFLOW_KEY : key;
    Window w = windows.get(k);
    if (w != null) {
      return w;
    }
    if (windows.size() >= MAX_KEYS) {
      k = OVERFLOW_KEY;
    }
    long start = nanoClock.getAsLong() - WINDOW_NANOS; // a new key starts with a fresh window
    return windows.computeIfAbsent(k, x -> new Window(start));
  }
}
