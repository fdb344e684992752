package dev.checkmate.relay.lifecycle;

import com.sun.management.HotSpotDiagnosticMXBean;
import com.sun.management.VMOption;
import java.io.IOException;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Makes sure the relay runs in a JVM that exits on an {@link OutOfMemoryError}, however it was
 * started — including a plain {@code java -jar relay.jar}.
 *
 * <p>{@code -XX:+ExitOnOutOfMemoryError} is the only thing that ends the JVM at the very allocation
 * that failed: Netty's event loops and grpc-java's executors catch every {@code Throwable}, so an
 * OOM inside them never reaches an uncaught-exception handler, and the flag cannot be set once the
 * JVM runs (it is not a manageable flag). So when it is off, the launching JVM starts a second
 * one — same {@code java}, same JVM options (including those from {@code JDK_JAVA_OPTIONS} and
 * {@code JAVA_TOOL_OPTIONS}), the flag added, same class path, main class and arguments — and
 * stays as a thin parent:
 * <ul>
 *   <li>the child's standard output and error are the parent's own (no copying);</li>
 *   <li>SIGTERM, SIGINT or SIGHUP to the parent is passed on as SIGTERM, so the relay drains as
 *       usual, and the parent exits with the child's exit code (143 after a SIGTERM, {@value
 *       FailFast#OUT_OF_MEMORY} after an OOM);</li>
 *   <li>the child's standard input is a pipe the parent never writes: if the parent dies (even by
 *       SIGKILL) the child reads end-of-file and halts, so no orphan keeps the ports.</li>
 * </ul>
 * The container image and anyone who passes the flag (or {@code -XX:+CrashOnOutOfMemoryError})
 * get a single JVM. An explicit {@code -XX:-ExitOnOutOfMemoryError} is respected, with a warning
 * (then only the relay's own handlers, {@link FailFast}, can end it on an OOM).
 */
public final class Relauncher {
  /** Set in the child's environment (to the parent's pid): never relaunch again, watch the parent. */
  static final String CHILD_MARKER = "CHECKMATE_RELAY_LAUNCHER_PID";
  static final String FLAG = "-XX:+ExitOnOutOfMemoryError";
  /** Options the java launcher or the VM read from the environment; the child gets them as arguments. */
  private static final List<String> OPTION_VARIABLES = List.of("JDK_JAVA_OPTIONS", "JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS");

  private Relauncher() {}

  /**
   * Returns when this JVM exits on an OOM (or the user turned that off explicitly). Otherwise runs
   * {@code mainClass} with {@code args} in a child JVM that does, and exits with its exit code.
   */
  public static void ensureExitOnOutOfMemoryError(Class<?> mainClass, String[] args) {
    if (System.getenv(CHILD_MARKER) != null) {
      watchParent();
      return;
    }
    Optional<VMOption> exit = vmOption("ExitOnOutOfMemoryError");
    if (exit.isEmpty()) {
      System.err.println("relay: cannot read this JVM's ExitOnOutOfMemoryError option (not HotSpot?); "
          + "start it with " + FLAG + " so that an OutOfMemoryError ends the process");
      return;
    }
    if (on(exit) || on(vmOption("CrashOnOutOfMemoryError"))) {
      return;
    }
    if (exit.get().getOrigin() != VMOption.Origin.DEFAULT) {
      System.err.println("relay: WARNING: -XX:-ExitOnOutOfMemoryError given: an OutOfMemoryError caught inside Netty or gRPC "
          + "may leave the relay running");
      return;
    }
    System.exit(runChild(mainClass, args));
  }

  private static boolean on(Optional<VMOption> option) {
    return option.map(o -> "true".equals(o.getValue())).orElse(false);
  }

  private static Optional<VMOption> vmOption(String name) {
    try {
      return Optional.of(ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class).getVMOption(name));
    } catch (RuntimeException | LinkageError e) {
      return Optional.empty();
    }
  }

  /** The child's command line: this JVM's options plus the flag, then class path, main class, arguments. */
  static List<String> childCommand(Class<?> mainClass, String[] args) {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
    cmd.add(FLAG);
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add(mainClass.getName());
    cmd.addAll(List.of(args));
    return cmd;
  }

  private static int runChild(Class<?> mainClass, String[] args) {
    ProcessBuilder pb = new ProcessBuilder(childCommand(mainClass, args))
        .redirectOutput(ProcessBuilder.Redirect.INHERIT)
        .redirectError(ProcessBuilder.Redirect.INHERIT); // stdin stays a pipe: the lifeline
    Map<String, String> env = pb.environment();
    // Already expanded into this JVM's input arguments; applying them twice would, e.g., load an agent twice.
    OPTION_VARIABLES.forEach(env::remove);
    env.put(CHILD_MARKER, Long.toString(ProcessHandle.current().pid()));
    Process child;
    try {
      child = pb.start();
    } catch (IOException e) {
      System.err.println("relay: cannot start a JVM with " + FLAG + " (" + e.getMessage() + "); start java with that flag");
      return 1;
    }
    System.err.println("relay: running in a child JVM (pid " + child.pid() + ") with " + FLAG
        + "; pass the flag to java to run in one JVM");
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      // A signal to this parent: pass it on as SIGTERM, wait for the drain, exit with the child's code.
      // (Process.destroy() would also close the child's stdin, the lifeline, and end it at once.)
      child.toHandle().destroy();
      Runtime.getRuntime().halt(waitFor(child));
    }, "relay-launcher-signal"));
    return waitFor(child);
  }

  private static int waitFor(Process child) {
    while (true) {
      try {
        return child.waitFor();
      } catch (InterruptedException e) {
        // Only the child's end ends the parent.
      }
    }
  }

  private static long pidOrMinusOne(String s) {
    try {
      return Long.parseLong(s);
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  /**
   * In the child: the parent holds our stdin open; end-of-file means it died, so do we. A parent
   * still alive closed it on purpose (Java's {@code Process.destroy()} closes the child's stdin
   * right after sending SIGTERM): then the drain goes on, and we only follow the parent if it dies.
   */
  private static void watchParent() {
    long launcher = pidOrMinusOne(System.getenv(CHILD_MARKER));
    Thread t = new Thread(() -> {
      InputStream in = System.in;
      try {
        while (in.read() >= 0) {
          // The parent never writes; ignore anything that arrives.
        }
      } catch (IOException ignored) {
        // Same as end-of-file.
      }
      ProcessHandle.current().parent().filter(p -> p.pid() == launcher).ifPresent(p -> p.onExit().join());
      System.err.println("relay: the launcher process is gone; exiting");
      Runtime.getRuntime().halt(FailFast.WATCHDOG);
    }, "relay-launcher-lifeline");
    t.setDaemon(true);
    t.start();
  }
}
