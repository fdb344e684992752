package dev.checkmate.relay.lifecycle;

import java.io.PrintStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the relay process does when it must not go on: log one clear line and end at once, with an
 * exit code that says why, so an orchestrator replaces it. A relay that lost a thread keeps its
 * sockets open and looks alive while it serves nobody; an exited one is restarted and its clients
 * resume elsewhere.
 *
 * <p>Exit codes: {@value #OUT_OF_MEMORY} — an {@link OutOfMemoryError} (the same code the JVM uses
 * for {@code -XX:+ExitOnOutOfMemoryError}); {@value #WATCHDOG} — the {@link Watchdog} saw a thread
 * stall or die, or another {@link VirtualMachineError} reached the top of a thread.
 *
 * <p>Only the relay's own process ({@code RelayMain}) {@linkplain #install() installs} this; in
 * code that embeds {@code RelayServer} (and in tests) {@link #fatal} logs and returns, and health
 * stays NOT_SERVING.
 */
public final class FailFast {
  private static final Logger log = LoggerFactory.getLogger(FailFast.class);

  /** Exit code after an OutOfMemoryError, equal to HotSpot's for {@code -XX:+ExitOnOutOfMemoryError}. */
  public static final int OUT_OF_MEMORY = 3;
  /** Exit code when a watched thread stalled or died, or a VM error other than OOM was thrown. */
  public static final int WATCHDOG = 70;

  private static volatile boolean installed;
  /**
   * Dropped first thing when a VM error arrives: with the heap full, even the handler's first steps
   * (resolving a class, building a message) allocate, and without spare memory it would itself die
   * of an OOM and leave the process running.
   */
  private static volatile byte[] reserve;

  private FailFast() {}

  /**
   * Makes fatal conditions end this JVM: {@link #fatal} halts, and a {@link VirtualMachineError}
   * that reaches the top of any thread (one the JVM flag does not cover, such as an OOM thrown by
   * a library's own memory accounting, or a StackOverflowError) halts too.
   */
  public static synchronized void install() {
    if (installed) {
      return;
    }
    installed = true;
    reserve = new byte[1 << 20];
    isVmError(new InternalError()); // resolves the check now, while there is memory to do it
    Thread.setDefaultUncaughtExceptionHandler((thread, e) -> {
      if (isVmError(e)) {
        vmError(thread, e);
      } else {
        // What the JVM prints without a handler.
        PrintStream err = System.err;
        err.print("Exception in thread \"" + thread.getName() + "\" ");
        e.printStackTrace(err);
      }
    });
  }

  /** Handles an error caught on a relay thread: a VM error is fatal, others are only logged. */
  public static void onError(Thread thread, Throwable e) {
    if (isVmError(e)) {
      vmError(thread, e);
    } else {
      log.error("unexpected error on thread {}", thread.getName(), e);
    }
  }

  private static boolean isVmError(Throwable e) {
    return e instanceof VirtualMachineError;
  }

  private static void vmError(Thread thread, Throwable e) {
    reserve = null;
    int code = e instanceof OutOfMemoryError ? OUT_OF_MEMORY : WATCHDOG;
    try {
      fatal(code, e + " on thread " + thread.getName());
    } finally {
      // Building the message may itself fail for want of memory.
      if (installed) {
        Runtime.getRuntime().halt(code);
      }
    }
  }

  /**
   * Logs {@code message} and, in the relay's own process, halts with {@code exitCode} without
   * running shutdown hooks: a graceful drain needs the very threads that are stuck, and after an
   * OOM even logging may fail. Elsewhere it only logs.
   */
  public static void fatal(int exitCode, String message) {
    try {
      log.error("FATAL{}: {}", installed ? ", exiting with code " + exitCode : " (embedded: the process goes on)", message);
    } catch (Throwable ignored) {
      // Logging needs memory; the exit below must happen anyway.
    }
    if (installed) {
      try {
        System.err.flush();
        System.out.flush();
      } finally {
        Runtime.getRuntime().halt(exitCode);
      }
    }
  }
}
