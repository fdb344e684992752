package dev.checkmate.relay.bench;

import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * The open-loop session generator of W8. Sessions are planned at a fixed rate; each one's
 * latencies are measured from its PLANNED start, so a late generator, a slow relay or a stalled
 * connection shows up in the figures instead of silently delaying later sessions (coordinated
 * omission). Sessions never wait for each other: a slow one only adds to the in-flight count,
 * which is capped (beyond the cap a planned session counts as failed, "overload").
 */
final class ChurnDriver {
  /** How one layout (shared gRPC connections, a connection per participant, WebSocket) runs a session. */
  interface Layout extends AutoCloseable {
    String name();

    /** Called before a step that will plan about {@code sessions} sessions (WebSocket pre-makes tickets). */
    default void prepare(int sessions) throws Exception {}

    /** Starts one session; must not block. Reports through {@link Session#paired()}, {@link Session#done()}, {@link Session#fail}. */
    void start(Session s);

    /** Cancels whatever of the session is still open (after a failure or timeout). */
    void abort(Session s);

    @Override
    default void close() {}
  }

  /** One planned session. */
  static final class Session {
    final Step step;
    final long planned;
    final boolean measured;
    private final AtomicBoolean finished = new AtomicBoolean();
    private final AtomicBoolean pairedOnce = new AtomicBoolean();
    private volatile boolean ok;
    /** Layout-owned state (streams, channels, sockets). */
    volatile Object state;

    Session(Step step, long planned, boolean measured) {
      this.step = step;
      this.planned = planned;
      this.measured = measured;
    }

    /** Both participants know their peer is there (the end of setup). */
    void paired() {
      if (pairedOnce.compareAndSet(false, true) && measured && !finished.get()) {
        step.setup.recordValue(Math.max(0, System.nanoTime() - planned));
      }
    }

    /** Everything closed normally. */
    void done() {
      if (finished.compareAndSet(false, true)) {
        ok = true;
        long now = System.nanoTime();
        step.inFlight.remove(this);
        step.finished(this);
        if (now >= step.windowStart && now < step.windowEnd) {
          step.completedInWindow.increment();
        }
        if (measured) {
          step.session.recordValue(Math.max(0, now - planned));
          step.completed.increment();
        }
      }
    }

    /** Failed: counted by reason, and whatever is open is cancelled. Later reports are ignored. */
    void fail(String reason) {
      if (finished.compareAndSet(false, true)) {
        step.inFlight.remove(this);
        step.finished(this);
        if (measured) {
          step.failures.computeIfAbsent(reason, r -> new LongAdder()).increment();
        }
        step.layout.abort(this);
      }
    }

    boolean finished() {
      return finished.get();
    }

    boolean finishedNormally() {
      return ok;
    }
  }

  /** Accounting of one measured step. */
  static final class Step {
    final Layout layout;
    final Recorder setup = new Recorder(3);
    final Recorder session = new Recorder(3);
    final LongAdder completed = new LongAdder();
    final LongAdder completedInWindow = new LongAdder();
    final Map<String, LongAdder> failures = new ConcurrentHashMap<>();
    final Set<Session> inFlight = ConcurrentHashMap.newKeySet();
    volatile long windowStart = Long.MAX_VALUE;
    volatile long windowEnd = Long.MAX_VALUE;
    /** Called after each session finished, either way (the closed-loop warm-up starts the next one). */
    volatile java.util.function.Consumer<Session> onFinish = s -> {};

    Step(Layout layout) {
      this.layout = layout;
    }

    void finished(Session s) {
      onFinish.accept(s);
    }
  }

  /** What one step measured. Latencies in nanoseconds. */
  static final class Result {
    String relay;
    String layout;
    double offered;
    double measureSeconds;
    long planned;
    long completed;
    long completedInWindow;
    Map<String, Long> failures = new TreeMap<>();
    Histogram setup;
    Histogram session;
    Histogram lag;
    /** Relay process CPU per session, all threads except the JIT compilers (see relayThreadUs for those). */
    double relayCpuUsPerSession = Double.NaN;
    /** Relay CPU per session by thread group, microseconds. */
    Map<String, Double> relayThreadUs = new TreeMap<>();
    double relayCores = Double.NaN;
    double driverCores = Double.NaN;
    double machineBusyCores = Double.NaN;
    String loadAverage;

    long failed() {
      return failures.values().stream().mapToLong(Long::longValue).sum();
    }

    double achieved() {
      return completedInWindow / measureSeconds;
    }

    long p(Histogram h, double q) {
      return h.getTotalCount() == 0 ? -1 : h.getValueAtPercentile(q);
    }

    /** Every planned session completed, none failed, the rate was kept, and p99 session latency within the SLO. */
    boolean sustainable(long sloNanos) {
      return planned > 0 && failed() == 0 && completed == planned && achieved() >= 0.95 * offered
          && p(session, 99) >= 0 && p(session, 99) <= sloNanos;
    }
  }

  /** Hooks the driver calls to read server CPU etc. at the window edges. */
  interface Probe {
    long relayCpuNanos();

    /** CPU ticks of the relay's threads by group (Machine.threadTicks). */
    Map<String, Long> relayThreadTicks();
  }

  private final ScheduledExecutorService timeouts = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "w8-timeouts");
    t.setDaemon(true);
    return t;
  });
  private final int maxInFlight;
  private final long sessionTimeoutNanos;

  ChurnDriver(int maxInFlight, long sessionTimeoutNanos) {
    this.maxInFlight = maxInFlight;
    this.sessionTimeoutNanos = sessionTimeoutNanos;
  }

  /**
   * Plans sessions at {@code rate}/s for {@code warmS + measS} seconds; the sessions planned in
   * the last {@code measS} seconds are measured. Returns once every measured session finished or
   * timed out.
   */
  Result run(Layout layout, Probe probe, double rate, double warmS, double measS) throws Exception {
    Step step = new Step(layout);
    layout.prepare((int) Math.ceil(rate * (warmS + measS) * 1.05) + 16);
    Recorder lag = new Recorder(3);
    double interval = 1e9 / rate;
    long t0 = System.nanoTime() + 20_000_000L;
    long warmEnd = t0 + (long) (warmS * 1e9);
    long end = warmEnd + (long) (measS * 1e9);
    AtomicInteger plannedInWindow = new AtomicInteger();
    var sweeper = timeouts.scheduleWithFixedDelay(() -> expire(step), 100, 100, TimeUnit.MILLISECONDS);
    long cpu0 = -1;
    long cpu1 = -1;
    Map<String, Long> threads0 = Map.of();
    Map<String, Long> threads1 = Map.of();
    long[] drv0 = null;
    long[] drv1 = null;
    long[] m0 = null;
    long[] m1 = null;
    boolean measuring = false;
    try {
      for (long k = 0; ; k++) {
        long planned = t0 + (long) (k * interval);
        if (planned >= end) {
          break;
        }
        if (!measuring && planned >= warmEnd) {
          measuring = true;
          Load.waitUntil(warmEnd, false);
          cpu0 = probe.relayCpuNanos();
          threads0 = probe.relayThreadTicks();
          drv0 = Machine.processTicks();
          m0 = Machine.busyAndTotalTicks();
          step.windowStart = System.nanoTime();
          step.windowEnd = step.windowStart + (long) (measS * 1e9);
        }
        Load.waitUntil(planned, true);
        boolean measured = planned >= warmEnd;
        if (measured) {
          plannedInWindow.incrementAndGet();
        }
        Session s = new Session(step, planned, measured);
        lag.recordValue(Math.max(0, System.nanoTime() - planned));
        if (step.inFlight.size() >= maxInFlight) {
          s.fail("overload (" + maxInFlight + " in flight)");
          continue;
        }
        step.inFlight.add(s);
        try {
          layout.start(s);
        } catch (RuntimeException e) {
          s.fail("start: " + e.getClass().getSimpleName());
        }
      }
      Load.waitUntil(end, false);
      cpu1 = probe.relayCpuNanos();
      threads1 = probe.relayThreadTicks();
      drv1 = Machine.processTicks();
      m1 = Machine.busyAndTotalTicks();
      long deadline = System.nanoTime() + sessionTimeoutNanos + 2_000_000_000L;
      while (!step.inFlight.isEmpty() && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
    } finally {
      sweeper.cancel(false);
      for (Session s : step.inFlight) {
        s.fail("timeout");
      }
    }
    Result r = new Result();
    r.layout = layout.name();
    r.offered = rate;
    r.measureSeconds = measS;
    r.planned = plannedInWindow.get();
    r.completed = step.completed.sum();
    r.completedInWindow = step.completedInWindow.sum();
    step.failures.forEach((k, v) -> r.failures.put(k, v.sum()));
    r.setup = step.setup.getIntervalHistogram();
    r.session = step.session.getIntervalHistogram();
    r.lag = lag.getIntervalHistogram();
    double wall = measS;
    for (Map.Entry<String, Long> e : threads1.entrySet()) {
      long d = e.getValue() - threads0.getOrDefault(e.getKey(), 0L);
      r.relayThreadUs.put(e.getKey(), d * (1e6 / Machine.TICKS_PER_SECOND) / Math.max(1, r.completedInWindow));
    }
    if (cpu0 >= 0 && cpu1 >= 0) {
      r.relayCores = (cpu1 - cpu0) / 1e9 / wall;
      // The JIT compilers' share is warm-up, not the steady-state cost of a session: reported apart.
      r.relayCpuUsPerSession = (cpu1 - cpu0) / 1e3 / Math.max(1, r.completedInWindow) - r.relayThreadUs.getOrDefault("jit", 0.0);
    }
    if (drv0 != null && drv1 != null) {
      r.driverCores = (drv1[0] - drv0[0]) / (double) Machine.TICKS_PER_SECOND / wall;
    }
    if (m0 != null && m1 != null && m1[1] > m0[1]) {
      r.machineBusyCores = (m1[0] - m0[0]) / (double) (m1[1] - m0[1]) * Machine.cores();
    }
    r.loadAverage = Machine.loadAverage();
    return r;
  }

  /**
   * Closed loop, for JIT warm-up only (nothing is measured): keeps {@code concurrency} sessions
   * open, starting the next as one finishes, until {@code sessions} have finished or
   * {@code maxSeconds} passed. Never overloads the relay, so it warms it as fast as it can go.
   * Returns the number of sessions that finished (and how many of them failed, in {@code failedOut[0]}).
   */
  long warm(Layout layout, int concurrency, long sessions, double maxSeconds, long[] failedOut) throws Exception {
    Step step = new Step(layout);
    layout.prepare((int) Math.min(sessions + concurrency, 200_000));
    LongAdder finished = new LongAdder();
    LongAdder failed = new LongAdder();
    long deadline = System.nanoTime() + (long) (maxSeconds * 1e9);
    java.util.concurrent.atomic.AtomicLong started = new java.util.concurrent.atomic.AtomicLong();
    var sweeper = timeouts.scheduleWithFixedDelay(() -> expire(step), 100, 100, TimeUnit.MILLISECONDS);
    java.util.function.Consumer<Session> next = new java.util.function.Consumer<>() {
      @Override
      public void accept(Session done) {
        if (done != null) {
          finished.increment();
        }
        if (started.get() >= sessions || System.nanoTime() > deadline) {
          return;
        }
        started.incrementAndGet();
        Session s = new Session(step, System.nanoTime(), false);
        step.inFlight.add(s);
        // Start from the timeout thread, never from a client event loop inside a callback.
        timeouts.execute(() -> {
          try {
            layout.start(s);
          } catch (RuntimeException e) {
            s.fail("start");
          }
        });
      }
    };
    step.onFinish = s -> {
      if (!s.finishedNormally()) {
        failed.increment();
      }
      next.accept(s);
    };
    try {
      for (int i = 0; i < concurrency; i++) {
        next.accept(null);
      }
      while (finished.sum() < started.get() || (started.get() < sessions && System.nanoTime() < deadline)) {
        if (System.nanoTime() > deadline + sessionTimeoutNanos + 2_000_000_000L) {
          break;
        }
        Thread.sleep(20);
      }
    } finally {
      sweeper.cancel(false);
      step.onFinish = s -> {};
      for (Session s : step.inFlight) {
        s.fail("timeout");
      }
    }
    if (failedOut != null) {
      failedOut[0] = failed.sum();
    }
    return finished.sum();
  }

  private void expire(Step step) {
    long now = System.nanoTime();
    for (Session s : step.inFlight) {
      if (now - s.planned > sessionTimeoutNanos) {
        s.fail("timeout");
      }
    }
  }

  void close() {
    timeouts.shutdownNow();
  }
}
