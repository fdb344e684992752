package dev.checkmate.relay.soak;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What the harness reads about processes (Linux /proc) and relays (heap after a full GC through
 * jcmd, their /metrics): CPU seconds per role accumulated across restarts, threads, descriptors,
 * the relays' session and connection gauges, and the machine's CPU use (everyone's, since the
 * machine is shared).
 */
final class Probe {
  /** clock ticks per second of /proc/<pid>/stat (USER_HZ, 100 on Linux). */
  private static final double HZ = 100.0;

  /** One relay at one moment. */
  record RelaySnapshot(String node, int starts, long heapAfterGcBytes, int threads, int descriptors, double sessions,
      double connections) {
    @Override
    public String toString() {
      return String.format(Locale.ROOT, "%s (start #%d): heap after GC %.1f MiB, %d threads, %d descriptors, %.0f sessions held, "
          + "%.0f participant streams", node, starts, heapAfterGcBytes / 1048576.0, threads, descriptors, sessions, connections);
    }
  }

  private Probe() {}

  static RelaySnapshot relay(RelayNode r) {
    long heap = -1;
    try {
      heap = r.process().heapAfterGcBytes();
    } catch (Exception e) {
      // killed or restarting: -1
    }
    Map<String, Double> m = Metrics.scrape(r.metricsPort());
    return new RelaySnapshot(r.nodeId, r.starts(), heap, threads(r.pid()), descriptors(r.pid()),
        m.getOrDefault("relay_sessions_active", -1.0), m.getOrDefault("relay_connections_active", -1.0));
  }

  /** Sessions the relay holds (its relay_sessions_active gauge), or -1 when it does not answer. */
  static double sessionsHeld(RelayNode r) {
    return Metrics.scrape(r.metricsPort()).getOrDefault("relay_sessions_active", -1.0);
  }

  static double streamsOpen(RelayNode r) {
    return Metrics.scrape(r.metricsPort()).getOrDefault("relay_connections_active", -1.0);
  }

  static int threads(long pid) {
    String s = read(Path.of("/proc", Long.toString(pid), "status"));
    for (String line : s.split("\n")) {
      if (line.startsWith("Threads:")) {
        return Integer.parseInt(line.substring(8).strip());
      }
    }
    return -1;
  }

  static int descriptors(long pid) {
    try (var s = Files.list(Path.of("/proc", Long.toString(pid), "fd"))) {
      return (int) s.count();
    } catch (IOException e) {
      return -1;
    }
  }

  /** CPU seconds (user + system) the process has used, or -1 if it is gone. */
  static double cpuSeconds(long pid) {
    String s = read(Path.of("/proc", Long.toString(pid), "stat"));
    int close = s.lastIndexOf(')');
    if (close < 0) {
      return -1;
    }
    String[] f = s.substring(close + 2).split(" ");
    // fields after the command: state(3) ... utime is field 14, stime 15 (1-based), i.e. index 11, 12 here
    return (Long.parseLong(f[11]) + Long.parseLong(f[12])) / HZ;
  }

  /** The machine's busy and total jiffies (all cores, from /proc/stat). */
  static long[] machineJiffies() {
    String first = read(Path.of("/proc/stat")).split("\n")[0];
    String[] f = first.trim().split("\\s+");
    long total = 0;
    long idle = 0;
    for (int i = 1; i < f.length; i++) {
      long v = Long.parseLong(f[i]);
      total += v;
      if (i == 4 || i == 5) {
        idle += v; // idle, iowait
      }
    }
    return new long[] {total - idle, total};
  }

  static double loadAverage() {
    String s = read(Path.of("/proc/loadavg"));
    return s.isEmpty() ? -1 : Double.parseDouble(s.split(" ")[0]);
  }

  private static String read(Path p) {
    try {
      return Files.readString(p);
    } catch (IOException e) {
      return "";
    }
  }

  /**
   * CPU seconds per role ("relay-0", "nats-1", "node", "harness"), summed over the processes that
   * played it (a restarted relay is a new process): sample often enough that a killed process's
   * last seconds are not missed by much.
   */
  static final class Cpu {
    private final Map<String, double[]> byRole = new ConcurrentHashMap<>(); // {accumulated, last seen, pid}

    synchronized void sample(String role, long pid) {
      if (pid <= 0) {
        return;
      }
      double now = cpuSeconds(pid);
      double[] a = byRole.get(role);
      if (a == null) {
        byRole.put(role, new double[] {0, Math.max(0, now), pid}); // counted from the first sample on
        return;
      }
      if (a[2] != pid) {
        a[1] = 0;
        a[2] = pid;
      }
      if (now >= 0) {
        a[0] += Math.max(0, now - a[1]);
        a[1] = now;
      }
    }

    synchronized Map<String, Double> seconds() {
      Map<String, Double> out = new java.util.TreeMap<>();
      byRole.forEach((k, v) -> out.put(k, v[0]));
      return out;
    }
  }
}
