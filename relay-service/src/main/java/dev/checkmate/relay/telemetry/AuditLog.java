package dev.checkmate.relay.telemetry;

import io.opentelemetry.context.Context;
import io.opentelemetry.context.Scope;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.spi.LoggingEventBuilder;

/**
 * Structured audit lines on the logger {@code relay.audit}, at the {@link AuditLevel} of the
 * relay. Fields are SLF4J key-value pairs (JSON fields with {@code RELAY_LOG_FORMAT=json}), and
 * lines carry the trace of the event they describe ({@code trace_id}, {@code span_id}). Never a
 * ticket, an API key, a payload or a session id: a session appears as its {@link dev.checkmate.relay.security.SessionIdHash}.
 *
 * <p>What an operator gets per session by default ({@link AuditLevel#SESSIONS}) is one
 * {@code session_end} line: outcome, whether the participants paired, duration, and each
 * participant's transport and address. Refusals are throttled so that a flood of bad requests
 * cannot become a flood of log lines: at most {@link #REJECTIONS_PER_SECOND} lines per reason and
 * second, the rest counted and reported as one {@code rejection_suppressed} line per reason and
 * window. Metrics ({@code relay_rejections_total}) still count every rejection.
 *
 * <p>Asynchronous and bounded: the thread of the event (a network thread) only puts a small
 * record in a queue of {@link #QUEUE_CAPACITY}; one writer thread ({@code relay-audit}) formats
 * and writes the lines in batches every {@link #WRITE_INTERVAL_MS} ms. When the queue is full (the
 * log sink cannot keep up) lines are dropped and counted, and the writer reports them as one
 * {@code audit_dropped} line; the relay never waits for its log.
 */
final class AuditLog implements AutoCloseable {
  static final Logger LOG = LoggerFactory.getLogger("relay.audit");
  /** Rejection lines per reason and second before further ones are only counted. */
  static final int REJECTIONS_PER_SECOND = 20;
  /** Audit lines waiting for the writer; beyond this they are dropped (and counted). */
  static final int QUEUE_CAPACITY = 16_384;
  static final long WRITE_INTERVAL_MS = 50;
  /** Lines the writer takes from the queue at a time (so at most QUEUE_CAPACITY + BATCH lines are held). */
  static final int BATCH = 256;

  /** A null audit log: writes nothing, owns no thread. */
  static final AuditLog OFF = new AuditLog(AuditLevel.OFF, QUEUE_CAPACITY);

  /** One line: its event, the session (hashed by the writer), its fields as key, value, key, value, …, and its trace. */
  private record Line(String event, String sessionId, Context context, Object[] fields) {}

  /** Both participants of a session as the session_end line reports them (null: never joined here). */
  record Participant(String transport, InetAddress remote) {}

  private final AuditLevel level;
  private final ArrayBlockingQueue<Line> queue;
  private final AuditThrottle rejections;
  private final LongAdder dropped = new LongAdder();
  private final Thread writer;
  private volatile boolean closed;
  private long droppedReported; // writer thread only

  AuditLog(AuditLevel level) {
    this(level, QUEUE_CAPACITY);
  }

  AuditLog(AuditLevel level, int capacity) {
    this.level = level;
    this.queue = new ArrayBlockingQueue<>(capacity);
    this.rejections = new AuditThrottle(REJECTIONS_PER_SECOND, System::nanoTime, this::suppressed);
    if (level == AuditLevel.OFF) {
      this.writer = null;
    } else {
      this.writer = new Thread(this::writeLoop, "relay-audit");
      this.writer.setDaemon(true);
      this.writer.start();
    }
  }

  AuditLevel level() {
    return level;
  }

  /** A participant stream was opened (VERBOSE only; a stream, not a TCP connection). */
  void streamOpened(String transport, InetAddress remote) {
    if (level == AuditLevel.VERBOSE) {
      enqueue(new Line("stream_opened", null, Context.current(), new Object[] {"transport", transport, "remote", remote}));
    }
  }

  /** A participant was seated (VERBOSE only). */
  void joined(String sessionId, String role, String transport, InetAddress remote) {
    if (level == AuditLevel.VERBOSE) {
      enqueue(new Line("join", sessionId, Context.current(),
          new Object[] {"role", role, "transport", transport, "remote", remote}));
    }
  }

  /** CreateSession succeeded (VERBOSE only). */
  void sessionCreated(String sessionId, InetAddress remote) {
    if (level == AuditLevel.VERBOSE) {
      enqueue(new Line("session_created", sessionId, Context.current(), new Object[] {"remote", remote}));
    }
  }

  /** The one line per session: how it ended and who took part. */
  void sessionEnded(String sessionId, String outcome, boolean paired, long durationMillis, Participant prover,
      Participant verifier, Context context) {
    if (level == AuditLevel.OFF) {
      return;
    }
    List<Object> f = new ArrayList<>(14);
    f.add("outcome");
    f.add(outcome);
    f.add("paired");
    f.add(paired);
    f.add("duration_ms");
    f.add(durationMillis);
    if (prover != null) {
      f.add("prover_transport");
      f.add(prover.transport());
      f.add("prover_remote");
      f.add(prover.remote());
    }
    if (verifier != null) {
      f.add("verifier_transport");
      f.add(verifier.transport());
      f.add("verifier_remote");
      f.add(verifier.remote());
    }
    enqueue(new Line("session_end", sessionId, context == null ? Context.root() : context, f.toArray()));
  }

  /** A refused stream or call; throttled per reason. */
  void rejected(String reason, String operation, String transport, InetAddress remote) {
    if (level == AuditLevel.OFF || !LOG.isInfoEnabled() || !rejections.admit(reason)) {
      return;
    }
    enqueue(new Line("rejection", null, Context.current(),
        new Object[] {"reason", reason, "operation", operation, "transport", transport, "remote", remote}));
  }

  /** The summary of a window's suppressed rejection lines (bounded: one per reason and second). */
  private void suppressed(String reason, long count, long windowMillis) {
    enqueue(new Line("rejection_suppressed", null, Context.root(),
        new Object[] {"reason", reason, "suppressed", count, "window_ms", windowMillis}));
  }

  private void enqueue(Line line) {
    if ((closed && Thread.currentThread() != writer) || !LOG.isInfoEnabled()) {
      return;
    }
    if (!queue.offer(line)) {
      dropped.increment();
    }
  }

  /** Lines waiting to be written (for tests). */
  int queued() {
    return queue.size();
  }

  // ---- writer thread

  private void writeLoop() {
    List<Line> batch = new ArrayList<>(BATCH);
    while (true) {
      boolean stopping = closed;
      queue.drainTo(batch, BATCH);
      for (Line line : batch) {
        write(line);
      }
      batch.clear();
      if (rejections.pendingSuppressed() > 0) {
        rejections.flush();
      }
      reportDropped();
      if (stopping && queue.isEmpty()) {
        return;
      }
      if (queue.isEmpty()) {
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(WRITE_INTERVAL_MS));
      }
    }
  }

  private void write(Line line) {
    try (Scope ignored = line.context().makeCurrent()) {
      LoggingEventBuilder b;
      if (line.event().equals("rejection_suppressed")) {
        b = LOG.atInfo().setMessage("rejection_suppressed: {} similar rejection lines (reason {}) suppressed in {} ms")
            .addArgument(line.fields()[3]).addArgument(line.fields()[1]).addArgument(line.fields()[5]);
      } else {
        b = LOG.atInfo().setMessage(line.event());
      }
      b.addKeyValue("event", line.event());
      if (line.sessionId() != null) {
        b.addKeyValue("session_hash", dev.checkmate.relay.security.SessionIdHash.of(line.sessionId()));
      }
      Object[] f = line.fields();
      for (int i = 0; i + 1 < f.length; i += 2) {
        Object v = f[i + 1];
        b.addKeyValue((String) f[i], v instanceof InetAddress a ? a.getHostAddress() : v == null ? "unknown" : v);
      }
      b.log();
    } catch (RuntimeException e) {
      // A broken log sink must not stop the writer; the line is lost like a dropped one.
      dropped.increment();
    }
  }

  private void reportDropped() {
    long total = dropped.sum();
    if (total > droppedReported) {
      long n = total - droppedReported;
      droppedReported = total;
      LOG.atWarn().setMessage("audit_dropped: {} audit lines dropped (the log could not keep up; queue of {} full)")
          .addArgument(n).addArgument(queue.remainingCapacity() + queue.size())
          .addKeyValue("event", "audit_dropped")
          .addKeyValue("dropped", n)
          .log();
    }
  }

  /** Writes what is queued (waiting at most two seconds) and stops the writer. */
  @Override
  public void close() {
    closed = true;
    if (writer != null) {
      LockSupport.unpark(writer);
      try {
        writer.join(2000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
