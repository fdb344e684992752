package dev.checkmate.relay.telemetry;

import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.DATA;
import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.JOINED;
import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.SESSION_ENDED;
import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import dev.checkmate.relay.RelayConfig;
import dev.checkmate.relay.proto.v1.CreateSessionResponse;
import dev.checkmate.relay.testing.TestPeer;
import dev.checkmate.relay.testing.TestRelay;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * What the audit log writes at each level for a real session, that session ids appear only
 * hashed (with the spans' function), and that writing is asynchronous and bounded.
 */
@Timeout(60)
class AuditLogTest {
  private final Logger audit = (Logger) org.slf4j.LoggerFactory.getLogger("relay.audit");
  private final Capture capture = new Capture();

  /** Records audit events with the thread that appended them; can be made to block (a stuck log sink). */
  private static final class Capture extends AppenderBase<ILoggingEvent> {
    final List<ILoggingEvent> events = new ArrayList<>();
    final List<String> threads = new ArrayList<>();
    volatile CountDownLatch gate;

    @Override
    protected void append(ILoggingEvent e) {
      CountDownLatch g = gate;
      if (g != null) {
        try {
          g.await(30, TimeUnit.SECONDS);
        } catch (InterruptedException ex) {
          Thread.currentThread().interrupt();
        }
      }
      synchronized (events) {
        events.add(e);
        threads.add(Thread.currentThread().getName());
      }
    }

    List<Map<String, Object>> lines() {
      synchronized (events) {
        return events.stream().map(AuditLogTest::fields).toList();
      }
    }
  }

  @BeforeEach
  void attach() {
    capture.start();
    audit.addAppender(capture);
  }

  @AfterEach
  void detach() {
    audit.detachAppender(capture);
  }

  private static Map<String, Object> fields(ILoggingEvent e) {
    Map<String, Object> m = new java.util.LinkedHashMap<>();
    if (e.getKeyValuePairs() != null) {
      e.getKeyValuePairs().forEach(kv -> m.put(kv.key, kv.value));
    }
    return m;
  }

  /** Runs one full session (create, both join, a frame, terminate) plus one forged join; returns the session id. */
  private static String oneSession(TestRelay relay) throws Exception {
    CreateSessionResponse s = relay.createSession();
    try (TestPeer p = relay.join(s.getProverTicket()); TestPeer v = relay.join(s.getVerifierTicket())) {
      p.next(JOINED);
      v.next(JOINED);
      p.sendData(new byte[] {1, 2, 3});
      v.next(DATA);
      try (TestPeer forged = relay.join(s.getVerifierTicket().substring(0, s.getVerifierTicket().length() - 4) + "AAAA")) {
        forged.awaitClose();
      }
      p.terminate("done");
      v.next(SESSION_ENDED);
      p.awaitClose();
      v.awaitClose();
    }
    return s.getSessionId();
  }

  private List<Map<String, Object>> runWith(AuditLevel level) throws Exception {
    String sid;
    try (TestRelay relay = TestRelay.start(RelayConfig.builder().auditLog(level))) {
      sid = oneSession(relay);
    } // closing the relay writes what is queued
    List<Map<String, Object>> lines = capture.lines();
    for (Map<String, Object> l : lines) {
      assertThat(l.values().stream().map(String::valueOf).collect(Collectors.joining(" ")))
          .as("a session id appears only hashed").doesNotContain(sid);
    }
    lines.forEach(l -> l.put("_sid", sid));
    return lines;
  }

  private static List<Map<String, Object>> events(List<Map<String, Object>> lines, String event) {
    return lines.stream().filter(l -> event.equals(l.get("event"))).toList();
  }

  @Test
  void byDefaultASessionIsOneLineAtItsEndWithOutcomeAndBothParticipantsPlusTheRefusal() throws Exception {
    assertThat(RelayConfig.builder().build().auditLog()).isEqualTo(AuditLevel.SESSIONS);
    List<Map<String, Object>> lines = runWith(AuditLevel.SESSIONS);
    assertThat(lines).extracting(l -> l.get("event")).containsExactlyInAnyOrder("session_end", "rejection");
    Map<String, Object> end = events(lines, "session_end").get(0);
    assertThat(end.get("session_hash")).isEqualTo(dev.checkmate.relay.security.SessionIdHash.of((String) end.get("_sid")));
    assertThat(end).containsEntry("outcome", "terminated").containsEntry("paired", true)
        .containsEntry("prover_transport", "grpc").containsEntry("verifier_transport", "grpc")
        .containsEntry("prover_remote", "127.0.0.1").containsEntry("verifier_remote", "127.0.0.1")
        .containsKey("duration_ms");
    assertThat(events(lines, "rejection").get(0)).containsEntry("reason", "bad_ticket").containsEntry("operation", "connect");
    // Written by the audit thread, never by the relay's network threads.
    synchronized (capture.events) {
      assertThat(capture.threads).containsOnly("relay-audit");
    }
  }

  @Test
  void verboseAddsStreamsJoinsAndCreatedSessionsStillWithoutTheSessionId() throws Exception {
    List<Map<String, Object>> lines = runWith(AuditLevel.VERBOSE);
    assertThat(events(lines, "stream_opened")).hasSize(3);
    assertThat(events(lines, "join")).hasSize(2).allSatisfy(l -> assertThat(l.get("session_hash")).isEqualTo(dev.checkmate.relay.security.SessionIdHash.of((String) l.get("_sid"))));
    assertThat(events(lines, "session_created")).hasSize(1);
    assertThat(events(lines, "session_end")).hasSize(1);
  }

  @Test
  void offWritesNothingAndStartsNoThread() throws Exception {
    assertThat(runWith(AuditLevel.OFF)).isEmpty();
    AuditLog off = new AuditLog(AuditLevel.OFF);
    off.rejected("bad_ticket", "connect", "grpc", InetAddress.getLoopbackAddress());
    assertThat(off.queued()).isZero();
    assertThat(Thread.getAllStackTraces().keySet().stream().map(Thread::getName)).doesNotContain("relay-audit");
  }

  @Test
  void aStuckLogSinkCostsABoundedQueueAndTheDropsAreReported() throws Exception {
    CountDownLatch gate = new CountDownLatch(1);
    capture.gate = gate;
    int capacity = 100;
    AuditLog log = new AuditLog(AuditLevel.SESSIONS, capacity);
    try {
      long start = System.nanoTime();
      for (int i = 0; i < 10_000; i++) {
        log.sessionEnded("session-" + i, "terminated", true, 1, null, null, null);
        assertThat(log.queued()).isLessThanOrEqualTo(capacity);
      }
      // Never waited for the stuck sink.
      assertThat(System.nanoTime() - start).isLessThan(TimeUnit.SECONDS.toNanos(5));
    } finally {
      gate.countDown();
      capture.gate = null;
      log.close();
    }
    List<Map<String, Object>> lines = capture.lines();
    long written = events(lines, "session_end").size();
    long dropped = events(lines, "audit_dropped").stream().mapToLong(l -> (Long) l.get("dropped")).sum();
    // Held while the sink was stuck: the queue plus the batch the writer had taken from it.
    assertThat(written).isBetween(1L, (long) capacity + Math.min(AuditLog.BATCH, capacity));
    assertThat(written + dropped).isEqualTo(10_000);
  }
}
