package dev.checkmate.relay.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** A relay or echo server in a child JVM: same {@code java}, flags given by the driver. */
final class ServerProcess implements AutoCloseable {
  final String kind;
  final Process process;
  final int port;
  /** The relay's HTTP (WebSocket) port, -1 if it has none. */
  final int wsPort;
  final long pid;
  private final Writer stdin;
  private final LinkedBlockingQueue<String> lines = new LinkedBlockingQueue<>();

  private ServerProcess(String kind, Process process, int port, int wsPort, long pid, Writer stdin) {
    this.kind = kind;
    this.process = process;
    this.port = port;
    this.wsPort = wsPort;
    this.pid = pid;
    this.stdin = stdin;
  }

  static ServerProcess start(String kind, int window, List<String> jvmFlags, Path logDir, String name) throws IOException {
    return start(kind, window, jvmFlags, logDir, name, List.of());
  }

  /** {@code serveArgs}: extra options of the serve-* command (e.g. {@code --telemetry=false}). */
  static ServerProcess start(String kind, int window, List<String> jvmFlags, Path logDir, String name, List<String> serveArgs)
      throws IOException {
    return start(kind, window, jvmFlags, logDir, name, serveArgs, null, null);
  }

  /**
   * {@code cpus}: run the child on these CPUs only ({@code taskset -c}, e.g. "1"), null = anywhere.
   * {@code classpath}: another build's jar (e.g. a baseline relay built from an older commit), null = this one.
   */
  static ServerProcess start(String kind, int window, List<String> jvmFlags, Path logDir, String name, List<String> serveArgs,
      String cpus, String classpath) throws IOException {
    String java = ProcessHandle.current().info().command().orElse(System.getProperty("java.home") + "/bin/java");
    List<String> cmd = new ArrayList<>(Machine.pinPrefix(cpus));
    cmd.add(java);
    cmd.addAll(jvmFlags);
    Files.createDirectories(logDir);
    cmd.add("-Xlog:gc:file=" + logDir.resolve(name + "-gc.log").toAbsolutePath() + ":uptime");
    cmd.add("-cp");
    cmd.add(classpath != null ? classpath : System.getProperty("java.class.path"));
    cmd.add(BenchMain.class.getName());
    cmd.add("serve-" + kind);
    cmd.add("--window=" + window);
    cmd.addAll(serveArgs);
    ProcessBuilder pb = new ProcessBuilder(cmd);
    pb.redirectError(ProcessBuilder.Redirect.appendTo(logDir.resolve(name + ".log").toFile()));
    Process p = pb.start();
    ServerProcess[] holder = new ServerProcess[1];
    LinkedBlockingQueue<String> ready = new LinkedBlockingQueue<>();
    BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
    Thread reader = new Thread(() -> {
      try {
        String l;
        while ((l = out.readLine()) != null) {
          if (l.startsWith("READY ")) {
            ready.add(l);
          } else if ((l.startsWith("STATS ") || l.startsWith("HOPS") || l.startsWith("JFR ")) && holder[0] != null) {
            holder[0].lines.add(l);
          }
        }
      } catch (IOException ignored) {
        // child gone
      }
    }, "server-stdout-" + name);
    reader.setDaemon(true);
    reader.start();
    String line;
    try {
      line = ready.poll(60, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      line = null;
    }
    if (line == null) {
      p.destroyForcibly();
      throw new IOException(kind + " server did not start; see " + logDir.resolve(name + ".log"));
    }
    Map<String, String> kv = parse(line);
    ServerProcess sp = new ServerProcess(kind, p, Integer.parseInt(kv.get("port")),
        Integer.parseInt(kv.getOrDefault("ws", "-1")), Long.parseLong(kv.get("pid")),
        new OutputStreamWriter(p.getOutputStream(), StandardCharsets.UTF_8));
    holder[0] = sp;
    return sp;
  }

  static Map<String, String> parse(String line) {
    Map<String, String> kv = new HashMap<>();
    for (String part : line.split(" ")) {
      int eq = part.indexOf('=');
      if (eq > 0) {
        kv.put(part.substring(0, eq), part.substring(eq + 1));
      }
    }
    return kv;
  }

  /** Heap after explicit full GCs, direct memory, RSS and counters from inside the child. */
  synchronized Map<String, Long> stats(boolean gc) throws IOException {
    stdin.write(gc ? "stats\n" : "stats-nogc\n");
    stdin.flush();
    String l;
    try {
      l = lines.poll(120, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted");
    }
    if (l == null) {
      throw new IOException("no stats from " + kind);
    }
    Map<String, Long> out = new HashMap<>();
    parse(l).forEach((k, v) -> out.put(k, Long.parseLong(v)));
    return out;
  }

  /** W7 hop timing since the previous call (ns; see {@link HopTimes}); empty without --hop-timing. */
  synchronized Map<String, Long> hops() throws IOException {
    stdin.write("hops\n");
    stdin.flush();
    String l;
    try {
      l = lines.poll(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted");
    }
    if (l == null || !l.startsWith("HOPS")) {
      throw new IOException("no hop times from " + kind);
    }
    Map<String, Long> out = new HashMap<>();
    parse(l).forEach((k, v) -> out.put(k, Long.parseLong(v)));
    return out;
  }

  /** Sends an admin command and waits for its one-line answer (e.g. "jfr-start" answers "JFR started"). */
  synchronized String command(String cmd) throws IOException {
    stdin.write(cmd + "\n");
    stdin.flush();
    try {
      String l = lines.poll(120, TimeUnit.SECONDS);
      if (l == null) {
        throw new IOException("no answer from " + kind + " to " + cmd);
      }
      return l;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted");
    }
  }

  /** Process CPU time (user+system, all threads) in nanoseconds, from /proc/<pid>/stat. */
  long cpuNanos() {
    long ticks = Machine.processTicks(pid);
    return ticks < 0 ? -1 : ticks * (1_000_000_000L / Machine.TICKS_PER_SECOND);
  }

  /** Voluntary + involuntary context switches summed over the child's threads. */
  long contextSwitches() {
    long n = 0;
    try (var tasks = Files.list(Path.of("/proc/" + pid + "/task"))) {
      for (Path t : (Iterable<Path>) tasks::iterator) {
        try {
          for (String l : Files.readAllLines(t.resolve("status"))) {
            if (l.startsWith("voluntary_ctxt_switches:") || l.startsWith("nonvoluntary_ctxt_switches:")) {
              n += Long.parseLong(l.replaceAll("[^0-9]", ""));
            }
          }
        } catch (IOException ignored) {
          // thread ended
        }
      }
    } catch (IOException e) {
      return -1;
    }
    return n;
  }

  @Override
  public void close() {
    try {
      stdin.write("quit\n");
      stdin.flush();
    } catch (IOException ignored) {
      // already gone
    }
    try {
      if (!process.waitFor(5, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        process.waitFor(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      process.destroyForcibly();
    }
  }
}
