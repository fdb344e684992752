package dev.checkmate.relay.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** What the benchmark says about the box it runs on, and CPU accounting from /proc (Linux). */
final class Machine {
  private Machine() {}

  /** USER_HZ: /proc reports CPU time in ticks of 10 ms. */
  static final long TICKS_PER_SECOND = 100;

  static String read(String path) {
    try {
      return Files.readString(Path.of(path));
    } catch (Exception e) {
      return "?";
    }
  }

  /** CPUs of the machine (not of this process's affinity mask, which pinning narrows). */
  static int cores() {
    int n = 0;
    for (String l : read("/proc/stat").split("\n")) {
      if (l.startsWith("cpu") && l.length() > 3 && Character.isDigit(l.charAt(3))) {
        n++;
      }
    }
    return n > 0 ? n : Runtime.getRuntime().availableProcessors();
  }

  static String cpuModel() {
    for (String l : read("/proc/cpuinfo").split("\n")) {
      if (l.startsWith("model name")) {
        return l.substring(l.indexOf(':') + 1).trim();
      }
    }
    return "unknown CPU";
  }

  static String memTotal() {
    for (String l : read("/proc/meminfo").split("\n")) {
      if (l.startsWith("MemTotal:")) {
        return (Long.parseLong(l.replaceAll("[^0-9]", "")) / 1024) + " MiB RAM";
      }
    }
    return "";
  }

  /** The 1, 5 and 15 minute load averages. */
  static String loadAverage() {
    String s = read("/proc/loadavg").trim();
    String[] f = s.split(" ");
    return f.length >= 3 ? f[0] + " " + f[1] + " " + f[2] : s;
  }

  /** {busy, total} ticks of all CPUs since boot (/proc/stat): the whole machine, every user. */
  static long[] busyAndTotalTicks() {
    for (String l : read("/proc/stat").split("\n")) {
      if (l.startsWith("cpu ")) {
        String[] f = l.trim().split("\\s+");
        long total = 0;
        for (int i = 1; i < f.length; i++) {
          total += Long.parseLong(f[i]);
        }
        long idle = Long.parseLong(f[4]) + (f.length > 5 ? Long.parseLong(f[5]) : 0); // idle + iowait
        return new long[] {total - idle, total};
      }
    }
    return null;
  }

  /** {utime + stime} ticks of this process (all threads, dead ones included). */
  static long[] processTicks() {
    long t = processTicks(ProcessHandle.current().pid());
    return t < 0 ? null : new long[] {t};
  }

  /** utime + stime ticks of a process, from /proc/<pid>/stat; -1 if unreadable. */
  static long processTicks(long pid) {
    try {
      String s = Files.readString(Path.of("/proc/" + pid + "/stat"));
      String[] f = s.substring(s.lastIndexOf(')') + 2).split(" ");
      return Long.parseLong(f[11]) + Long.parseLong(f[12]); // fields 14 and 15 (utime, stime)
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }

  /**
   * utime + stime ticks of a process's live threads, grouped by thread name: the relay's network
   * threads, its HTTP port, timers, audit writer, GC, JIT compilers, and the rest. Threads that
   * ended are not included (the relay's long-lived threads are what matters).
   */
  static java.util.Map<String, Long> threadTicks(long pid) {
    java.util.Map<String, Long> out = new java.util.TreeMap<>();
    try (var tasks = Files.list(Path.of("/proc/" + pid + "/task"))) {
      for (Path t : (Iterable<Path>) tasks::iterator) {
        try {
          String s = Files.readString(t.resolve("stat"));
          String name = s.substring(s.indexOf('(') + 1, s.lastIndexOf(')'));
          String[] f = s.substring(s.lastIndexOf(')') + 2).split(" ");
          out.merge(threadGroup(name), Long.parseLong(f[11]) + Long.parseLong(f[12]), Long::sum);
        } catch (IOException | RuntimeException e) {
          // thread ended meanwhile
        }
      }
    } catch (IOException e) {
      return out;
    }
    return out;
  }

  static String threadGroup(String name) {
    if (name.startsWith("relay-net") || name.startsWith("grpc-nio-worker") || name.startsWith("grpc-default-wo")) {
      return "net";
    }
    if (name.startsWith("relay-http")) {
      return "http";
    }
    if (name.startsWith("relay-timers")) {
      return "timers";
    }
    if (name.startsWith("relay-audit")) {
      return "audit";
    }
    if (name.startsWith("GC Thread") || name.startsWith("G1 ") || name.startsWith("VM Thread")) {
      return "gc+vm";
    }
    if (name.startsWith("C2 Compiler") || name.startsWith("C1 Compiler")) {
      return "jit";
    }
    return "other";
  }

  static String vulnerabilities() {
    StringBuilder b = new StringBuilder();
    for (String v : List.of("meltdown", "spectre_v2", "retbleed", "spec_rstack_overflow")) {
      String s = read("/sys/devices/system/cpu/vulnerabilities/" + v).trim();
      if (!s.equals("?")) {
        b.append(v).append('=').append(s.length() > 48 ? s.substring(0, 48) + "…" : s).append("; ");
      }
    }
    return b.toString();
  }

  /**
   * Pins this process (every thread) to {@code cpus} with taskset, e.g. "0". Returns what happened,
   * for the output; pinning is best effort (no taskset, or not Linux: unpinned).
   */
  static String pinSelf(String cpus) {
    if (cpus == null || cpus.isBlank()) {
      return "not pinned";
    }
    List<String> cmd = new ArrayList<>(List.of("taskset", "-a", "-p", "-c", cpus, Long.toString(ProcessHandle.current().pid())));
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes()).trim();
      return p.waitFor() == 0 ? "pinned to CPU(s) " + cpus : "pinning failed: " + out;
    } catch (IOException e) {
      return "pinning failed (no taskset?): " + e.getMessage();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "pinning interrupted";
    }
  }

  /** The command prefix that runs a child on {@code cpus} ("taskset -c 1"), or nothing. */
  static List<String> pinPrefix(String cpus) {
    return cpus == null || cpus.isBlank() ? List.of() : List.of("taskset", "-c", cpus);
  }
}
