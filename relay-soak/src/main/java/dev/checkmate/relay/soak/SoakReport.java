package dev.checkmate.relay.soak;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.HdrHistogram.Histogram;

/**
 * What a soak run found, and whether it met the goals: no frame lost, duplicated, reordered or
 * corrupted in any session (every session resumes); no session failed for a reason the design does
 * not allow; every relay holding no session and no stream once the load is gone; relay heap after a
 * full GC and threads, idle at the end, not above their level under load at the start (plus a small
 * margin); every planned fault carried out.
 */
final class SoakReport {
  /** Idle heap may exceed the loaded baseline by this much (class loading, JIT'd code caches on heap, pools). */
  static final long HEAP_MARGIN_BYTES = 8L * 1024 * 1024;
  /** Idle threads may exceed the loaded baseline by this many (pools that grew under a fault and have not yet timed out). */
  static final int THREAD_MARGIN = 12;

  final SoakConfig config;
  final List<Fault> plan;
  final Tally tally;
  final List<Probe.RelaySnapshot> baseline = new ArrayList<>();
  final List<Probe.RelaySnapshot> end = new ArrayList<>();
  List<FaultRunner.Event> timeline = List.of();
  Map<String, Double> cpuSeconds = Map.of();
  long origin;
  double startupSeconds;
  double loadSeconds;
  double idleAfterSeconds;
  double machineBusyCores;
  long natsSlowConsumers;
  boolean drainedCleanly;

  SoakReport(SoakConfig config, List<Fault> plan, Tally tally) {
    this.config = config;
    this.plan = plan;
    this.tally = tally;
  }

  /** Every goal the run missed, in words; empty when it met them all. */
  List<String> violations() {
    List<String> v = new ArrayList<>();
    Tally.Frames f = tally.framesTotal;
    if (f.lost.sum() > 0) {
      v.add(f.lost.sum() + " frames lost");
    }
    if (f.duplicated.sum() > 0) {
      v.add(f.duplicated.sum() + " frames duplicated");
    }
    if (f.reordered.sum() > 0) {
      v.add(f.reordered.sum() + " frames reordered");
    }
    if (f.corrupt.sum() > 0) {
      v.add(f.corrupt.sum() + " frames corrupt (chain or session mismatch)");
    }
    if (tally.unexpectedFailures() > 0) {
      v.add(tally.unexpectedFailures() + " sessions failed for a reason the design does not allow");
    }
    if (tally.sessionsTotal.completed.sum() == 0) {
      v.add("no session completed");
    }
    if (!drainedCleanly) {
      v.add("sessions still open after the load was wound down");
    }
    for (Probe.RelaySnapshot s : end) {
      if (s.sessions() != 0 || s.connections() != 0) {
        v.add(s.node() + " still holds " + fmt(s.sessions()) + " sessions and " + fmt(s.connections()) + " streams with no session open");
      }
    }
    for (int i = 0; i < end.size() && i < baseline.size(); i++) {
      Probe.RelaySnapshot b = baseline.get(i);
      Probe.RelaySnapshot e = end.get(i);
      if (b.heapAfterGcBytes() > 0 && e.heapAfterGcBytes() > b.heapAfterGcBytes() + HEAP_MARGIN_BYTES) {
        v.add(String.format(Locale.ROOT, "%s heap after GC grew: %.1f MiB idle at the end vs %.1f MiB under load at the start",
            e.node(), e.heapAfterGcBytes() / 1048576.0, b.heapAfterGcBytes() / 1048576.0));
      }
      if (b.threads() > 0 && e.threads() > b.threads() + THREAD_MARGIN) {
        v.add(e.node() + " threads grew: " + e.threads() + " idle at the end vs " + b.threads() + " under load at the start");
      }
    }
    for (FaultRunner.Event e : timeline) {
      if (e.error != null) {
        v.add("fault " + e.fault.id() + " could not be carried out: " + e.error);
      }
    }
    if (timeline.size() < plan.size()) {
      v.add((plan.size() - timeline.size()) + " planned faults did not happen");
    }
    return v;
  }

  private static String fmt(double d) {
    return d < 0 ? "?" : String.format(Locale.ROOT, "%.0f", d);
  }

  private static String pct(Histogram h, double p) {
    return h.getTotalCount() == 0 ? "-" : String.format(Locale.ROOT, "%.0f", h.getValueAtPercentile(p) / 1000.0);
  }

  private static String max(Histogram h) {
    return h.getTotalCount() == 0 ? "-" : String.format(Locale.ROOT, "%.0f", h.getMaxValue() / 1000.0);
  }

  /** The report as text (what the CLI prints and writes with --out). */
  String text(String machine) {
    StringBuilder b = new StringBuilder();
    List<String> violations = violations();
    b.append("CheckMate Relay soak report\n===========================\n\n");
    b.append("Verdict: ").append(violations.isEmpty() ? "PASS: every goal met" : "FAIL: " + String.join("; ", violations)).append("\n\n");
    b.append("Machine: ").append(machine).append('\n');
    b.append("Run: ").append(config.describe()).append('\n');
    b.append(String.format(Locale.ROOT, "Wall time: cluster start %.1f s, load %.1f s (including wind-down), idle after %.1f s%n",
        startupSeconds, loadSeconds, idleAfterSeconds));
    b.append(String.format(Locale.ROOT, "CPU during the load: the whole machine was busy %.2f of %d cores on average (other users included)%n",
        machineBusyCores, Runtime.getRuntime().availableProcessors()));
    cpuSeconds.forEach((role, s) -> b.append(String.format(Locale.ROOT, "  %-28s %8.1f CPU s  (%.2f cores)%n", role, s,
        s / Math.max(1, loadSeconds))));

    b.append("\nFrames by direction (sender → receiver transport)\n");
    b.append(String.format(Locale.ROOT, "  %-36s %10s %10s %6s %6s %6s %6s %12s%n", "direction", "sent", "delivered", "lost", "dup",
        "reord", "corrupt", "undelivered*"));
    tally.framesByDirection.entrySet().stream().sorted(Map.Entry.comparingByKey())
        .forEach(e -> frameRow(b, e.getKey(), e.getValue()));
    frameRow(b, "TOTAL", tally.framesTotal);
    b.append("  * not delivered because the session ended for a reason the design allows (counted apart from lost)\n");

    b.append("\nSessions\n");
    b.append(String.format(Locale.ROOT, "  started %d, completed %d, failed %d (allowed by the design %d, unexpected %d); setup retries %d; "
            + "sends refused by an ended session %d%n", tally.sessionsStarted.sum(), tally.sessionsTotal.completed.sum(),
        tally.sessionsTotal.failedAllowed.sum() + tally.sessionsTotal.failedUnexpected.sum(), tally.sessionsTotal.failedAllowed.sum(),
        tally.sessionsTotal.failedUnexpected.sum(), tally.setupRetries.sum(), tally.droppedSends.sum()));
    b.append(String.format(Locale.ROOT, "  %-36s %10s %10s %10s%n", "kind", "completed", "allowed", "unexpected"));
    tally.sessionsByKind.entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> b.append(String.format(Locale.ROOT,
        "  %-36s %10d %10d %10d%n", e.getKey(), e.getValue().completed.sum(), e.getValue().failedAllowed.sum(),
        e.getValue().failedUnexpected.sum())));
    if (!tally.failures.isEmpty()) {
      b.append("  Failure reasons:\n");
      tally.failureCounts().forEach((k, n) -> b.append(String.format(Locale.ROOT, "    %5d  %s%n           %s%n", n, k.reason(),
          k.allowedBecause() == null ? "UNEXPECTED" : "allowed: " + k.allowedBecause())));
      b.append("  Examples:\n");
      tally.failureExamples.forEach((reason, ex) -> {
        synchronized (ex) {
          ex.forEach(x -> b.append("    ").append(x).append('\n'));
        }
      });
    }

    b.append("\nResume time (ms from connection lost to resumed), by the transport of the side that resumed\n");
    b.append(String.format(Locale.ROOT, "  %-36s %8s %8s %8s %8s%n", "transport", "resumes", "p50", "p99", "max"));
    tally.resumeMillisByTransport.entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> b.append(String.format(
        Locale.ROOT, "  %-36s %8d %8s %8s %8s%n", e.getKey(), e.getValue().getTotalCount(), pct(e.getValue(), 50), pct(e.getValue(), 99),
        max(e.getValue()))));
    b.append(String.format(Locale.ROOT, "  connections lost (reconnects begun) %d%n", tally.reconnects.sum()));

    b.append("\nSetup latency (ms from CreateSession until both participants joined and see each other)\n");
    b.append(String.format(Locale.ROOT, "  calm:          %6d sessions, p50 %s, p99 %s, max %s%n", tally.setupCalm.getTotalCount(),
        pct(tally.setupCalm, 50), pct(tally.setupCalm, 99), max(tally.setupCalm)));
    b.append(String.format(Locale.ROOT, "  during faults: %6d sessions, p50 %s, p99 %s, max %s%n", tally.setupFaults.getTotalCount(),
        pct(tally.setupFaults, 50), pct(tally.setupFaults, 99), max(tally.setupFaults)));

    b.append("\nBy fault kind (sessions and frames of sessions that lived through a fault of that kind, resumes begun while it "
        + "lasted; a session may count under several)\n");
    b.append(String.format(Locale.ROOT, "  %-14s %9s %8s %8s %10s %6s %6s %6s %8s %7s %7s %7s%n", "fault", "completed", "allowed",
        "unexpect", "frames", "lost", "dup", "reord", "resumes", "p50 ms", "p99 ms", "max ms"));
    for (Fault.Kind k : Fault.Kind.values()) {
      faultRow(b, k.name());
    }
    faultRow(b, "(no fault)");

    b.append("\nFault timeline\n");
    for (FaultRunner.Event e : timeline) {
      b.append("  ").append(e.describe(origin)).append('\n');
    }

    b.append("\nRelays: baseline (under load, after the warm-up) and end (idle, every session over)\n");
    baseline.forEach(s -> b.append("  baseline ").append(s).append('\n'));
    end.forEach(s -> b.append("  end      ").append(s).append('\n'));
    b.append("NATS slow consumers (all servers, whole run): ").append(natsSlowConsumers).append('\n');
    return b.toString();
  }

  private static void frameRow(StringBuilder b, String key, Tally.Frames f) {
    b.append(String.format(Locale.ROOT, "  %-36s %10d %10d %6d %6d %6d %6d %12d%n", key, f.sent.sum(), f.delivered.sum(), f.lost.sum(),
        f.duplicated.sum(), f.reordered.sum(), f.corrupt.sum(), f.undeliveredAllowed.sum()));
  }

  private void faultRow(StringBuilder b, String kind) {
    Tally.Sessions s = tally.sessionsByFault.get(kind);
    Tally.Frames f = tally.framesByFault.get(kind);
    Histogram h = tally.resumeMillisByFault.get(kind);
    if (s == null && f == null && h == null) {
      return;
    }
    b.append(String.format(Locale.ROOT, "  %-14s %9d %8d %8d %10d %6d %6d %6d %8d %7s %7s %7s%n", kind,
        s == null ? 0 : s.completed.sum(), s == null ? 0 : s.failedAllowed.sum(), s == null ? 0 : s.failedUnexpected.sum(),
        f == null ? 0 : f.sent.sum(), f == null ? 0 : f.lost.sum(), f == null ? 0 : f.duplicated.sum(), f == null ? 0 : f.reordered.sum(),
        h == null ? 0 : h.getTotalCount(), h == null ? "-" : pct(h, 50), h == null ? "-" : pct(h, 99), h == null ? "-" : max(h)));
  }
}
