package dev.checkmate.relay.security;

import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.JOINED;

import dev.checkmate.relay.proto.v1.CreateSessionRequest;
import dev.checkmate.relay.proto.v1.CreateSessionResponse;
import dev.checkmate.relay.proto.v1.ReceiveRequest;
import dev.checkmate.relay.proto.v1.RelayServiceGrpc;
import dev.checkmate.relay.proto.v1.SendRequest;
import dev.checkmate.relay.testing.ChildRelay;
import dev.checkmate.relay.testing.HonestSession;
import dev.checkmate.relay.testing.RawSocketClient;
import dev.checkmate.relay.testing.TestPeer;
import io.grpc.ManagedChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * The long form of {@link HostileClientIT}, on demand: every attack at once, for minutes, against
 * a relay in its own JVM with its production defaults, while an honest gRPC session and an honest
 * WebSocket session run. Every 5 s it prints the relay's heap after a full GC, its sockets and
 * descriptors, and the honest sessions' round trips and latency:
 *
 * <pre>mvn -B -pl relay-service -am verify -Dtest=HostileReport -Dhostile.report=true -Dhostile.seconds=120 \
 *     -Dsurefire.failIfNoSpecifiedTests=false -Dsurefire.redirectTestOutputToFile=false</pre>
 *
 * Attacks (each in its own thread, from its own loopback addresses): WebSocket ping floods that
 * never read; participants that never read while their peer sends; forged tickets and send tokens
 * on every entry point; connections held silent by the hundred from four addresses. It asserts
 * only that the relay survived and the honest sessions' hash chains held; the figures are for
 * reading.
 */
@EnabledIfSystemProperty(named = "hostile.report", matches = "true")
class HostileReport {
  private final AtomicBoolean stop = new AtomicBoolean();
  private final AtomicLong pings = new AtomicLong();
  private final AtomicLong notReading = new AtomicLong();
  private final AtomicLong forged = new AtomicLong();
  private final AtomicLong connections = new AtomicLong();

  @Test
  void report() throws Exception {
    int seconds = Integer.getInteger("hostile.seconds", 60);
    try (ChildRelay relay = ChildRelay.start(List.of("-Xmx512m", "-XX:+UseG1GC"), List.of())) {
      long heap0 = relay.heapAfterGcBytes();
      int sockets0 = relay.openSockets();
      System.out.printf("%nHOSTILE REPORT: %d s, relay pid %d, production defaults, -Xmx512m; baseline heap %d KiB, %d sockets%n",
          seconds, relay.pid(), heap0 / 1024, sockets0);
      HonestSession grpc = HonestSession.start(HonestSession.Wire.GRPC, relay.channel, relay.httpPort, Duration.ofMillis(20));
      HonestSession ws = HonestSession.start(HonestSession.Wire.WEBSOCKET, relay.channel, relay.httpPort, Duration.ofMillis(20));
      List<Thread> threads = new ArrayList<>();
      threads.add(loop("ping-flood", () -> pingFlood(relay)));
      for (int i = 0; i < 4; i++) {
        threads.add(loop("not-reading-" + i, () -> notReadingParticipant(relay)));
      }
      threads.add(loop("forged", () -> forgedTickets(relay)));
      threads.add(loop("connections", () -> connectionFlood(relay)));
      System.out.println("   t   heap-KiB  sockets  fds   pings  not-read  forged  conns | grpc rt  p50-µs  p99-µs | ws rt  p50-µs  p99-µs");
      long t0 = System.nanoTime();
      long maxHeap = 0;
      int maxSockets = 0;
      while (System.nanoTime() - t0 < seconds * 1_000_000_000L) {
        Thread.sleep(5000);
        long heap = relay.heapAfterGcBytes();
        int sockets = relay.openSockets();
        maxHeap = Math.max(maxHeap, heap);
        maxSockets = Math.max(maxSockets, sockets);
        List<Long> g = grpc.drainRtts();
        List<Long> w = ws.drainRtts();
        System.out.printf("%4d %9d %8d %4d %7d %9d %7d %6d | %7d %7d %7d | %5d %7d %7d%n",
            (System.nanoTime() - t0) / 1_000_000_000L, heap / 1024, sockets, relay.openDescriptors(),
            pings.get(), notReading.get(), forged.get(), connections.get(),
            g.size(), pct(g, 50), pct(g, 99), w.size(), pct(w, 50), pct(w, 99));
      }
      stop.set(true);
      for (Thread t : threads) {
        t.join(20_000);
      }
      HonestSession.Result gr = grpc.stop();
      HonestSession.Result wr = ws.stop();
      System.out.printf("peak heap after GC %d KiB (baseline %d KiB), peak sockets %d (baseline %d)%n",
          maxHeap / 1024, heap0 / 1024, maxSockets, sockets0);
      System.out.printf("honest gRPC: %s%nhonest WebSocket: %s%n%n", gr, wr);
      if (!relay.alive() || gr.failure() != null || wr.failure() != null || !gr.chainIntact() || !wr.chainIntact()) {
        throw new AssertionError("relay alive " + relay.alive() + "; grpc " + gr + "; ws " + wr);
      }
    }
  }

  private static long pct(List<Long> nanos, double p) {
    if (nanos.isEmpty()) {
      return -1;
    }
    List<Long> s = new ArrayList<>(nanos);
    Collections.sort(s);
    return s.get((int) Math.min(s.size() - 1, Math.max(0, Math.ceil(p / 100 * s.size()) - 1))) / 1000;
  }

  interface Attack {
    void once() throws Exception;
  }

  private Thread loop(String name, Attack attack) {
    Thread t = new Thread(() -> {
      while (!stop.get()) {
        try {
          attack.once();
        } catch (Exception | AssertionError e) {
          // an attack that fails (refused, closed) just goes again
        }
      }
    }, "hostile-" + name);
    t.setDaemon(true);
    t.start();
    return t;
  }

  private void pingFlood(ChildRelay relay) throws Exception {
    try (RawSocketClient c = HostileClients.webSocket("127.0.7.1", relay.httpPort)) {
      long end = System.nanoTime() + 2_000_000_000L;
      while (System.nanoTime() < end && !stop.get()) {
        if (c.offer(RawSocketClient.wsPing())) {
          pings.incrementAndGet();
        } else {
          Thread.sleep(1);
        }
      }
    }
  }

  private void notReadingParticipant(ChildRelay relay) throws Exception {
    CreateSessionResponse s = RelayServiceGrpc.newBlockingStub(relay.channel).createSession(CreateSessionRequest.getDefaultInstance());
    try (TestPeer prover = TestPeer.join(relay.channel, s.getProverTicket());
        RawSocketClient verifier = HostileClients.webSocket("127.0.7.2", relay.httpPort)) {
      prover.next(JOINED);
      verifier.offer(RawSocketClient.wsBinary(HostileClients.join(s.getVerifierTicket()).toByteArray()));
      notReading.incrementAndGet();
      while (!stop.get() && !prover.closed.isDone()) {
        if (prover.isReady()) {
          prover.sendData(new byte[16 * 1024]);
        } else {
          Thread.sleep(5);
        }
        if (prover.received.stream().anyMatch(m -> m.hasPeerLeft())) {
          return;
        }
      }
    }
  }

  private void forgedTickets(ChildRelay relay) throws Exception {
    String forgedTicket = "eyJhbGciOiJFZERTQSJ9.eyJzaWQiOiJ4In0." + "A".repeat(86);
    ManagedChannel ch = HostileClients.smallWindowChannel("127.0.7.3", relay.grpcPort);
    try {
      for (int i = 0; i < 50 && !stop.get(); i++) {
        try (TestPeer p = TestPeer.join(ch, forgedTicket)) {
          p.awaitClose();
        }
        try {
          RelayServiceGrpc.newBlockingStub(ch).receive(ReceiveRequest.newBuilder().setTicket(forgedTicket).build()).hasNext();
        } catch (RuntimeException refused) {
          // expected
        }
        try {
          RelayServiceGrpc.newBlockingStub(ch).send(SendRequest.newBuilder().setSendToken("guess" + i).build());
        } catch (RuntimeException refused) {
          // expected
        }
        forged.addAndGet(3);
      }
    } finally {
      ch.shutdownNow();
    }
  }

  private void connectionFlood(ChildRelay relay) throws Exception {
    List<RawSocketClient> held = new ArrayList<>();
    try {
      for (int a = 4; a <= 7 && !stop.get(); a++) {
        for (int i = 0; i < 250; i++) {
          held.add(RawSocketClient.connect("127.0.7." + a, i % 2 == 0 ? relay.httpPort : relay.grpcPort, 0));
          connections.incrementAndGet();
        }
      }
      Thread.sleep(15_000);
    } finally {
      held.forEach(RawSocketClient::close);
    }
  }
}
