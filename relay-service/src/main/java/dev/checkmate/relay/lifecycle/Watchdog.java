package dev.checkmate.relay.lifecycle;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Notices a relay thread that stopped making progress — an event loop or the timer thread that is
 * blocked, spinning or dead, or a periodic task (the session sweep) that stopped running — from a
 * thread of its own, which no relay task can block.
 *
 * <p>Each tick it posts a tiny probe task to every watched executor that has none outstanding; a
 * probe still waiting is a stall, measured from when it was posted. A {@link Heartbeat} is a stall
 * once it is late by more than its period. When some stall reaches {@code notServingAfter} the
 * health listener hears {@code true} (NOT_SERVING) and {@code false} once every stall is gone.
 * When a stall reaches {@code exitAfter}, or an executor rejects a probe (it is shut down or its
 * thread died), the fatal action runs once with a message naming the thread and its stack.
 *
 * <p>A JVM-wide pause (a long GC, a suspended VM, a starved CPU) delays this thread too. Time for
 * which the watchdog itself overslept its tick by more than a tick is not counted against anyone:
 * every thread was stopped alike, and each gets a full tick after the pause to answer.
 */
public final class Watchdog implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Watchdog.class);

  /** Called with a message for the log when the relay must not go on (see {@link FailFast#fatal}). */
  public interface FatalAction {
    void fatal(String message);
  }

  private final long notServingAfterNanos;
  private final long exitAfterNanos; // 0 = never
  private final long tickNanos;
  private final Consumer<Boolean> stalledListener;
  private final FatalAction fatalAction;
  private final List<Target> targets = new CopyOnWriteArrayList<>();
  private final Thread thread;
  private volatile boolean closed;
  private long lastTick = Long.MIN_VALUE;
  private boolean reportedStalled;
  private boolean fatalCalled;

  /**
   * @param notServingAfter a stall this long turns health NOT_SERVING
   * @param exitAfter a stall this long is fatal; zero = never (health only)
   * @param stalledListener told {@code true} when health must be NOT_SERVING, {@code false} when the stall is over
   */
  public Watchdog(Duration notServingAfter, Duration exitAfter, Consumer<Boolean> stalledListener, FatalAction fatalAction) {
    this.notServingAfterNanos = notServingAfter.toNanos();
    this.exitAfterNanos = exitAfter.toNanos();
    this.stalledListener = stalledListener;
    this.fatalAction = fatalAction;
    this.tickNanos = tickFor(notServingAfter);
    this.thread = new Thread(this::run, "relay-watchdog");
    this.thread.setDaemon(true);
  }

  /** A quarter of the NOT_SERVING threshold, between 10 ms and 500 ms. */
  static long tickFor(Duration notServingAfter) {
    return Math.max(TimeUnit.MILLISECONDS.toNanos(10), Math.min(TimeUnit.MILLISECONDS.toNanos(500), notServingAfter.toNanos() / 4));
  }

  /** Watches an executor (one event loop, or a single-threaded scheduler) by posting probes to it. */
  public Watchdog watch(String name, Executor executor) {
    targets.add(new Probe(name, executor));
    return this;
  }

  /** Watches a periodic task: it must call {@link Heartbeat#beat()} at least once per {@code period}. */
  public Heartbeat heartbeat(String name, Duration period) {
    Heartbeat h = new Heartbeat(name, period.toNanos(), System.nanoTime());
    targets.add(h);
    return h;
  }

  /** Starts watching; heartbeats are due from now on (not from when they were registered). */
  public Watchdog start() {
    arm(System.nanoTime());
    thread.start();
    return this;
  }

  /** Package-private for tests: what {@link #start()} does before the thread runs. */
  void arm(long now) {
    for (Target t : targets) {
      if (t instanceof Heartbeat h) {
        h.lastBeat = now;
      }
    }
  }

  /** Stops watching (before the watched threads are shut down on purpose). */
  @Override
  public void close() {
    closed = true;
    thread.interrupt();
  }

  private void run() {
    while (!closed) {
      try {
        tick(System.nanoTime());
        TimeUnit.NANOSECONDS.sleep(tickNanos);
      } catch (InterruptedException e) {
        return;
      } catch (RuntimeException e) {
        log.error("watchdog tick failed", e);
      }
    }
  }

  /** One round: excuse a pause of our own, post probes, judge stalls. Package-private for tests. */
  synchronized void tick(long now) {
    if (lastTick != Long.MIN_VALUE) {
      long overslept = now - lastTick - tickNanos;
      if (overslept > tickNanos) {
        for (Target t : targets) {
          t.excuse(overslept);
        }
      }
    }
    lastTick = now;
    Target worst = null;
    long worstNanos = 0;
    // The most stalled target whose thread is known, for the report's stack (a heartbeat that
    // never beat, e.g. a sweep stuck behind its blocked thread, cannot name one).
    Target witness = null;
    long witnessNanos = 0;
    String dead = null;
    for (Target t : targets) {
      if (!t.poll(now)) {
        dead = t.name + " is dead: it rejects tasks" + t.threadDescription();
        worst = t;
        worstNanos = Long.MAX_VALUE;
        witness = null;
        break;
      }
      long stalled = t.stalledNanos(now);
      if (stalled > worstNanos) {
        worst = t;
        worstNanos = stalled;
      }
      if (t.thread != null && stalled >= notServingAfterNanos && stalled > witnessNanos) {
        witness = t;
        witnessNanos = stalled;
      }
    }
    boolean notServing = worstNanos >= notServingAfterNanos;
    if (notServing != reportedStalled) {
      reportedStalled = notServing;
      if (notServing) {
        log.warn("watchdog: {}; health NOT_SERVING", dead != null ? dead : describe(worst, worstNanos));
      } else {
        log.info("watchdog: every watched thread makes progress again; health SERVING");
      }
      stalledListener.accept(notServing);
    }
    boolean fatal = dead != null || (exitAfterNanos > 0 && worstNanos >= exitAfterNanos);
    if (fatal && !fatalCalled) {
      fatalCalled = true;
      String report = dead != null ? dead : describe(worst, worstNanos);
      if (witness != null && witness != worst) {
        report += "; " + describe(witness, witnessNanos);
      }
      fatalAction.fatal("watchdog: " + report + stackOf(witness != null ? witness : worst));
    }
  }

  private static String describe(Target t, long stalledNanos) {
    return String.format("%s has made no progress for %.1f s%s", t.name, stalledNanos / 1e9, t.threadDescription());
  }

  private static String stackOf(Target t) {
    Thread th = t.thread;
    if (th == null) {
      return "";
    }
    StringBuilder sb = new StringBuilder("\n  stack of ").append(th.getName()).append(" (").append(th.getState()).append("):");
    for (StackTraceElement e : th.getStackTrace()) {
      sb.append("\n    at ").append(e);
    }
    return sb.toString();
  }

  private abstract static class Target {
    final String name;
    volatile Thread thread; // the thread that last made progress, for the report

    Target(String name) {
      this.name = name;
    }

    /** Posts a probe if due; false when the target is dead (rejects work). */
    abstract boolean poll(long now);

    abstract long stalledNanos(long now);

    /** Time during which nobody could run (a JVM-wide pause) is not a stall. */
    abstract void excuse(long nanos);

    String threadDescription() {
      Thread th = thread;
      return th == null ? "" : " (thread " + th.getName() + ")";
    }
  }

  /** An executor answers a posted task; it stalls for as long as the task waits. */
  private static final class Probe extends Target {
    private static final long NONE = Long.MIN_VALUE;
    private final Executor executor;
    private final Runnable answer = this::answer;
    private volatile long postedAt = NONE;
    private long excused;

    Probe(String name, Executor executor) {
      super(name);
      this.executor = executor;
    }

    private void answer() {
      thread = Thread.currentThread();
      postedAt = NONE;
    }

    @Override
    boolean poll(long now) {
      if (postedAt != NONE) {
        return true;
      }
      excused = 0;
      postedAt = now;
      try {
        executor.execute(answer);
        return true;
      } catch (RejectedExecutionException e) {
        return false;
      }
    }

    @Override
    long stalledNanos(long now) {
      long at = postedAt;
      return at == NONE ? 0 : Math.max(0, now - at - excused);
    }

    @Override
    void excuse(long nanos) {
      if (postedAt != NONE) {
        excused += nanos;
      }
    }
  }

  /** A periodic task that proves it runs by beating; it stalls once a beat is overdue. */
  public static final class Heartbeat extends Target {
    private final long periodNanos;
    private volatile long lastBeat;
    private long excusedFor = Long.MIN_VALUE;
    private long excused;

    Heartbeat(String name, long periodNanos, long now) {
      super(name);
      this.periodNanos = periodNanos;
      this.lastBeat = now;
    }

    /** Called by the watched task each time it completes a run. */
    public void beat() {
      thread = Thread.currentThread();
      lastBeat = System.nanoTime();
    }

    /** For tests: a beat at a given time. */
    void beatAt(long now) {
      thread = Thread.currentThread();
      lastBeat = now;
    }

    @Override
    boolean poll(long now) {
      return true;
    }

    @Override
    long stalledNanos(long now) {
      long beat = sinceLastBeat();
      return Math.max(0, now - beat - periodNanos - excused);
    }

    @Override
    void excuse(long nanos) {
      sinceLastBeat();
      excused += nanos;
    }

    /** The last beat; a new beat since the last look clears what was excused before it. */
    private long sinceLastBeat() {
      long beat = lastBeat;
      if (beat != excusedFor) {
        excusedFor = beat;
        excused = 0;
      }
      return beat;
    }
  }
}
