package dev.checkmate.relay.telemetry;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * A flood of rejections must not become a flood of audit lines: at most N lines per reason and
 * second, plus one "suppressed K similar" summary per reason and window.
 */
class AuditLogThrottleTest {
  private static final long SECOND = 1_000_000_000L;

  private record Report(String key, long count, long windowMillis) {}

  @Test
  void atMostNLinesPerKeyAndSecondAndTheRestAreSummarizedOncePerWindow() {
    AtomicLong now = new AtomicLong(5 * SECOND);
    List<Report> reports = new ArrayList<>();
    AuditThrottle t = new AuditThrottle(3, now::get, (k, n, ms) -> reports.add(new Report(k, n, ms)));

    int admitted = 0;
    for (int i = 0; i < 1000; i++) {
      admitted += t.admit("bad_ticket") ? 1 : 0;
    }
    assertThat(admitted).isEqualTo(3);
    // Another reason has its own budget.
    assertThat(t.admit("rate_limited")).isTrue();
    assertThat(reports).isEmpty();
    assertThat(t.pendingSuppressed()).isEqualTo(997);

    // Within the window nothing is reported yet; the next window reports first, then admits.
    now.addAndGet(SECOND / 2);
    assertThat(t.flush()).isEqualTo(1);
    assertThat(reports).isEmpty();
    now.addAndGet(SECOND / 2);
    assertThat(t.admit("bad_ticket")).isTrue();
    assertThat(reports).containsExactly(new Report("bad_ticket", 997, 1000));
    assertThat(t.pendingSuppressed()).isZero();

    // A flood that stops is still reported, by the periodic flush.
    for (int i = 0; i < 10; i++) {
      t.admit("bad_ticket");
    }
    assertThat(t.pendingSuppressed()).isEqualTo(8);
    now.addAndGet(SECOND);
    assertThat(t.flush()).isZero();
    assertThat(reports).hasSize(2).last().isEqualTo(new Report("bad_ticket", 8, 1000));
    assertThat(t.flush()).isZero();
    assertThat(reports).hasSize(2); // reported once
  }

  @Test
  void attackerChosenKeysCannotGrowTheStateBeyondTheBound() {
    AtomicLong now = new AtomicLong();
    AuditThrottle t = new AuditThrottle(1, now::get, (k, n, ms) -> { });
    int admitted = 0;
    for (int i = 0; i < 10_000; i++) {
      admitted += t.admit("reason-" + i) ? 1 : 0;
    }
    // MAX_KEYS keys get their own line; all later keys share the overflow window (1 line).
    assertThat(admitted).isEqualTo(AuditThrottle.MAX_KEYS + 1);
    assertThat(t.pendingSuppressed()).isEqualTo(10_000 - AuditThrottle.MAX_KEYS - 1);
  }

  @Test
  void aFloodOfRejectionsWritesBoundedAuditLinesAndOneSummary() throws Exception {
    Logger audit = (Logger) org.slf4j.LoggerFactory.getLogger("relay.audit");
    ListAppender<ILoggingEvent> capture = new ListAppender<>();
    capture.start();
    ch.qos.logback.classic.Level level = audit.getLevel();
    audit.setLevel(ch.qos.logback.classic.Level.INFO);
    audit.addAppender(capture);
    AuditLog log = new AuditLog(AuditLevel.SESSIONS);
    try {
      String reason = "flood_test_" + System.nanoTime(); // its own window, whatever else logged
      InetAddress remote = InetAddress.getByName("192.0.2.7");
      long start = System.nanoTime();
      for (int i = 0; i < 5000; i++) {
        log.rejected(reason, "connect", "websocket", remote);
      }
      long elapsedSeconds = (System.nanoTime() - start) / SECOND + 1;
      Thread.sleep(3 * AuditLog.WRITE_INTERVAL_MS); // the writer thread writes in batches
      List<ILoggingEvent> lines = linesFor(capture, reason, "rejection");
      assertThat(lines.size()).isBetween(AuditLog.REJECTIONS_PER_SECOND,
          (int) (AuditLog.REJECTIONS_PER_SECOND * elapsedSeconds));
      // The summary arrives without further rejections (the periodic flush), once.
      long deadline = System.nanoTime() + 5 * SECOND;
      long reported = 0;
      while (System.nanoTime() < deadline) {
        reported = linesFor(capture, reason, "rejection_suppressed").stream()
            .mapToLong(e -> (Long) value(e, "suppressed")).sum();
        if (reported + linesFor(capture, reason, "rejection").size() == 5000) {
          break;
        }
        Thread.sleep(50);
      }
      assertThat(reported + linesFor(capture, reason, "rejection").size()).isEqualTo(5000);
      List<ILoggingEvent> summaries = linesFor(capture, reason, "rejection_suppressed");
      assertThat(summaries.size()).isLessThanOrEqualTo((int) elapsedSeconds + 1);
      assertThat(summaries.get(0).getFormattedMessage()).contains("similar rejection lines").contains(reason);
    } finally {
      log.close();
      audit.detachAppender(capture);
      audit.setLevel(level);
    }
  }

  private static List<ILoggingEvent> linesFor(ListAppender<ILoggingEvent> capture, String reason, String event) {
    synchronized (capture) { // AppenderBase appends under the appender's lock
      return new ArrayList<>(capture.list).stream()
          .filter(e -> event.equals(value(e, "event")) && reason.equals(value(e, "reason")))
          .toList();
    }
  }

  private static Object value(ILoggingEvent e, String key) {
    if (e.getKeyValuePairs() == null) {
      return null;
    }
    return e.getKeyValuePairs().stream().filter(kv -> kv.key.equals(key)).map(kv -> kv.value).findFirst().orElse(null);
  }
}
