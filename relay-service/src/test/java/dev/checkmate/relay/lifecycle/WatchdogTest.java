package dev.checkmate.relay.lifecycle;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The watchdog's judgement, tick by tick on a simulated clock, against real executors whose thread
 * a test blocks: thresholds, recovery, dead executors, a stopped heartbeat, and a pause of the
 * watchdog itself that must not be blamed on anyone. The last test runs its own thread.
 */
@Timeout(30)
class WatchdogTest {
  private static final long MS = 1_000_000L;
  private final List<Boolean> health = new CopyOnWriteArrayList<>();
  private final List<String> fatal = new CopyOnWriteArrayList<>();
  private final ExecutorService loop = Executors.newSingleThreadExecutor(r -> new Thread(r, "test-loop"));
  private final CountDownLatch release = new CountDownLatch(1);

  /** NOT_SERVING after 2 s, exit after 10 s: the defaults; one tick = 500 ms. */
  private Watchdog watchdog() {
    return new Watchdog(Duration.ofSeconds(2), Duration.ofSeconds(10), health::add, fatal::add);
  }

  @AfterEach
  void stop() {
    release.countDown();
    loop.shutdownNow();
  }

  private void blockLoop() throws Exception {
    CountDownLatch blocked = new CountDownLatch(1);
    Thread[] thread = new Thread[1];
    loop.execute(() -> {
      thread[0] = Thread.currentThread();
      blocked.countDown();
      try {
        release.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    });
    blocked.await();
    // Until the loop thread is parked in await(), a stack taken now would show it still running.
    while (thread[0].getState() != Thread.State.WAITING) {
      Thread.sleep(1);
    }
  }

  /** Ticks every 500 ms of simulated time from {@code from} to {@code to} inclusive; returns {@code to}. */
  private static long tickEvery500ms(Watchdog w, long from, long to) {
    for (long t = from; t <= to; t += 500 * MS) {
      w.tick(t);
    }
    return to;
  }

  /** The same with a free loop: each probe is answered before the next simulated tick. */
  private long tickEvery500msAnswering(Watchdog w, long from, long to) throws Exception {
    for (long t = from; t <= to; t += 500 * MS) {
      w.tick(t);
      drainLoop();
    }
    return to;
  }

  private void drainLoop() throws Exception {
    loop.submit(() -> { }).get(5, TimeUnit.SECONDS);
  }

  @Test
  void aBlockedExecutorTurnsHealthNotServingAtTheFirstThresholdAndIsFatalAtTheSecond() throws Exception {
    Watchdog w = watchdog().watch("grpc-0", loop);
    blockLoop();
    long t0 = 1_000_000 * MS;
    tickEvery500ms(w, t0, t0 + 1500 * MS);
    assertThat(health).isEmpty();
    w.tick(t0 + 2000 * MS);
    assertThat(health).containsExactly(true);
    tickEvery500ms(w, t0 + 2500 * MS, t0 + 9500 * MS);
    assertThat(fatal).isEmpty();
    w.tick(t0 + 10_000 * MS);
    assertThat(fatal).hasSize(1);
    assertThat(fatal.get(0)).contains("grpc-0 has made no progress for 10.0 s");
    w.tick(t0 + 10_500 * MS);
    assertThat(fatal).as("fatal runs once").hasSize(1);
  }

  @Test
  void theReportNamesTheStalledThreadAndShowsItsStack() throws Exception {
    Watchdog w = watchdog().watch("timers", loop);
    long t0 = 1_000_000 * MS;
    w.tick(t0);
    drainLoop(); // the first probe is answered: the watchdog now knows the thread
    blockLoop();
    tickEvery500ms(w, t0 + 500 * MS, t0 + 10_500 * MS);
    assertThat(fatal).hasSize(1);
    assertThat(fatal.get(0)).contains("timers has made no progress", "(thread test-loop)", "stack of test-loop",
        "java.util.concurrent.CountDownLatch.await", WatchdogTest.class.getName() + ".lambda$blockLoop");
  }

  @Test
  void aStallThatEndsBeforeTheExitThresholdRestoresHealthAndIsNotFatal() throws Exception {
    Watchdog w = watchdog().watch("http-0", loop);
    blockLoop();
    long t0 = 1_000_000 * MS;
    long t = tickEvery500ms(w, t0, t0 + 3000 * MS);
    assertThat(health).containsExactly(true);
    release.countDown();
    drainLoop();
    w.tick(t + 500 * MS); // the outstanding probe has run: no stall
    assertThat(health).containsExactly(true, false);
    drainLoop();
    tickEvery500msAnswering(w, t + 1000 * MS, t + 20_000 * MS);
    assertThat(fatal).isEmpty();
    assertThat(health).containsExactly(true, false);
  }

  @Test
  void anExecutorThatRejectsProbesIsDeadAndFatalAtOnce() {
    Watchdog w = watchdog().watch("grpc-accept-0", loop);
    loop.shutdown();
    w.tick(1_000_000 * MS);
    assertThat(health).containsExactly(true);
    assertThat(fatal).singleElement().asString().contains("grpc-accept-0 is dead: it rejects tasks");
  }

  @Test
  void aHeartbeatThatStopsIsAStallOnceItIsOverdueByTheThreshold() {
    Watchdog w = watchdog();
    Watchdog.Heartbeat sweep = w.heartbeat("session sweep", Duration.ofMillis(250));
    long t0 = 1_000_000 * MS;
    // Beating every 250 ms for 20 s: never a stall.
    for (long t = t0; t <= t0 + 20_000 * MS; t += 250 * MS) {
      sweep.beatAt(t);
      if ((t - t0) % (500 * MS) == 0) {
        w.tick(t);
      }
    }
    assertThat(health).isEmpty();
    long last = t0 + 20_000 * MS;
    // Then it stops: overdue = now - last beat - period.
    tickEvery500ms(w, last + 500 * MS, last + 2000 * MS);
    assertThat(health).isEmpty();
    w.tick(last + 2500 * MS); // 2.5 s - 0.25 s = 2.25 s overdue
    assertThat(health).containsExactly(true);
    tickEvery500ms(w, last + 3000 * MS, last + 10_500 * MS);
    assertThat(fatal).singleElement().asString().contains("session sweep has made no progress for 10.");
  }

  @Test
  void aHeartbeatIsDueFromWhenTheWatchdogStartsNotFromWhenItWasRegistered() {
    Watchdog w = watchdog();
    w.heartbeat("session sweep", Duration.ofMillis(250)); // registered while the server still starts
    long started = System.nanoTime() + 30_000 * MS; // a slow start: 30 s later
    w.arm(started);
    tickEvery500ms(w, started, started + 2000 * MS);
    assertThat(health).isEmpty();
    w.tick(started + 2500 * MS);
    assertThat(health).containsExactly(true);
  }

  @Test
  void aPauseOfTheWholeJvmIsNotBlamedOnTheThreadsItPaused() throws Exception {
    Watchdog w = watchdog().watch("grpc-0", loop);
    Watchdog.Heartbeat sweep = w.heartbeat("session sweep", Duration.ofMillis(250));
    long t0 = 1_000_000 * MS;
    sweep.beatAt(t0);
    w.tick(t0); // probe posted and answered at once
    drainLoop();
    blockLoop(); // from now on the loop is stuck for real
    w.tick(t0 + 500 * MS); // probe posted
    // The watchdog itself sleeps 9 s instead of 0.5 s (a long GC pause): 8.5 s are excused.
    w.tick(t0 + 9500 * MS);
    assertThat(health).as("a pause is not a stall").isEmpty();
    // A real stall is still caught, counted without the pause: the probe has waited 1 s at +10 s
    // and 2 s at +11 s (the silent sweep is overdue by 2.25 s then).
    tickEvery500ms(w, t0 + 10_000 * MS, t0 + 10_500 * MS);
    assertThat(health).isEmpty();
    w.tick(t0 + 11_000 * MS);
    assertThat(health).containsExactly(true);
    assertThat(fatal).isEmpty();
  }

  @Test
  void itsOwnThreadReportsAStallAndAFatalOneWithoutBeingTicked() throws Exception {
    CountDownLatch notServing = new CountDownLatch(1);
    CountDownLatch died = new CountDownLatch(1);
    Watchdog w = new Watchdog(Duration.ofMillis(200), Duration.ofMillis(600),
        stalled -> { if (stalled) notServing.countDown(); }, message -> died.countDown());
    w.watch("grpc-0", loop);
    try {
      w.start();
      blockLoop();
      assertThat(notServing.await(10, TimeUnit.SECONDS)).isTrue();
      assertThat(died.await(10, TimeUnit.SECONDS)).isTrue();
    } finally {
      w.close();
    }
  }

  @Test
  void exitAfterZeroNeverCallsTheFatalActionForAStall() throws Exception {
    Watchdog w = new Watchdog(Duration.ofSeconds(2), Duration.ZERO, health::add, fatal::add).watch("grpc-0", loop);
    blockLoop();
    long t0 = 1_000_000 * MS;
    tickEvery500ms(w, t0, t0 + 60_000 * MS);
    assertThat(health).containsExactly(true);
    assertThat(fatal).isEmpty();
  }
}
