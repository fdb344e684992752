package dev.checkmate.relay.soak;

import dev.checkmate.relay.client.SessionInvite;
import dev.checkmate.relay.soak.Participant.Transport;
import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * Real Chromium pages in the soak: client-web's browser-test page ({@code www/test.html}, the
 * browser SDK bundled, served by the relays' HTTP port) opened through client-web's
 * {@code test/browser.mjs} (headless Chromium via playwright-core), as the verifier of a session
 * whose prover is a Java SDK participant. The page says hello and echoes every frame; the prover's
 * ledger checks the echoes ("echo:" + each of its frames, once, in order). A few pages at a time,
 * each replaced when its session ends.
 */
final class BrowserSessions implements AutoCloseable {
  private final Workload workload;
  private final Path clientWeb;
  private final Path log;
  private final AtomicBoolean running = new AtomicBoolean(true);
  private final AtomicInteger started = new AtomicInteger();
  private final Thread[] loops;
  private final java.util.Set<Process> browsers = java.util.concurrent.ConcurrentHashMap.newKeySet();

  BrowserSessions(Workload workload, Path clientWeb, Path log, int pages) {
    this.workload = workload;
    this.clientWeb = clientWeb;
    this.log = log;
    this.loops = new Thread[pages];
    for (int i = 0; i < pages; i++) {
      int page = i;
      loops[i] = new Thread(() -> loop(page), "soak-chromium-" + i);
      loops[i].setDaemon(true);
      loops[i].start();
    }
  }

  static boolean available() {
    return java.nio.file.Files.isExecutable(Path.of(System.getenv().getOrDefault("CHROMIUM_PATH", "/usr/bin/chromium")));
  }

  private void loop(int page) {
    while (running.get()) {
      long id = 1_000_000_000L + started.incrementAndGet();
      try {
        one(id, page);
      } catch (InterruptedException e) {
        return;
      } catch (Exception e) {
        workload.tally.failed("grpc/chromium", List.of(), "browser session error: " + e.getClass().getSimpleName(), null,
            "session " + id + ": " + e);
      }
    }
  }

  private void one(long id, int page) throws Exception {
    Random r = new Random(workload.config.seed * 7919 + id);
    int relays = workload.cluster.relays.size();
    int proverRelay = r.nextInt(relays);
    int pageRelay = r.nextBoolean() ? proverRelay : (proverRelay + 1) % relays;
    Transport transport = page % 2 == 0 ? Transport.CHROMIUM_WEBSOCKET : Transport.CHROMIUM_GRPC_WEB;
    int frames = (int) Math.round((8 + r.nextInt(20)) * workload.config.framesPerSecond);
    String kind = "grpc/" + transport.label + (proverRelay == pageRelay ? " same-node" : " cross-node");
    long created = System.nanoTime();
    workload.tally.sessionsStarted.increment();

    SessionInvite invite = null;
    int createdAt = proverRelay;
    for (int attempt = 0; invite == null; attempt++) {
      try {
        createdAt = (proverRelay + attempt) % relays;
        invite = workload.issuer(createdAt).createSession(Duration.ofMinutes(3));
      } catch (RuntimeException e) {
        if (attempt > 100) {
          throw e;
        }
        Thread.sleep(300);
      }
    }
    Ledger sent = new Ledger(id, Frames.Direction.PROVER_TO_VERIFIER);
    Ledger echoes = new Ledger(id, Frames.Direction.PROVER_TO_VERIFIER, "echo:");
    CompletableFuture<Void> hello = new CompletableFuture<>();
    CompletableFuture<Participant.End> proverEnd = new CompletableFuture<>();
    Participant.Events events = new Participant.Events() {
      @Override
      public void joined(boolean peerPresent) {}

      @Override
      public void joinFailed(String reason) {
        proverEnd.complete(new Participant.End(null, "JoinFailed", "", reason));
      }

      @Override
      public void peerPresent(boolean present) {}

      @Override
      public void frame(byte[] payload) {
        if (!hello.isDone() && new String(payload, StandardCharsets.US_ASCII).equals("hello from the browser")) {
          hello.complete(null);
          return;
        }
        echoes.delivered(payload); // anomalies are counted in the ledger
      }

      @Override
      public void reconnecting(String cause) {
        workload.tally.reconnects.increment();
      }

      @Override
      public void resumed(double millis) {
        long now = System.nanoTime();
        workload.tally.resumed(Transport.GRPC.label, workload.faultKinds((long) (now - millis * 1e6), now), millis);
      }

      @Override
      public void ended(Participant.End end) {
        proverEnd.complete(end);
      }

      @Override
      public void dropped(int n) {
        workload.tally.droppedSends.add(n);
      }
    };
    // At the relay that answered CreateSession: the planned one may be down (killed, draining), and
    // the SDK's first join goes to its first target only.
    Participant prover = workload.javaPeers.join(createdAt, invite.proverTicket(), 0, events);
    String failure = null;
    String result = "";
    Process browser = null;
    CompletableFuture<String> out = null;
    List<String> attempts = new java.util.ArrayList<>();
    try {
      // The page is served by a relay's HTTP port: one that is down (killed, draining) refuses the
      // page itself, and Chromium gives up. A user would be sent to another node by the load
      // balancer; the harness loads the page from the next relay (the SDK then joins there).
      for (int attempt = 0; attempt < relays && failure == null && !hello.isDone(); attempt++) {
        int relay = (pageRelay + attempt) % relays;
        if (attempt > 0) {
          workload.tally.setupRetries.increment();
          kill(browser);
          browsers.remove(browser);
        }
        String url = workload.cluster.httpEndpoint(relay, false) + "/test.html#ticket=" + enc(invite.verifierTicket())
            + "&transport=" + (transport == Transport.CHROMIUM_WEBSOCKET ? "websocket" : "grpc-web") + "&session="
            + enc(invite.sessionId());
        browser = new ProcessBuilder("node", "test/browser.mjs", url)
            .directory(clientWeb.toFile())
            .redirectError(ProcessBuilder.Redirect.appendTo(log.toFile()))
            .start();
        browsers.add(browser);
        Process started = browser;
        out = CompletableFuture.supplyAsync(() -> {
          try {
            return new String(started.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
          } catch (IOException e) {
            return "";
          }
        });
        try {
          CompletableFuture.anyOf(hello, browser.onExit(), proverEnd).get(60, TimeUnit.SECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
          failure = "no hello from the page within 60 s";
        }
        if (!hello.isDone() && proverEnd.isDone()) {
          failure = "prover: " + proverEnd.getNow(null);
          break;
        }
        if (!hello.isDone() && !browser.isAlive()) {
          String pageOut = out.get(10, TimeUnit.SECONDS);
          attempts.add("relay-" + relay + ": " + (pageOut.isEmpty() ? "page not loaded" : pageOut.length() > 200 ? pageOut.substring(0, 200) : pageOut));
        }
      }
      if (failure == null && !hello.isDone()) {
        failure = "the page did not join through any relay (" + String.join("; ", attempts) + ")";
      }
      if (failure == null) {
        workload.tally.setup(System.nanoTime() - created, !workload.faultKinds(created, System.nanoTime()).isEmpty());
      }
      if (failure == null) {
        long period = Math.round(1000 / workload.config.framesPerSecond);
        for (int i = 0; i < frames && !proverEnd.isDone() && running.get(); i++) {
          prover.send(sent.next(false));
          Thread.sleep(period);
        }
        echoes.expect(sent.sent());
        long deadline = System.nanoTime() + workload.config.deliveryTimeout.toNanos();
        while (!echoes.complete() && !proverEnd.isDone() && System.nanoTime() < deadline) {
          Thread.sleep(50);
        }
        if (!echoes.complete()) {
          failure = proverEnd.isDone() ? "prover: " + proverEnd.getNow(null)
              : "echoes undelivered (" + echoes.delivered() + " of " + echoes.sent() + ")";
        } else {
          prover.terminate("soak page session done");
          Participant.End end = proverEnd.get(30, TimeUnit.SECONDS);
          if (!end.clean()) {
            failure = "prover: " + end;
          }
        }
      }
      if (failure == null && !browser.waitFor(90, TimeUnit.SECONDS)) {
        failure = "the page did not finish";
      }
      if (failure != null) {
        kill(browser); // its session failed: no need to wait for the page to notice
      }
      try {
        result = out.get(10, TimeUnit.SECONDS);
      } catch (java.util.concurrent.TimeoutException e) {
        result = "";
      }
      if (failure == null && !(result.contains("\"ok\":true") && result.contains("\"reason\":\"TERMINATED\""))) {
        failure = "page result: " + (result.length() > 300 ? result.substring(0, 300) : result);
      }
    } finally {
      if (browser != null) {
        kill(browser);
        browsers.remove(browser);
      }
      if (failure != null) {
        prover.terminate("soak: the page session failed");
      }
    }
    echoes.expect(sent.sent());
    long now = System.nanoTime();
    List<String> faults = workload.faultKinds(created, now);
    String direction = Transport.GRPC.label + "→" + transport.label + "→" + Transport.GRPC.label + " (echo)";
    if (failure == null) {
      workload.tally.frames(direction, faults, echoes, false);
      workload.tally.completed(kind, faults);
    } else {
      java.util.Set<String> endReasons = new java.util.HashSet<>();
      Participant.End end = proverEnd.getNow(null);
      if (end != null && end.reason() != null) {
        endReasons.add(end.reason());
      }
      if (result.contains("\"RELAY_SHUTDOWN\"") || failure.contains("RELAY_SHUTDOWN")) {
        endReasons.add("RELAY_SHUTDOWN");
      }
      String allowed = Workload.drainedAway(endReasons, faults);
      if (allowed == null && echoes.complete() && end != null && end.clean() && result.contains("\"FAILED_PRECONDITION\"")
          && result.contains("already ended")) {
        allowed = Workload.REFUSED_REJOIN_AFTER_A_COMPLETE_SESSION; // the page was resuming when the prover terminated
      }
      workload.tally.frames(direction, faults, echoes, allowed != null);
      workload.tally.failed(kind, faults, Workload.reasonOf(failure), allowed, "session " + id + ", faults " + faults + ": " + failure);
    }
  }

  private static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }

  @Override
  public void close() throws InterruptedException {
    running.set(false);
    for (Thread t : loops) {
      t.join(150_000);
    }
    for (Process p : browsers) {
      kill(p);
    }
  }

  /** The node process and the Chromium it started, by their PIDs. */
  private static void kill(Process p) {
    p.descendants().forEach(ProcessHandle::destroyForcibly);
    p.destroyForcibly();
  }
}
