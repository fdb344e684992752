package dev.checkmate.relay.soak;

import dev.checkmate.relay.security.Flood;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * Carries out a fault schedule against the cluster, each fault in its own thread at its time
 * (they may overlap), and keeps the timeline of what happened: when each fault began, when the
 * cluster was whole again (relay restarted with its NATS link up, NATS back, flood stopped), with
 * notes. Events are attributed to a fault while it lasts and for {@link #SETTLE_NANOS} after.
 */
final class FaultRunner implements AutoCloseable {
  /** After a fault is healed its effects still show for this long (resume backoff, dead bindings). */
  static final long SETTLE_NANOS = Duration.ofSeconds(10).toNanos();

  /** One fault as it happened. */
  static final class Event {
    final Fault fault;
    final long startNanos;
    volatile long healedNanos;
    volatile String note = "";
    volatile String error;

    Event(Fault fault, long startNanos) {
      this.fault = fault;
      this.startNanos = startNanos;
    }

    boolean overlaps(long fromNanos, long toNanos) {
      long end = healedNanos == 0 ? Long.MAX_VALUE : healedNanos + SETTLE_NANOS;
      return fromNanos <= end && toNanos >= startNanos;
    }

    String describe(long originNanos) {
      return String.format(Locale.ROOT, "%s | began +%.1f s, whole again after %s%s%s", fault,
          (startNanos - originNanos) / 1e9, healedNanos == 0 ? "(never)" : Fault.seconds((healedNanos - startNanos) / 1_000_000),
          note.isEmpty() ? "" : "; " + note, error == null ? "" : "; ERROR " + error);
    }
  }

  private final SoakCluster cluster;
  private final List<Event> timeline = new CopyOnWriteArrayList<>();
  private final List<Thread> threads = new ArrayList<>();
  private final Consumer<String> log;
  private volatile boolean stopped;

  FaultRunner(SoakCluster cluster, Consumer<String> log) {
    this.cluster = cluster;
    this.log = log;
  }

  /** Starts carrying out {@code plan}, its times counted from {@code originNanos}. */
  void start(List<Fault> plan, long originNanos) {
    Thread t = new Thread(() -> {
      for (Fault f : plan) {
        long wait = originNanos + f.atMillis() * 1_000_000 - System.nanoTime();
        try {
          if (wait > 0) {
            Thread.sleep(wait / 1_000_000);
          }
        } catch (InterruptedException e) {
          return;
        }
        if (stopped) {
          return;
        }
        Event e = new Event(f, System.nanoTime());
        timeline.add(e);
        log.accept(f.toString());
        Thread worker = new Thread(() -> run(e), "fault-" + f.id());
        worker.setDaemon(true);
        synchronized (threads) {
          threads.add(worker);
        }
        worker.start();
      }
    }, "fault-schedule");
    t.setDaemon(true);
    synchronized (threads) {
      threads.add(t);
    }
    t.start();
  }

  private void run(Event e) {
    Fault f = e.fault;
    try {
      switch (f.kind()) {
        case RELAY_KILL -> {
          RelayNode r = cluster.relays.get(f.target());
          r.kill();
          Thread.sleep(f.millis());
          restart(e, r);
        }
        case RELAY_DRAIN -> {
          RelayNode r = cluster.relays.get(f.target());
          long t0 = System.nanoTime();
          int code = r.drain(Duration.ofSeconds(f.millis() / 1000 + 30));
          e.note = String.format(Locale.ROOT, "exit code %d after %.1f s of drain; ", code, (System.nanoTime() - t0) / 1e9);
          restart(e, r);
        }
        case NATS_KILL -> {
          cluster.killNats(f.target());
          Thread.sleep(f.millis());
          cluster.restartNats(f.target());
          awaitLinks();
        }
        case NATS_ALL_DOWN -> {
          for (int i = 0; i < cluster.nats.size(); i++) {
            cluster.killNats(i);
          }
          Thread.sleep(f.millis());
          for (int i = 0; i < cluster.nats.size(); i++) {
            cluster.restartNats(i);
          }
          awaitLinks();
        }
        case TCP_CUT -> {
          int before = cluster.grpcProxies.get(f.target()).connections() + cluster.httpProxies.get(f.target()).connections();
          cluster.grpcProxies.get(f.target()).cutAll();
          cluster.httpProxies.get(f.target()).cutAll();
          e.note = before + " connections through these proxies so far";
        }
        case FLOOD -> {
          RelayNode r = cluster.relays.get(f.target());
          try (Flood flood = new Flood(r.grpcPort(), r.httpPort(), "127.0.0.2", 1)) {
            Thread.sleep(f.millis());
            flood.close();
            e.note = String.format(Locale.ROOT, "%d forged gRPC joins, %d silent streams, %d gRPC connections, "
                    + "%d forged WebSocket joins, %d junk HTTP connections", flood.bogusJoins.get(), flood.silentStreams.get(),
                flood.connections.get(), flood.webSocketBogusJoins.get(), flood.junkConnections.get());
          }
        }
        default -> throw new IllegalStateException(f.kind().toString());
      }
    } catch (InterruptedException ie) {
      Thread.currentThread().interrupt();
      e.error = "interrupted";
    } catch (Exception | AssertionError ex) {
      e.error = ex.toString();
      log.accept("fault " + f.id() + " failed: " + ex);
    } finally {
      if (e.healedNanos == 0) {
        e.healedNanos = System.nanoTime();
      }
    }
  }

  private void restart(Event e, RelayNode r) throws Exception {
    long t0 = System.nanoTime();
    r.start();
    cluster.awaitLinkUp(r, Duration.ofSeconds(60));
    e.note += String.format(Locale.ROOT, "restarted (NATS link up) in %.1f s", (System.nanoTime() - t0) / 1e9);
  }

  private void awaitLinks() throws InterruptedException {
    for (RelayNode r : cluster.relays) {
      if (r.alive()) {
        cluster.awaitLinkUp(r, Duration.ofSeconds(60));
      }
    }
  }

  List<Event> timeline() {
    return List.copyOf(timeline);
  }

  /** The faults whose time (with settling) overlaps [fromNanos, toNanos]. */
  List<Event> during(long fromNanos, long toNanos) {
    List<Event> out = new ArrayList<>();
    for (Event e : timeline) {
      if (e.overlaps(fromNanos, toNanos)) {
        out.add(e);
      }
    }
    return out;
  }

  /** True while some fault is not yet whole again. */
  boolean active() {
    for (Event e : timeline) {
      if (e.healedNanos == 0) {
        return true;
      }
    }
    return false;
  }

  /** Stops scheduling; waits for the faults under way to heal (restarts complete). */
  @Override
  public void close() throws InterruptedException {
    stopped = true;
    List<Thread> all;
    synchronized (threads) {
      all = new ArrayList<>(threads);
    }
    for (Thread t : all) {
      if (t.getName().equals("fault-schedule")) {
        t.interrupt();
      }
      t.join(120_000);
    }
  }
}
