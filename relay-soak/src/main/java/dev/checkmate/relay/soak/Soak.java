package dev.checkmate.relay.soak;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * One soak run: the cluster up, the load ramped up, the baseline measured, faults on the seeded
 * schedule while sessions come and go, then the load wound down, the relays left idle and
 * measured again, and the {@link SoakReport}. Every process it started is stopped by its PID, also
 * when the run fails.
 */
final class Soak {
  private final SoakConfig config;
  private final Consumer<String> out;

  Soak(SoakConfig config, Consumer<String> out) {
    this.config = config;
    this.out = out;
  }

  SoakReport run() throws Exception {
    Path dir = config.workDir;
    Files.createDirectories(dir);
    long faultsFrom = config.warmup.toMillis();
    long tail = Math.max(10_000, config.duration.toMillis() * 15 / 100);
    List<Fault> plan = Fault.plan(config.seed, config.faults, faultsFrom, config.duration.toMillis() - tail,
        config.faultInterval.toMillis(), config.relays, config.natsServers, config.drainSeconds);
    out.accept("soak: " + config.describe());
    out.accept("soak: work directory " + dir + " (process logs)");
    out.accept("soak: fault schedule (seed " + config.seed + "; replay with --seed " + config.seed + " and the same settings):");
    plan.forEach(f -> out.accept("  " + f));

    Tally tally = new Tally();
    Probe.Cpu cpu = new Probe.Cpu();
    long[] machineStart;
    SoakReport report = new SoakReport(config, plan, tally);
    long t0 = System.nanoTime();
    try (SoakCluster cluster = SoakCluster.start(config, dir);
        NodePeers node = NodePeers.start(config.clientWeb, dir, dir.resolve("node-peers.log"))) {
      report.startupSeconds = (System.nanoTime() - t0) / 1e9;
      out.accept(String.format(Locale.ROOT, "soak: %d nats-servers and %d relays up in %.1f s; load starts", cluster.nats.size(),
          cluster.relays.size(), report.startupSeconds));
      long origin = System.nanoTime();
      FaultRunner faults = new FaultRunner(cluster, line -> out.accept(String.format(Locale.ROOT, "[+%6.1f s] %s",
          (System.nanoTime() - origin) / 1e9, line)));
      report.origin = origin;
      Consumer<String> log = line -> out.accept(String.format(Locale.ROOT, "[+%6.1f s] %s", (System.nanoTime() - origin) / 1e9, line));
      sampleCpu(cpu, cluster, node);
      machineStart = Probe.machineJiffies();
      try (Workload load = new Workload(config, cluster, node, tally, faults, log, origin)) {
        load.start(Math.min(config.warmup.toMillis(), 15_000));
        BrowserSessions pages = config.chromiumPages > 0 && BrowserSessions.available()
            ? new BrowserSessions(load, config.clientWeb, dir.resolve("chromium.log"), config.chromiumPages) : null;
        if (config.chromiumPages > 0 && pages == null) {
          log.accept("Chromium not found (/usr/bin/chromium or $CHROMIUM_PATH): no real pages in this run");
        }
        try {
          waitUntil(origin, config.warmup, load, tally, cluster, faults, cpu, node, log);
          log.accept("warm-up over: baseline (relays under load, heap after a full GC)");
          for (RelayNode r : cluster.relays) {
            report.baseline.add(Probe.relay(r));
          }
          report.baseline.forEach(s -> log.accept("  baseline " + s));
          faults.start(plan, origin);
          waitUntil(origin, config.duration, load, tally, cluster, faults, cpu, node, log);
          log.accept("load winding down: sessions stop sending, deliver and terminate");
          report.drainedCleanly = load.stop(config.deliveryTimeout.toMillis() + 10_000);
          if (pages != null) {
            pages.close();
          }
          faults.close();
        } finally {
          if (pages != null) {
            pages.close();
          }
          faults.close();
        }
        report.loadSeconds = (System.nanoTime() - origin) / 1e9;
        sampleCpu(cpu, cluster, node);
        long[] machineEnd = Probe.machineJiffies();
        report.machineBusyCores = (machineEnd[0] - machineStart[0]) / (double) Math.max(1, machineEnd[1] - machineStart[1])
            * Runtime.getRuntime().availableProcessors();
        report.cpuSeconds = cpu.seconds();
        report.timeline = faults.timeline();
      }
      // Idle: every session ended. Give the relays their join deadline to drop what waits for a peer.
      long idleDeadline = System.nanoTime() + Duration.ofSeconds(45).toNanos();
      while (System.nanoTime() < idleDeadline && !idle(cluster)) {
        Thread.sleep(500);
      }
      report.idleAfterSeconds = (System.nanoTime() - origin) / 1e9 - report.loadSeconds;
      for (RelayNode r : cluster.relays) {
        report.end.add(Probe.relay(r));
      }
      report.natsSlowConsumers = cluster.natsSlowConsumersTotal();
    }
    return report;
  }

  private static boolean idle(SoakCluster cluster) {
    for (RelayNode r : cluster.relays) {
      if (Probe.sessionsHeld(r) != 0 || Probe.streamsOpen(r) != 0) {
        return false;
      }
    }
    return true;
  }

  private static void sampleCpu(Probe.Cpu cpu, SoakCluster cluster, NodePeers node) {
    for (RelayNode r : cluster.relays) {
      cpu.sample(r.nodeId, r.pid());
    }
    for (int i = 0; i < cluster.nats.size(); i++) {
      cpu.sample("nats-" + i, cluster.nats.get(i).pid());
    }
    cpu.sample("node (browser SDK peers)", node.pid());
    cpu.sample("harness (Java SDK peers)", ProcessHandle.current().pid());
  }

  /** Sleeps until {@code at} after the origin, printing a progress line every few seconds. */
  private void waitUntil(long origin, Duration at, Workload load, Tally tally, SoakCluster cluster, FaultRunner faults, Probe.Cpu cpu,
      NodePeers node, Consumer<String> log) throws InterruptedException {
    long every = config.duration.toSeconds() > 120 ? 10_000 : 5_000;
    while (true) {
      long left = origin + at.toNanos() - System.nanoTime();
      if (left <= 0) {
        return;
      }
      Thread.sleep(Math.min(left / 1_000_000 + 1, every));
      sampleCpu(cpu, cluster, node);
      List<String> down = new ArrayList<>();
      for (RelayNode r : cluster.relays) {
        if (!r.alive()) {
          down.add(r.nodeId);
        }
      }
      for (int i = 0; i < cluster.nats.size(); i++) {
        if (!cluster.nats.get(i).running()) {
          down.add("nats-" + i);
        }
      }
      Tally.Frames f = tally.framesTotal;
      log.accept(String.format(Locale.ROOT, "sessions %d live, %d completed, %d failed (%d unexpected) | frames sent %d, delivered %d, "
              + "lost %d, dup %d, reordered %d, corrupt %d | reconnects %d | down: %s | load %.1f",
          load.active(), tally.sessionsTotal.completed.sum(),
          tally.sessionsTotal.failedAllowed.sum() + tally.sessionsTotal.failedUnexpected.sum(), tally.unexpectedFailures(),
          f.sent.sum(), f.delivered.sum(), f.lost.sum(), f.duplicated.sum(), f.reordered.sum(), f.corrupt.sum(),
          tally.reconnects.sum(), down.isEmpty() ? "none" : String.join(", ", down), Probe.loadAverage()));
    }
  }
}
