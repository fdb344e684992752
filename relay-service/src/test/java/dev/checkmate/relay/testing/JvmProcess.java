package dev.checkmate.relay.testing;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.regex.MatchResult;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A JVM in a child process running this build's classes: {@code java [options] -cp <test class
 * path> Main args} or, through {@link #classPathJar}, a real {@code java -jar}. Its output (stdout
 * and stderr merged) is kept for assertions — or, for long runs ({@link #start(List, java.util.Map,
 * Path)}), appended to a log file with only its first {@link #KEPT_WITH_LOG_FILE} characters kept;
 * {@link #close()} kills it and every descendant.
 */
public final class JvmProcess implements AutoCloseable {
  /** What lifecycle.Relauncher prints when it starts a child JVM. */
  public static final Pattern CHILD = Pattern.compile("running in a child JVM \\(pid (\\d+)\\)");
  /** Output characters kept in memory when the output also goes to a log file. */
  public static final int KEPT_WITH_LOG_FILE = 256 * 1024;
  private final Process process;
  private final StringBuffer output = new StringBuffer();
  private final Thread pump;

  private JvmProcess(Process process, Path logFile) throws IOException {
    this.process = process;
    java.io.Writer log = logFile == null ? null : Files.newBufferedWriter(logFile, StandardCharsets.UTF_8,
        java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
    this.pump = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
        String line;
        while ((line = r.readLine()) != null) {
          if (log != null) {
            log.write(line);
            log.write('\n');
            log.flush();
          }
          synchronized (output) {
            if (log == null || output.length() < KEPT_WITH_LOG_FILE) {
              output.append(line).append('\n');
            }
            output.notifyAll();
          }
        }
      } catch (IOException ignored) {
        // process gone
      } finally {
        if (log != null) {
          try {
            log.close();
          } catch (IOException ignored) {
            // nothing to do
          }
        }
      }
    }, "jvm-process-output");
    pump.setDaemon(true);
    pump.start();
  }

  /** The java binary of the JVM running the tests. */
  public static String java() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  /**
   * Starts {@code java <command...>} with RELAY_*, OTEL_* and the JVM option variables removed from
   * the environment.
   */
  public static JvmProcess start(List<String> command) throws IOException {
    return start(command, java.util.Map.of());
  }

  /** The same, with {@code environment} added. */
  public static JvmProcess start(List<String> command, java.util.Map<String, String> environment) throws IOException {
    return start(command, environment, null);
  }

  /** The same, with the output appended to {@code logFile} (null: kept in memory only). */
  public static JvmProcess start(List<String> command, java.util.Map<String, String> environment, Path logFile)
      throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add(java());
    cmd.addAll(command);
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment().keySet().removeIf(k -> k.startsWith("RELAY_") || k.startsWith("OTEL_")
        || k.equals("JDK_JAVA_OPTIONS") || k.equals("JAVA_TOOL_OPTIONS") || k.equals("_JAVA_OPTIONS"));
    pb.environment().putAll(environment);
    return new JvmProcess(pb.start(), logFile);
  }

  /** {@code -cp <this test JVM's class path> mainClass}, for {@link #start}. */
  public static List<String> classPathMain(Class<?> mainClass) {
    return List.of("-cp", System.getProperty("java.class.path"), mainClass.getName());
  }

  /**
   * A jar holding only a manifest: {@code Main-Class} and a {@code Class-Path} naming this test
   * JVM's class path, so {@code java -jar <it>} runs {@code mainClass} as {@code java -jar
   * relay.jar} runs the relay (the shaded jar exists only after {@code package}, after the tests).
   */
  public static Path classPathJar(Path dir, String mainClass) throws IOException {
    StringBuilder classPath = new StringBuilder();
    for (String entry : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
      if (!entry.isEmpty()) {
        classPath.append(Path.of(entry).toAbsolutePath().toUri()).append(' ');
      }
    }
    Manifest manifest = new Manifest();
    manifest.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
    manifest.getMainAttributes().put(Attributes.Name.MAIN_CLASS, mainClass);
    manifest.getMainAttributes().put(Attributes.Name.CLASS_PATH, classPath.toString().strip());
    Path jar = dir.resolve("relay.jar");
    try (OutputStream out = Files.newOutputStream(jar); JarOutputStream j = new JarOutputStream(out, manifest)) {
      // nothing but the manifest
    }
    return jar;
  }

  public Process process() {
    return process;
  }

  public long pid() {
    return process.pid();
  }

  /** Writes one line to the process's standard input. */
  public void println(String line) throws IOException {
    OutputStream in = process.getOutputStream();
    in.write((line + "\n").getBytes(StandardCharsets.UTF_8));
    in.flush();
  }

  public String output() {
    return output.toString();
  }

  /** Waits for output matching {@code pattern}; returns its first group (or the whole match). */
  public String await(Pattern pattern, Duration timeout) throws InterruptedException {
    MatchResult m = awaitMatch(pattern, timeout);
    return m.groupCount() > 0 ? m.group(1) : m.group();
  }

  /** Waits for output matching {@code pattern}. */
  public MatchResult awaitMatch(Pattern pattern, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    synchronized (output) {
      while (true) {
        Matcher m = pattern.matcher(output);
        if (m.find()) {
          return m.toMatchResult();
        }
        long left = deadline - System.nanoTime();
        if (left <= 0 || (!process.isAlive() && !pump.isAlive())) {
          throw new AssertionError("no output matching " + pattern + " within " + timeout + "; output:\n" + output);
        }
        TimeUnit.NANOSECONDS.timedWait(output, Math.min(left, TimeUnit.MILLISECONDS.toNanos(200)));
      }
    }
  }

  /** Waits for the process to exit; returns its exit code, or fails with its output. */
  public int awaitExit(Duration timeout) throws InterruptedException {
    if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      throw new AssertionError("still running after " + timeout + "; output:\n" + output);
    }
    pump.join(5000);
    return process.exitValue();
  }

  /**
   * SIGTERM (a graceful shutdown), then waits up to {@code timeout} for the exit; returns the exit
   * code, or kills the process and fails if it is still running.
   */
  public int terminate(Duration timeout) throws InterruptedException {
    process.destroy();
    if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      close();
      throw new AssertionError("still running " + timeout + " after SIGTERM (killed); output:\n" + output);
    }
    pump.join(5000);
    return process.exitValue();
  }

  /** Kills the process and everything it started (a relaunched child too, even once orphaned). */
  @Override
  public void close() throws InterruptedException {
    process.descendants().forEach(ProcessHandle::destroyForcibly);
    Matcher child = CHILD.matcher(output);
    while (child.find()) {
      ProcessHandle.of(Long.parseLong(child.group(1))).ifPresent(ProcessHandle::destroyForcibly);
    }
    process.destroyForcibly();
    process.waitFor(10, TimeUnit.SECONDS);
  }
}
