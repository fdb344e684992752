package dev.checkmate.relay.soak;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import org.HdrHistogram.ConcurrentHistogram;
import org.HdrHistogram.Histogram;

/**
 * The run's accounts, filled by the sessions as they finish and by the SDKs' resume events:
 * frames per direction of transports ("grpc→ws"), sessions per outcome and reason, resume times
 * per transport and per fault, setup latency in calm and under faults. Thread-safe.
 */
final class Tally {
  /** Frames of one kind of direction (sender transport → receiver transport), or of one fault. */
  static final class Frames {
    final LongAdder sent = new LongAdder();
    final LongAdder delivered = new LongAdder();
    /** Sent and never delivered, in sessions that completed or failed for a reason the design does not allow. */
    final LongAdder lost = new LongAdder();
    /** Sent and never delivered because the session ended for a reason the design allows (e.g. RELAY_SHUTDOWN). */
    final LongAdder undeliveredAllowed = new LongAdder();
    final LongAdder duplicated = new LongAdder();
    final LongAdder reordered = new LongAdder();
    final LongAdder corrupt = new LongAdder();

    void add(Ledger l, boolean allowedFailure) {
      sent.add(l.sent());
      delivered.add(l.delivered());
      (allowedFailure ? undeliveredAllowed : lost).add(l.lost());
      duplicated.add(l.duplicates());
      reordered.add(l.reordered());
      corrupt.add(l.corrupt());
    }

    long bad() {
      return lost.sum() + duplicated.sum() + reordered.sum() + corrupt.sum();
    }
  }

  /** Sessions of one kind (transport pair and placement), or of one fault. */
  static final class Sessions {
    final LongAdder completed = new LongAdder();
    final LongAdder failedAllowed = new LongAdder();
    final LongAdder failedUnexpected = new LongAdder();
  }

  /** One failure reason, with whether the design allows it and why. */
  record FailureKey(String reason, String allowedBecause) {}

  final Map<String, Frames> framesByDirection = new ConcurrentHashMap<>();
  final Map<String, Frames> framesByFault = new ConcurrentHashMap<>();
  final Frames framesTotal = new Frames();
  final Map<String, Sessions> sessionsByKind = new ConcurrentHashMap<>();
  final Map<String, Sessions> sessionsByFault = new ConcurrentHashMap<>();
  final Sessions sessionsTotal = new Sessions();
  final Map<FailureKey, LongAdder> failures = new ConcurrentHashMap<>();
  /** Failure examples (session, time, both sides' ends), the first few per reason. */
  final Map<String, List<String>> failureExamples = new ConcurrentHashMap<>();
  final Map<String, Histogram> resumeMillisByTransport = new ConcurrentHashMap<>();
  final Map<String, Histogram> resumeMillisByFault = new ConcurrentHashMap<>();
  final LongAdder reconnects = new LongAdder();
  final Histogram setupCalm = histogram();
  final Histogram setupFaults = histogram();
  final LongAdder setupRetries = new LongAdder();
  final LongAdder sessionsStarted = new LongAdder();
  final LongAdder droppedSends = new LongAdder();

  static Histogram histogram() {
    return new ConcurrentHistogram(3_600_000_000L, 3); // microseconds, up to an hour
  }

  /** The fault kinds an event is counted under: those given, or "(no fault)". */
  private static List<String> under(List<String> faultKinds) {
    return faultKinds.isEmpty() ? List.of("(no fault)") : faultKinds;
  }

  Frames direction(String key) {
    return framesByDirection.computeIfAbsent(key, k -> new Frames());
  }

  /** A session's ledger at its end. */
  void frames(String directionKey, List<String> faultKinds, Ledger l, boolean allowedFailure) {
    direction(directionKey).add(l, allowedFailure);
    framesTotal.add(l, allowedFailure);
    for (String f : under(faultKinds)) {
      framesByFault.computeIfAbsent(f, k -> new Frames()).add(l, allowedFailure);
    }
  }

  void completed(String kind, List<String> faultKinds) {
    sessionsTotal.completed.increment();
    sessionsByKind.computeIfAbsent(kind, k -> new Sessions()).completed.increment();
    for (String f : under(faultKinds)) {
      sessionsByFault.computeIfAbsent(f, k -> new Sessions()).completed.increment();
    }
  }

  void failed(String kind, List<String> faultKinds, String reason, String allowedBecause, String example) {
    boolean allowed = allowedBecause != null;
    (allowed ? sessionsTotal.failedAllowed : sessionsTotal.failedUnexpected).increment();
    Sessions s = sessionsByKind.computeIfAbsent(kind, k -> new Sessions());
    (allowed ? s.failedAllowed : s.failedUnexpected).increment();
    for (String f : under(faultKinds)) {
      Sessions fs = sessionsByFault.computeIfAbsent(f, k -> new Sessions());
      (allowed ? fs.failedAllowed : fs.failedUnexpected).increment();
    }
    failures.computeIfAbsent(new FailureKey(reason, allowedBecause), k -> new LongAdder()).increment();
    List<String> ex = failureExamples.computeIfAbsent(reason, k -> new ArrayList<>());
    synchronized (ex) {
      if (ex.size() < 3) {
        ex.add(example);
      }
    }
  }

  void resumed(String transport, List<String> faultKinds, double millis) {
    long micros = Math.max(1, (long) (millis * 1000));
    resumeMillisByTransport.computeIfAbsent(transport, k -> histogram()).recordValue(micros);
    for (String f : under(faultKinds)) {
      resumeMillisByFault.computeIfAbsent(f, k -> histogram()).recordValue(micros);
    }
  }

  void setup(long nanos, boolean duringFault) {
    (duringFault ? setupFaults : setupCalm).recordValue(Math.max(1, nanos / 1000));
  }

  long unexpectedFailures() {
    return sessionsTotal.failedUnexpected.sum();
  }

  /** Failure reasons sorted by reason. */
  Map<FailureKey, Long> failureCounts() {
    Map<FailureKey, Long> out = new TreeMap<>((a, b) -> a.reason().compareTo(b.reason()) != 0 ? a.reason().compareTo(b.reason())
        : String.valueOf(a.allowedBecause()).compareTo(String.valueOf(b.allowedBecause())));
    failures.forEach((k, v) -> out.put(k, v.sum()));
    return out;
  }
}
