package dev.checkmate.relay.client;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * A class's {@code main} in a JVM of its own ({@code java -cp <test classpath>}), so that a test can
 * kill it with kill -9; its stdout lines are collected as they come (stderr goes to the test's).
 */
final class ChildJvm implements AutoCloseable {
  private final String name;
  private final Process process;
  private final List<String> lines = new CopyOnWriteArrayList<>();
  private final Thread pump;

  private ChildJvm(String name, Process process) {
    this.name = name;
    this.process = process;
    this.pump = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
        for (String line; (line = r.readLine()) != null; ) {
          lines.add(line);
        }
      } catch (IOException ignored) {
        // killed
      }
    }, "child-jvm-" + name);
    pump.setDaemon(true);
    pump.start();
  }

  static ChildJvm start(String name, Class<?> main, String... args) throws IOException {
    List<String> cmd = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx128m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
        "-cp", System.getProperty("java.class.path"), main.getName()));
    cmd.addAll(List.of(args));
    return new ChildJvm(name, new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start());
  }

  /** Every stdout line so far. */
  List<String> lines() {
    return List.copyOf(lines);
  }

  /** How many lines so far satisfy {@code p}. */
  long count(Predicate<String> p) {
    return lines.stream().filter(p).count();
  }

  /** Waits until some line satisfies {@code p}; returns it. */
  String await(String what, Predicate<String> p, long seconds) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    while (true) {
      for (String line : lines) {
        if (p.test(line)) {
          return line;
        }
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError(name + ": no line with " + what + " within " + seconds + " s; alive="
            + process.isAlive() + "; last lines: " + tail());
      }
      Thread.sleep(5);
    }
  }

  /** Waits until at least {@code n} lines satisfy {@code p}. */
  void awaitCount(String what, Predicate<String> p, long n, long seconds) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    while (count(p) < n) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError(name + ": " + count(p) + " < " + n + " lines with " + what + "; alive="
            + process.isAlive() + "; last lines: " + tail());
      }
      Thread.sleep(5);
    }
  }

  private List<String> tail() {
    List<String> all = lines();
    return all.subList(Math.max(0, all.size() - 5), all.size());
  }

  /** kill -9: the JVM gets no chance to close anything. Returns once its last line was read. */
  void kill() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor(10, TimeUnit.SECONDS);
    pump.join(10_000);
  }

  /** Waits for a normal exit; returns the exit code. */
  int awaitExit(long seconds) throws InterruptedException {
    if (!process.waitFor(seconds, TimeUnit.SECONDS)) {
      throw new AssertionError(name + " did not exit within " + seconds + " s; last lines: " + tail());
    }
    pump.join(10_000);
    return process.exitValue();
  }

  @Override
  public void close() throws InterruptedException {
    if (process.isAlive()) {
      kill();
    }
  }
}
