package dev.checkmate.relay.lifecycle;

import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledThreadPoolExecutor;

/**
 * The relay's single timer thread (session sweep, hello and send deadlines, gRPC-Web heartbeats).
 *
 * <p>A plain {@link ScheduledThreadPoolExecutor} keeps whatever a task throws inside the task's
 * future, which nobody reads: an error in the periodic sweep silently cancels it and every session
 * timer stops, while the thread looks alive. Here a task that ends with an exception is reported
 * through {@link FailFast#onError}: a {@link VirtualMachineError} (an OOM, a stack overflow) is
 * fatal, anything else is logged.
 */
public final class TimerThread {
  private TimerThread() {}

  /** One daemon thread with this name; cancelled tasks leave the queue at once. */
  public static ScheduledThreadPoolExecutor start(String name) {
    ScheduledThreadPoolExecutor timers = new ScheduledThreadPoolExecutor(1, r -> {
      Thread t = new Thread(r, name);
      t.setDaemon(true);
      return t;
    }) {
      @Override
      protected void afterExecute(Runnable task, Throwable thrown) {
        super.afterExecute(task, thrown);
        Throwable failure = thrown != null ? thrown : failureOf(task);
        if (failure != null) {
          FailFast.onError(Thread.currentThread(), failure);
        }
      }
    };
    timers.setRemoveOnCancelPolicy(true);
    return timers;
  }

  private static Throwable failureOf(Runnable task) {
    if (task instanceof Future<?> f && f.isDone() && !f.isCancelled()) {
      try {
        f.get();
      } catch (ExecutionException e) {
        return e.getCause();
      } catch (CancellationException | InterruptedException e) {
        return null;
      }
    }
    return null;
  }
}
