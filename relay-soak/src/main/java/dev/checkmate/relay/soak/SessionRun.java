package dev.checkmate.relay.soak;

import dev.checkmate.relay.client.SessionInvite;
import dev.checkmate.relay.soak.Participant.Transport;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * One soak session from creation to its end: it creates the session, joins its two participants
 * where its plan says (same relay or two; directly or through a cutting proxy; one after the other,
 * or at the same moment), then each side sends numbered, chained frames at the planned rate (with
 * bursts, holding back while its SDK does), the receivers' ledgers check every frame, and once both
 * directions are complete the prover terminates. It ends as completed, or failed with the reason
 * its participants reported, which is then judged against what the design allows.
 */
final class SessionRun {
  /** What this session does, all drawn from the run's seed. */
  record Plan(long id, Transport proverTransport, Transport verifierTransport, int proverRelay, int verifierRelay,
      boolean proverProxied, boolean verifierProxied, boolean simultaneous, int proverSlowMillis, int verifierSlowMillis,
      int framesPerSide, long seed) {

    String kind() {
      return proverTransport.label + "/" + verifierTransport.label + (proverRelay == verifierRelay ? " same-node" : " cross-node");
    }
  }

  private enum State { CREATING, JOINING, RUNNING, DRAINING, TERMINATING, DONE }

  /** One participant's side. */
  private final class Side implements Participant.Events {
    final boolean prover;
    final Transport transport;
    final boolean proxied;
    final int slowMillis;
    final Ledger outgoing;
    final Ledger incoming;
    Participant participant;
    int relay;
    int remaining;
    int joinAttempts;
    boolean joined;
    boolean peerPresent;
    Participant.End end;
    String lastJoinFailure;
    long reconnectingSinceNanos;
    int resumes;
    /** What happened to this side, for the report of a failed session (bounded: the first and the last events). */
    private final java.util.ArrayDeque<String> trace = new java.util.ArrayDeque<>();
    private int traced;

    void trace(String what) {
      synchronized (trace) {
        traced++;
        trace.add(String.format(Locale.ROOT, "+%.1f %s", (System.nanoTime() - workload.originNanos()) / 1e9, what));
        if (trace.size() > 12) {
          trace.remove(); // keeps the last 12
        }
      }
    }

    String traceText() {
      synchronized (trace) {
        return (traced > trace.size() ? "… " : "") + String.join(", ", trace);
      }
    }

    Side(boolean prover, Transport transport, int relay, boolean proxied, int slowMillis, Ledger outgoing, Ledger incoming) {
      this.prover = prover;
      this.transport = transport;
      this.relay = relay;
      this.proxied = proxied;
      this.slowMillis = slowMillis;
      this.outgoing = outgoing;
      this.incoming = incoming;
    }

    String name() {
      return prover ? "prover" : "verifier";
    }

    @Override
    public void joined(boolean present) {
      trace("joined relay-" + relay + (present ? " (peer present)" : ""));
      synchronized (SessionRun.this) {
        joined = true;
        peerPresent |= present;
        onJoined(this);
      }
    }

    @Override
    public void joinFailed(String reason) {
      trace("join failed at relay-" + relay + ": " + reason);
      synchronized (SessionRun.this) {
        lastJoinFailure = reason;
        onJoinFailed(this);
      }
    }

    @Override
    public void peerPresent(boolean present) {
      trace(present ? "peer present" : "peer gone");
      synchronized (SessionRun.this) {
        peerPresent = present;
        checkReady();
      }
    }

    @Override
    public void frame(byte[] payload) {
      Ledger.Verdict v = incoming.delivered(payload);
      if (v != Ledger.Verdict.IN_ORDER) {
        workload.anomaly(SessionRun.this, name() + " got a " + v + " frame");
      }
      synchronized (SessionRun.this) {
        checkComplete();
      }
    }

    @Override
    public void reconnecting(String cause) {
      trace("reconnecting: " + cause);
      synchronized (SessionRun.this) {
        reconnectingSinceNanos = System.nanoTime();
      }
      workload.tally.reconnects.increment();
    }

    @Override
    public void resumed(double millis) {
      long now = System.nanoTime();
      trace(String.format(Locale.ROOT, "resumed after %.0f ms", millis));
      resumes++;
      workload.tally.resumed(transport.label, workload.faultKinds((long) (now - millis * 1e6), now), millis);
    }

    @Override
    public void ended(Participant.End e) {
      trace("ended: " + e);
      synchronized (SessionRun.this) {
        end = e;
        onEnded(this);
      }
    }

    @Override
    public void dropped(int frames) {
      workload.tally.droppedSends.add(frames);
    }
  }

  final Plan plan;
  private final Workload workload;
  private final Side prover;
  private final Side verifier;
  private final Random random;
  private State state = State.CREATING;
  private final long createdNanos = System.nanoTime();
  private long readyNanos;
  private long deadlineNanos;
  private SessionInvite invite;
  private ScheduledFuture<?> ticks;
  private String failure;

  SessionRun(Plan plan, Workload workload) {
    this.plan = plan;
    this.workload = workload;
    this.random = new Random(plan.seed());
    Ledger p2v = new Ledger(plan.id(), Frames.Direction.PROVER_TO_VERIFIER);
    Ledger v2p = new Ledger(plan.id(), Frames.Direction.VERIFIER_TO_PROVER);
    this.prover = new Side(true, plan.proverTransport(), plan.proverRelay(), plan.proverProxied(), plan.proverSlowMillis(), p2v, v2p);
    this.verifier = new Side(false, plan.verifierTransport(), plan.verifierRelay(), plan.verifierProxied(), plan.verifierSlowMillis(),
        v2p, p2v);
    prover.remaining = plan.framesPerSide();
    verifier.remaining = plan.framesPerSide();
    this.deadlineNanos = createdNanos + Duration.ofSeconds(60).toNanos();
  }

  /** Creates the session (on a setup thread) and joins the participants. */
  void start() {
    workload.setup.execute(() -> {
      SessionInvite created = null;
      String lastError = null;
      for (int attempt = 0; created == null && System.nanoTime() < deadlineNanos; attempt++) {
        int relay = Math.floorMod(plan.proverRelay() + attempt, workload.cluster.relays.size());
        try {
          created = workload.issuer(relay).createSession(Duration.ofSeconds(
              (long) (plan.framesPerSide() / workload.config.framesPerSecond) + 120));
        } catch (RuntimeException e) {
          lastError = e.getMessage();
          workload.tally.setupRetries.increment();
          sleep(300);
        }
      }
      synchronized (this) {
        if (created == null) {
          fail("CreateSession failed for 60 s: " + lastError);
          return;
        }
        invite = created;
        state = State.JOINING;
        join(prover);
        if (plan.simultaneous()) {
          join(verifier);
        }
      }
    });
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void join(Side s) {
    s.joinAttempts++;
    s.trace("joining relay-" + s.relay + (s.proxied ? " via proxy" : ""));
    String ticket = s.prover ? invite.proverTicket() : invite.verifierTicket();
    int slow = s.slowMillis;
    if (s.transport == Transport.GRPC) {
      s.participant = workload.javaPeers.join(s.relay + (s.proxied ? workload.cluster.relays.size() : 0), ticket, slow, s);
    } else {
      s.participant = workload.nodePeers.join(s.transport, workload.cluster.httpEndpoint(s.relay, s.proxied), invite.sessionId(),
          slow, ticket, s);
    }
  }

  private void onJoinFailed(Side s) {
    if (state == State.DONE) {
      return;
    }
    workload.tally.setupRetries.increment();
    if (s.joined || System.nanoTime() > deadlineNanos) {
      fail(s.name() + " could not join: " + s.lastJoinFailure);
      return;
    }
    // Like an application: try again shortly, at the next relay (a browser's page would be served by another).
    s.relay = (s.relay + 1) % workload.cluster.relays.size();
    workload.ticker.schedule(() -> {
      synchronized (this) {
        if (state == State.JOINING || state == State.RUNNING) {
          join(s);
        }
      }
    }, 300, TimeUnit.MILLISECONDS);
  }

  private void onJoined(Side s) {
    if (state == State.DONE) {
      s.participant.close();
      return;
    }
    if (s.prover && !plan.simultaneous() && verifier.participant == null) {
      join(verifier);
    }
    if (prover.joined && verifier.joined && state == State.JOINING) {
      state = State.RUNNING;
      long period = Math.max(1, Math.round(1000 / workload.config.framesPerSecond));
      ticks = workload.ticker.scheduleAtFixedRate(this::tick, random.nextInt((int) period), period, TimeUnit.MILLISECONDS);
    }
    checkReady();
  }

  /** Both joined and both see the other: the setup latency ends here. */
  private void checkReady() {
    if (readyNanos == 0 && prover.joined && verifier.joined && prover.peerPresent && verifier.peerPresent) {
      readyNanos = System.nanoTime();
      workload.tally.setup(readyNanos - createdNanos, !workload.faultKinds(createdNanos, readyNanos).isEmpty());
    }
  }

  private synchronized void tick() {
    if (state == State.RUNNING) {
      send(prover);
      send(verifier);
      if (prover.remaining == 0 && verifier.remaining == 0) {
        state = State.DRAINING;
        deadlineNanos = System.nanoTime() + workload.config.deliveryTimeout.toNanos();
        checkComplete();
      }
    }
  }

  private void send(Side s) {
    if (s.remaining == 0 || s.participant.busy()) {
      return;
    }
    double tickSeconds = 1 / workload.config.framesPerSecond;
    boolean burst = random.nextDouble() < workload.config.burstChance * tickSeconds;
    int n = Math.min(s.remaining, burst ? workload.config.burstFrames : 1);
    for (int i = 0; i < n; i++) {
      s.participant.send(s.outgoing.next(burst));
      s.remaining--;
    }
  }

  /** The run is ending: send nothing more, deliver what was sent, terminate. */
  synchronized void finishEarly() {
    prover.remaining = 0;
    verifier.remaining = 0;
    if (state == State.CREATING || state == State.JOINING) {
      deadlineNanos = Math.min(deadlineNanos, System.nanoTime() + Duration.ofSeconds(30).toNanos());
    }
  }

  private void checkComplete() {
    if (state == State.DRAINING && prover.outgoing.complete() && verifier.outgoing.complete()) {
      state = State.TERMINATING;
      prover.trace("every frame both ways delivered: terminate");
      deadlineNanos = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      prover.participant.terminate("soak session done");
    }
  }

  private void onEnded(Side s) {
    if (state == State.DONE) {
      return;
    }
    Side other = s == prover ? verifier : prover;
    if (state == State.TERMINATING && (s.end.clean() || s.end.refusedAsEnded())) {
      // Terminated after every frame was delivered both ways: wait for the other side's end too
      // (a side that was resuming when the terminate came may learn of it only as a refused rejoin).
      if (other.end == null) {
        return;
      }
      if (s.end.clean() && other.end.clean()) {
        finish(null);
        return;
      }
      Side refused = s.end.clean() ? other : s;
      fail(refused.name() + ": " + refused.end);
      return;
    }
    if (s.end.clean()) {
      fail(s.name() + " saw the session terminated before it was done");
    } else {
      fail(s.name() + ": " + s.end);
    }
  }

  /** Called every second by the workload: enforces the deadlines. */
  synchronized void checkDeadline(long now) {
    if (state == State.DONE || now < deadlineNanos) {
      return;
    }
    switch (state) {
      case CREATING, JOINING -> fail("not joined within 60 s (" + (prover.joined ? "" : "prover: " + prover.lastJoinFailure + " ")
          + (verifier.joined ? "" : "verifier: " + verifier.lastJoinFailure) + ")");
      case DRAINING -> fail(String.format(Locale.ROOT, "frames undelivered %d s after the last was sent (prover→verifier %d of %d, "
              + "verifier→prover %d of %d)", workload.config.deliveryTimeout.toSeconds(), prover.outgoing.delivered(),
          prover.outgoing.sent(), verifier.outgoing.delivered(), verifier.outgoing.sent()));
      case TERMINATING -> fail("no end 30 s after terminate (prover " + prover.end + ", verifier " + verifier.end + ")");
      default -> { }
    }
  }

  private void fail(String why) {
    if (state != State.DONE) {
      failure = why;
      finish(why);
    }
  }

  private void finish(String why) {
    state = State.DONE;
    if (ticks != null) {
      ticks.cancel(false);
    }
    long now = System.nanoTime();
    List<String> faults = workload.faultKinds(createdNanos, now);
    String allowedBecause = why == null ? null : workload.allowed(this, createdNanos, now);
    if (why != null) {
      // Leave nothing behind at the relays: end the session for whoever is still in it.
      for (Side s : List.of(prover, verifier)) {
        if (s.participant != null && s.end == null) {
          if (s.joined) {
            s.participant.terminate("soak: the session failed");
          } else {
            s.participant.close();
          }
        }
      }
    }
    workload.finished(this, faults, why, allowedBecause);
  }

  /** The two participants' ends, for reports. */
  synchronized String ends() {
    return (invite == null ? "" : "sid " + invite.sessionId() + " ") + "prover[" + prover.transport.label + "@relay-" + prover.relay + (prover.proxied ? " via proxy" : "") + "] "
        + (prover.end == null ? "open" : prover.end) + "; verifier[" + verifier.transport.label + "@relay-" + verifier.relay
        + (verifier.proxied ? " via proxy" : "") + "] " + (verifier.end == null ? "open" : verifier.end);
  }

  /** Both sides' traces (failure examples). */
  String traces() {
    return "prover: " + prover.traceText() + " || verifier: " + verifier.traceText();
  }

  /** The end reasons the relay reported to either side (e.g. RELAY_SHUTDOWN). */
  synchronized Set<String> endReasons() {
    Set<String> out = new LinkedHashSet<>();
    for (Side s : List.of(prover, verifier)) {
      if (s.end != null && s.end.reason() != null) {
        out.add(s.end.reason());
      }
    }
    return out;
  }

  /**
   * True when the session was over for the application anyway: the prover terminated after every
   * frame both ways was delivered and ended cleanly, and the other side, resuming at that moment,
   * had its rejoin refused because the session had ended.
   */
  synchronized boolean refusedRejoinAfterACompleteSession() {
    return prover.outgoing.complete() && verifier.outgoing.complete() && prover.end != null && verifier.end != null
        && (prover.end.clean() && verifier.end.refusedAsEnded() || verifier.end.clean() && prover.end.refusedAsEnded());
  }

  synchronized String failure() {
    return failure;
  }

  long createdNanos() {
    return createdNanos;
  }

  /** One direction's ledger, keyed by sender transport → receiver transport. */
  record Direction(String key, Ledger ledger) {}

  List<Direction> directions() {
    return List.of(new Direction(prover.transport.label + "→" + verifier.transport.label, prover.outgoing),
        new Direction(verifier.transport.label + "→" + prover.transport.label, verifier.outgoing));
  }
}
