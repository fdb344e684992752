package dev.checkmate.relay.soak;

import dev.checkmate.relay.client.RelayClient;
import dev.checkmate.relay.soak.Participant.Transport;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * Keeps {@code config.sessions} sessions running: starts them (ramping up), replaces each one
 * that ends, enforces their deadlines, and judges each failure against what the design allows.
 * Every session's plan comes from the run's seed and its number, so a run can be replayed.
 */
final class Workload implements AutoCloseable {
  final SoakConfig config;
  final SoakCluster cluster;
  final JavaPeers javaPeers;
  final NodePeers nodePeers;
  final Tally tally;
  final FaultRunner faults;
  final ScheduledExecutorService ticker;
  final ExecutorService setup;
  private final List<RelayClient> issuers = new ArrayList<>();
  private final Set<SessionRun> active = ConcurrentHashMap.newKeySet();
  private final AtomicLong nextId = new AtomicLong();
  private final AtomicInteger anomaliesLogged = new AtomicInteger();
  private final Consumer<String> log;
  private final long originNanos;
  private volatile boolean running;

  Workload(SoakConfig config, SoakCluster cluster, NodePeers nodePeers, Tally tally, FaultRunner faults, Consumer<String> log,
      long originNanos) {
    this.config = config;
    this.cluster = cluster;
    this.nodePeers = nodePeers;
    this.tally = tally;
    this.faults = faults;
    this.log = log;
    this.originNanos = originNanos;
    int relays = cluster.relays.size();
    List<List<String>> targets = new ArrayList<>();
    for (int proxied = 0; proxied < 2; proxied++) {
      for (int first = 0; first < relays; first++) {
        List<String> t = new ArrayList<>();
        for (int i = 0; i < relays; i++) {
          t.add(cluster.grpcTarget((first + i) % relays, proxied == 1));
        }
        targets.add(t);
      }
    }
    // Sessions share a few connections per first target (apps multiplex sessions over a channel).
    int clientsPerTarget = Math.max(2, Math.min(16, config.sessions / 60));
    this.javaPeers = new JavaPeers(targets, clientsPerTarget, 16);
    for (int i = 0; i < relays; i++) {
      issuers.add(RelayClient.builder().target(cluster.grpcTarget(i, false)).usePlaintext().build());
    }
    this.ticker = Executors.newScheduledThreadPool(2, r -> {
      Thread t = new Thread(r, "soak-ticker");
      t.setDaemon(true);
      return t;
    });
    this.setup = Executors.newFixedThreadPool(8, r -> {
      Thread t = new Thread(r, "soak-setup");
      t.setDaemon(true);
      return t;
    });
  }

  /** The relay {@code i}'s session issuer (CreateSession goes to that relay). */
  RelayClient issuer(int i) {
    return issuers.get(i);
  }

  /** Starts sessions up to the target, spread over {@code rampMillis}, then keeps them there. */
  void start(long rampMillis) {
    running = true;
    long gap = Math.max(1, rampMillis / Math.max(1, config.sessions));
    for (int i = 0; i < config.sessions; i++) {
      ticker.schedule(this::startOne, i * gap, TimeUnit.MILLISECONDS);
    }
    ticker.scheduleAtFixedRate(this::checkDeadlines, 1, 1, TimeUnit.SECONDS);
  }

  private void startOne() {
    if (!running) {
      return;
    }
    SessionRun run = new SessionRun(plan(nextId.incrementAndGet()), this);
    active.add(run);
    tally.sessionsStarted.increment();
    run.start();
  }

  /** The plan of session {@code id}: a function of the seed and the id only. */
  SessionRun.Plan plan(long id) {
    Random r = new Random(config.seed * 1_000_003L + id);
    int relays = cluster.relays.size();
    int proverRelay = r.nextInt(relays);
    boolean cross = relays > 1 && r.nextDouble() < config.crossNodeShare;
    int verifierRelay = cross ? (proverRelay + 1 + r.nextInt(relays - 1)) % relays : proverRelay;
    Transport pt = transport(r);
    Transport vt = transport(r);
    boolean proverProxied = r.nextDouble() < config.proxiedShare;
    boolean verifierProxied = r.nextDouble() < config.proxiedShare;
    boolean simultaneous = cross && r.nextDouble() < config.simultaneousJoinShare;
    int slowSide = r.nextDouble() < config.slowReaderShare ? 1 + r.nextInt(2) : 0;
    double u = r.nextDouble();
    double seconds = config.minSessionSeconds + (config.maxSessionSeconds - config.minSessionSeconds) * u * u;
    int frames = (int) Math.max(1, Math.round(seconds * config.framesPerSecond));
    return new SessionRun.Plan(id, pt, vt, proverRelay, verifierRelay, proverProxied, verifierProxied, simultaneous,
        slowSide == 1 ? config.slowReaderMillis : 0, slowSide == 2 ? config.slowReaderMillis : 0, frames, r.nextLong());
  }

  private Transport transport(Random r) {
    double x = r.nextDouble();
    return x < config.grpcShare ? Transport.GRPC : x < config.grpcShare + config.webSocketShare ? Transport.WEBSOCKET
        : Transport.GRPC_WEB;
  }

  private void checkDeadlines() {
    long now = System.nanoTime();
    for (SessionRun s : active) {
      s.checkDeadline(now);
    }
  }

  /** A session is over: account for it and start its replacement. */
  void finished(SessionRun run, List<String> faultKinds, String failure, String allowedBecause) {
    for (SessionRun.Direction d : run.directions()) {
      tally.frames(d.key(), faultKinds, d.ledger(), allowedBecause != null);
    }
    if (failure == null) {
      tally.completed(run.plan.kind(), faultKinds);
    } else {
      String reason = reasonOf(failure);
      tally.failed(run.plan.kind(), faultKinds, reason, allowedBecause, String.format("session %d (%s), +%.1f s, faults %s: %s | %s%s",
          run.plan.id(), run.plan.kind(), (run.createdNanos() - originNanos) / 1e9, faultKinds, failure, run.ends(),
          allowedBecause == null ? "\n      trace " + run.traces() : ""));
      if (allowedBecause == null) {
        log.accept("session " + run.plan.id() + " FAILED: " + failure + " | " + run.ends() + "\n      trace " + run.traces());
      }
    }
    active.remove(run);
    if (running) {
      ticker.execute(this::startOne);
    }
  }

  /** A short, bounded reason: the failure text without the details that vary per session. */
  static String reasonOf(String failure) {
    String r = failure.replaceAll("\\d+", "N");
    int colon = r.indexOf(": ", r.indexOf(": ") + 2);
    r = colon > 0 && r.length() > 120 ? r.substring(0, colon) : r;
    return r.length() > 160 ? r.substring(0, 160) + "…" : r;
  }

  void anomaly(SessionRun run, String what) {
    if (anomaliesLogged.incrementAndGet() <= 20) {
      log.accept("session " + run.plan.id() + " (" + run.plan.kind() + "): " + what);
    }
  }

  /** Names of the fault kinds overlapping [fromNanos, toNanos]. */
  List<String> faultKinds(long fromNanos, long toNanos) {
    Set<String> kinds = new LinkedHashSet<>();
    for (FaultRunner.Event e : faults.during(fromNanos, toNanos)) {
      kinds.add(e.fault.kind().name());
    }
    return List.copyOf(kinds);
  }

  /**
   * Why the design allows this failure, or null if it does not. A relay drained with SIGTERM ends
   * the sessions homed on it that do not finish within its drain time with RELAY_SHUTDOWN, which
   * the SDKs do not resume (docs/cluster.md §4, "relay drained").
   */
  String allowed(SessionRun run, long fromNanos, long toNanos) {
    String drained = drainedAway(run.endReasons(), faultKinds(fromNanos, toNanos));
    if (drained != null) {
      return drained;
    }
    if (run.refusedRejoinAfterACompleteSession()) {
      return REFUSED_REJOIN_AFTER_A_COMPLETE_SESSION;
    }
    return null;
  }

  /** Why a rejoin refused after the prover terminated a complete session is allowed (any session, the pages' too). */
  static final String REFUSED_REJOIN_AFTER_A_COMPLETE_SESSION = "every frame was delivered and the prover terminated while its peer "
      + "was resuming: the rejoin is refused as the session ended (FAILED_PRECONDITION), the relay does not keep why "
      + "(docs/cluster.md §4, \"rejoin refused\")";

  /** The drain rule, for any session (also the Chromium pages'): why it allows these end reasons, or null. */
  static String drainedAway(Set<String> endReasons, List<String> faultKinds) {
    if (endReasons.contains("RELAY_SHUTDOWN") && faultKinds.contains(Fault.Kind.RELAY_DRAIN.name())) {
      return "a relay drained under load ends the sessions homed on it with RELAY_SHUTDOWN (docs/cluster.md §4)";
    }
    return null;
  }

  long originNanos() {
    return originNanos;
  }

  int active() {
    return active.size();
  }

  /** Stops replacing sessions; the ones running stop sending, deliver and terminate. Waits up to {@code timeoutMillis}. */
  boolean stop(long timeoutMillis) throws InterruptedException {
    running = false;
    for (SessionRun s : active) {
      s.finishEarly();
    }
    long deadline = System.currentTimeMillis() + timeoutMillis;
    while (!active.isEmpty() && System.currentTimeMillis() < deadline) {
      Thread.sleep(100);
    }
    return active.isEmpty();
  }

  @Override
  public void close() throws InterruptedException {
    running = false;
    ticker.shutdownNow();
    setup.shutdownNow();
    javaPeers.close();
    for (RelayClient c : issuers) {
      c.close();
    }
  }
}
