package dev.checkmate.relay.security;

import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.JOINED;
import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.PEER_LEFT;
import static org.assertj.core.api.Assertions.assertThat;

import dev.checkmate.relay.proto.v1.CreateSessionRequest;
import dev.checkmate.relay.proto.v1.CreateSessionResponse;
import dev.checkmate.relay.proto.v1.ReceiveRequest;
import dev.checkmate.relay.proto.v1.RelayServiceGrpc;
import dev.checkmate.relay.proto.v1.SendRequest;
import dev.checkmate.relay.proto.v1.ServerMessage;
import dev.checkmate.relay.proto.v1.TerminateSessionRequest;
import dev.checkmate.relay.testing.ChildRelay;
import dev.checkmate.relay.testing.HonestSession;
import dev.checkmate.relay.testing.RawSocketClient;
import dev.checkmate.relay.testing.TestPeer;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The hostile-client suite: one relay in its own JVM (so its heap and descriptors are its own),
 * attacked over every wire — gRPC Connect, WebSocket, gRPC-Web on the HTTP port and on the gRPC
 * port — by clients that never read, flood keep-alives, hold or trickle connections, forge tickets
 * and send garbage, from loopback addresses other than the honest client's. For each attack:
 * the attacker gets the documented status or close code, the relay's heap after a full GC stays
 * within {@link #HEAP_BOUND} of where it started, its descriptors stay under its cap, and an honest
 * session running alongside completes with its hash chain intact.
 *
 * <p>The relay runs with short deadlines (2–3 s) so the suite stays short; the longer form is
 * {@code HostileReport}.
 */
@Timeout(120)
class HostileClientIT {
  /** What the attacks of one test may leave on the relay's heap, after a full GC, over its baseline. */
  static final long HEAP_BOUND = 32L * 1024 * 1024;
  static final int JOIN_RATE = 20;
  static final int FRAME = 8 * 1024;

  static ChildRelay relay;

  @BeforeAll
  static void start() throws Exception {
    relay = ChildRelay.start(List.of("-Xmx256m", "-XX:+UseG1GC"), List.of(
        "--max-connections-per-address", "100",
        "--max-join-attempts-per-second", Integer.toString(JOIN_RATE),
        "--max-frame-bytes", "16384",
        "--write-stall-timeout", "PT3S",
        "--http-request-timeout", "PT2S",
        "--http-idle-timeout", "PT3S",
        "--grpc-handshake-timeout", "PT2S",
        "--grpc-max-connection-idle", "PT3S"));
    // Warm up so the baselines below measure attacks, not class loading.
    try (HonestSession warm = HonestSession.start(HonestSession.Wire.GRPC, relay.channel, relay.httpPort, Duration.ZERO)) {
      Thread.sleep(500);
    }
    try (HonestSession warm = HonestSession.start(HonestSession.Wire.WEBSOCKET, relay.channel, relay.httpPort, Duration.ZERO)) {
      Thread.sleep(500);
    }
  }

  @AfterAll
  static void stop() throws Exception {
    relay.close();
  }

  private static CreateSessionResponse createSession() {
    return RelayServiceGrpc.newBlockingStub(relay.channel).createSession(CreateSessionRequest.getDefaultInstance());
  }

  /** Runs {@code attack} beside an honest session; checks the honest session and the relay's heap. */
  private static void alongsideHonestSession(HonestSession.Wire wire, ThrowingRunnable attack) throws Exception {
    long baseline = relay.heapAfterGcBytes();
    HonestSession honest = HonestSession.start(wire, relay.channel, relay.httpPort, Duration.ofMillis(20));
    HonestSession.Result result;
    try {
      attack.run();
    } finally {
      result = honest.stop();
    }
    long heap = relay.heapAfterGcBytes();
    System.out.printf("heap after GC %d KiB (baseline %d KiB), descriptors %d; honest %s: %s%n",
        heap / 1024, baseline / 1024, relay.openDescriptors(), wire, result);
    assertThat(result.failure()).as("honest session").isNull();
    assertThat(result.chainIntact()).isTrue();
    assertThat(result.roundTrips()).as("honest round trips during the attack").isGreaterThan(5);
    assertThat(heap - baseline).as("heap the attack left behind").isLessThan(HEAP_BOUND);
    assertThat(relay.alive()).isTrue();
  }

  interface ThrowingRunnable {
    void run() throws Exception;
  }

  // ---- keep-alive floods from clients that never read ----

  enum KeepAliveFlood { GRPC_HEARTBEATS, WEBSOCKET_HEARTBEATS, WEBSOCKET_PINGS_BEFORE_JOIN, WEBSOCKET_PINGS_AFTER_JOIN }

  @ParameterizedTest
  @EnumSource(KeepAliveFlood.class)
  void keepAliveFloodsFromClientsThatNeverReadAreCutOffWithTheirOwnReason(KeepAliveFlood flood) throws Exception {
    alongsideHonestSession(HonestSession.Wire.GRPC, () -> {
      int attackers = 8;
      if (flood == KeepAliveFlood.GRPC_HEARTBEATS) {
        ManagedChannel ch = HostileClients.smallWindowChannel("127.0.0.2", relay.grpcPort);
        try {
          List<HostileClients.NeverReadingCall> calls = new ArrayList<>();
          for (int i = 0; i < attackers; i++) {
            HostileClients.NeverReadingCall c = HostileClients.NeverReadingCall.connect(ch);
            c.send(HostileClients.join(createSession().getProverTicket()).toByteArray());
            calls.add(c);
          }
          long sent = floodFor(Duration.ofSeconds(3), () -> {
            long n = 0;
            for (HostileClients.NeverReadingCall c : calls) {
              n += c.trySend(HostileClients.HEARTBEAT.toByteArray()) ? 1 : 0;
            }
            return n;
          });
          System.out.println(flood + ": " + sent + " heartbeats sent");
          for (HostileClients.NeverReadingCall c : calls) {
            Status st = c.drainAndAwaitClose(10);
            assertThat(st.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
            assertThat(st.getDescription()).contains("heartbeats or pings per second");
          }
        } finally {
          ch.shutdownNow();
        }
        return;
      }
      List<RawSocketClient> sockets = new ArrayList<>();
      try {
        for (int i = 0; i < attackers; i++) {
          RawSocketClient ws = HostileClients.webSocket("127.0.0.2", relay.httpPort);
          if (flood != KeepAliveFlood.WEBSOCKET_PINGS_BEFORE_JOIN) {
            ws.offer(RawSocketClient.wsBinary(HostileClients.join(createSession().getProverTicket()).toByteArray()));
          }
          sockets.add(ws);
        }
        byte[] keepAlive = flood == KeepAliveFlood.WEBSOCKET_HEARTBEATS
            ? RawSocketClient.wsBinary(HostileClients.HEARTBEAT.toByteArray()) : RawSocketClient.wsPing();
        long sent = floodFor(Duration.ofSeconds(3), () -> {
          long n = 0;
          for (RawSocketClient ws : sockets) {
            try {
              n += ws.offer(keepAlive) ? 1 : 0;
            } catch (java.io.IOException closed) {
              // the relay closed it: expected
            }
          }
          return n;
        });
        System.out.println(flood + ": " + sent + " keep-alives sent");
        for (RawSocketClient ws : sockets) {
          byte[] got = ws.readUntilWebSocketClose(10_000);
          assertThat(RawSocketClient.wsCloseCode(got)).as("close code").isEqualTo(4429);
          assertThat(RawSocketClient.wsCloseReason(got)).contains("heartbeats or pings");
        }
      } finally {
        sockets.forEach(RawSocketClient::close);
      }
    });
  }

  interface Step {
    long run() throws Exception;
  }

  private static long floodFor(Duration d, Step step) throws Exception {
    long end = System.nanoTime() + d.toNanos();
    long total = 0;
    while (System.nanoTime() < end) {
      long n = step.run();
      total += n;
      if (n == 0) {
        Thread.sleep(1);
      }
    }
    return total;
  }

  // ---- a participant that never reads ----

  enum Wire { GRPC, WEBSOCKET, GRPC_WEB_HTTP, GRPC_WEB_GRPC }

  @ParameterizedTest
  @EnumSource(Wire.class)
  void aParticipantThatNeverReadsIsClosedAndItsPeerIsToldWhileTheRelayHoldsABoundedAmount(Wire wire) throws Exception {
    alongsideHonestSession(HonestSession.Wire.WEBSOCKET, () -> {
      CreateSessionResponse s = createSession();
      ManagedChannel grpc = HostileClients.smallWindowChannel("127.0.0.2", relay.grpcPort);
      RawSocketClient raw = null;
      HostileClients.NeverReadingCall call = null;
      try (TestPeer prover = TestPeer.join(relay.channel, s.getProverTicket())) {
        prover.next(JOINED);
        switch (wire) {
          case GRPC -> {
            call = HostileClients.NeverReadingCall.connect(grpc);
            call.send(HostileClients.join(s.getVerifierTicket()).toByteArray());
          }
          case WEBSOCKET -> {
            raw = HostileClients.webSocket("127.0.0.2", relay.httpPort);
            raw.offer(RawSocketClient.wsBinary(HostileClients.join(s.getVerifierTicket()).toByteArray()));
          }
          case GRPC_WEB_HTTP -> raw = HostileClients.grpcWebReceive("127.0.0.2", relay.httpPort, s.getVerifierTicket());
          case GRPC_WEB_GRPC -> call = HostileClients.NeverReadingCall.receive(grpc, s.getVerifierTicket());
        }
        // The prover sends as a well-behaved client does (while its stream is ready) until the relay
        // tells it its peer is gone; the verifier reads nothing and pings now and then.
        long sent = 0;
        ServerMessage left = null;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        long nextPing = 0;
        while (left == null && System.nanoTime() < deadline) {
          if (prover.isReady()) {
            prover.sendData(new byte[FRAME]);
            sent += FRAME;
          } else {
            Thread.sleep(2);
          }
          if (System.nanoTime() > nextPing) {
            nextPing = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(400);
            if (wire == Wire.GRPC) {
              call.trySend(HostileClients.HEARTBEAT.toByteArray());
            } else if (wire == Wire.WEBSOCKET) {
              raw.offer(RawSocketClient.wsPing());
            }
          }
          for (ServerMessage m; (m = prover.received.poll()) != null; ) {
            if (m.getKindCase() == PEER_LEFT) {
              left = m;
            }
          }
        }
        System.out.printf("%s: prover sent %d KiB before the relay let the reader go%n", wire, sent / 1024);
        assertThat(left).as("the prover is told its peer stopped reading").isNotNull();
        assertThat(left.getPeerLeft().getReconnecting()).isTrue();
        assertThat(left.getPeerLeft().getDetail()).contains("stopped reading");
        assertThat(prover.closed).as("the prover's own stream goes on").isNotDone();
        // What the prover got through is bounded by windows and buffers, not by time.
        assertThat(sent).isLessThan(4L * 1024 * 1024);
        if (call != null) {
          Status st = call.drainAndAwaitClose(10);
          assertThat(st.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
          assertThat(st.getDescription()).contains("read nothing the relay sent");
        } else {
          byte[] got = wire == Wire.WEBSOCKET ? raw.readUntilWebSocketClose(10_000) : readResponse(raw);
          if (wire == Wire.WEBSOCKET) {
            assertThat(RawSocketClient.wsCloseCode(got)).isEqualTo(4429);
          } else {
            assertThat(HostileClients.grpcWebStatus(got)).isEqualTo(Status.Code.RESOURCE_EXHAUSTED.value());
            assertThat(HostileClients.grpcWebMessage(got)).contains("read nothing the relay sent");
          }
        }
      } finally {
        grpc.shutdownNow();
        if (raw != null) {
          raw.close();
        }
      }
    });
  }

  // ---- forged tickets on every entry point ----

  enum EntryPoint { CONNECT, WEBSOCKET, RECEIVE_GRPC, RECEIVE_HTTP, TERMINATE_GRPC, SEND_GRPC, SEND_HTTP }

  private static final String FORGED = "eyJhbGciOiJFZERTQSIsImtpZCI6ImsxIn0.eyJzaWQiOiJ4In0." + "A".repeat(86);

  @ParameterizedTest
  @EnumSource(EntryPoint.class)
  void forgedTicketFloodsAreRefusedBeforeSignatureWorkOnEveryEntryPoint(EntryPoint entry) throws Exception {
    String from = "127.0.3." + (10 + entry.ordinal());
    alongsideHonestSession(HonestSession.Wire.GRPC, () -> {
      ManagedChannel ch = HostileClients.smallWindowChannel(from, relay.grpcPort);
      int attempts = 0;
      int checked = 0;
      int limited = 0;
      long t0 = System.nanoTime();
      try {
        // At least 200 attempts, and for at least 1.5 s (so the honest session runs alongside).
        int made = 0;
        while (made < 200 || System.nanoTime() - t0 < TimeUnit.MILLISECONDS.toNanos(1500)) {
          made++;
          Outcome o = attempt(entry, ch, from);
          if (o == Outcome.RATE_LIMITED) {
            limited++;
          } else if (o == Outcome.CHECKED) {
            checked++;
          }
        }
        attempts = made;
      } finally {
        ch.shutdownNow();
      }
      double seconds = (System.nanoTime() - t0) / 1e9;
      System.out.printf("%s: %d attempts in %.1f s from %s: %d checked, %d refused by the join-attempt budget%n",
          entry, attempts, seconds, from, checked, limited);
      assertThat(checked + limited).as("every attempt got a documented refusal").isEqualTo(attempts);
      // The budget: a burst of twice the rate, then the rate.
      assertThat((double) checked).isLessThanOrEqualTo(2.0 * JOIN_RATE + JOIN_RATE * seconds + 2);
    });
  }

  enum Outcome { CHECKED, RATE_LIMITED, OTHER }

  private static Outcome classify(Status.Code code, String description) {
    if (code == Status.Code.RESOURCE_EXHAUSTED && description != null && description.contains("too many join attempts")) {
      return Outcome.RATE_LIMITED;
    }
    return code == Status.Code.UNAUTHENTICATED || code == Status.Code.FAILED_PRECONDITION ? Outcome.CHECKED : Outcome.OTHER;
  }

  private static Outcome attempt(EntryPoint entry, ManagedChannel ch, String from) throws Exception {
    switch (entry) {
      case CONNECT -> {
        try (TestPeer p = TestPeer.join(ch, FORGED)) {
          Status st = p.awaitClose();
          return classify(st.getCode(), st.getDescription());
        }
      }
      case RECEIVE_GRPC -> {
        try {
          Iterator<ServerMessage> it = RelayServiceGrpc.newBlockingStub(ch)
              .receive(ReceiveRequest.newBuilder().setTicket(FORGED).build());
          it.hasNext();
          return Outcome.OTHER;
        } catch (StatusRuntimeException e) {
          return classify(e.getStatus().getCode(), e.getStatus().getDescription());
        }
      }
      case TERMINATE_GRPC -> {
        try {
          RelayServiceGrpc.newBlockingStub(ch).terminateSession(TerminateSessionRequest.newBuilder().setTicket(FORGED).build());
          return Outcome.OTHER;
        } catch (StatusRuntimeException e) {
          return classify(e.getStatus().getCode(), e.getStatus().getDescription());
        }
      }
      case SEND_GRPC -> {
        try {
          RelayServiceGrpc.newBlockingStub(ch).send(SendRequest.newBuilder().setSendToken("guessed-" + System.nanoTime()).build());
          return Outcome.OTHER;
        } catch (StatusRuntimeException e) {
          return classify(e.getStatus().getCode(), e.getStatus().getDescription());
        }
      }
      case WEBSOCKET -> {
        try (RawSocketClient ws = RawSocketClient.connect(from, relay.httpPort, 0)) {
          ws.upgradeToWebSocket("/ws");
          ws.offer(RawSocketClient.wsBinary(HostileClients.join(FORGED).toByteArray()));
          byte[] got = ws.readUntilWebSocketClose(10_000);
          int code = RawSocketClient.wsCloseCode(got);
          String reason = RawSocketClient.wsCloseReason(got);
          return code == 4429 && reason.contains("too many join attempts") ? Outcome.RATE_LIMITED
              : code == 4401 ? Outcome.CHECKED : Outcome.OTHER;
        }
      }
      default -> {
        boolean receive = entry == EntryPoint.RECEIVE_HTTP;
        byte[] body = receive ? ReceiveRequest.newBuilder().setTicket(FORGED).build().toByteArray()
            : SendRequest.newBuilder().setSendToken("guessed-" + System.nanoTime()).build().toByteArray();
        try (RawSocketClient http = RawSocketClient.connect(from, relay.httpPort, 0)) {
          http.offer(HostileClients.grpcWebRequest(receive ? "/relay.v1.RelayService/Receive" : "/relay.v1.RelayService/Send", body));
          byte[] got = readResponse(http);
          int code = HostileClients.grpcWebStatus(got);
          return code < 0 ? Outcome.OTHER : classify(Status.fromCodeValue(code).getCode(), HostileClients.grpcWebMessage(got));
        }
      }
    }
  }

  // ---- connections that never finish a request ----

  /** Each connection state's deadline, measured on one connection at a time: closed on time, not before. */
  @Test
  void everyConnectionStateHasADeadline() throws Exception {
    assertClosedWithin("a silent HTTP connection (request deadline 2 s)", 1500, 4000,
        () -> RawSocketClient.connect("127.0.4.9", relay.httpPort, 0), null);
    assertClosedWithin("a silent TCP connection on the gRPC port (handshake deadline 2 s)", 1500, 4000,
        () -> RawSocketClient.connect("127.0.4.9", relay.grpcPort, 0), null);
    // grpc-java's GOAWAY after the idle time waits up to 10 s for a PING answer this client never sends.
    assertClosedWithin("an HTTP/2 connection with a preface and no stream (idle 3 s + GOAWAY grace)", 2500, 14_500, () -> {
      RawSocketClient p = RawSocketClient.connect("127.0.4.9", relay.grpcPort, 0);
      p.offer(RawSocketClient.HTTP2_PREFACE);
      p.offer(RawSocketClient.HTTP2_EMPTY_SETTINGS);
      return p;
    }, null);
    assertClosedWithin("an idle keep-alive HTTP connection (idle 3 s)", 2500, 5500, () -> {
      RawSocketClient k = RawSocketClient.connect("127.0.4.9", relay.httpPort, 0);
      k.offer("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      return k;
    }, null);
    byte[] header = "GET /healthz HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".getBytes(StandardCharsets.US_ASCII);
    int[] pos = {0};
    assertClosedWithin("a client trickling one header byte every 200 ms (request deadline 2 s)", 1500, 4000,
        () -> RawSocketClient.connect("127.0.4.9", relay.httpPort, 0),
        c -> c.offer(new byte[] {header[pos[0]++ % header.length]}));
    assertClosedWithin("a half-open HTTP connection (FIN after part of a request)", 0, 1500, () -> {
      RawSocketClient h = RawSocketClient.connect("127.0.4.9", relay.httpPort, 0);
      h.offer("GET /healthz HTTP/1.1\r\nHost: x\r\n".getBytes(StandardCharsets.US_ASCII));
      h.shutdownOutput();
      return h;
    }, null);
  }

  interface Opener {
    RawSocketClient open() throws Exception;
  }

  interface Tick {
    void tick(RawSocketClient c) throws Exception;
  }

  private static void assertClosedWithin(String what, long minMillis, long maxMillis, Opener opener, Tick every200ms)
      throws Exception {
    try (RawSocketClient c = opener.open()) {
      long t0 = System.nanoTime();
      while (!c.closedByPeer() && System.nanoTime() - t0 < TimeUnit.MILLISECONDS.toNanos(maxMillis + 2000)) {
        if (every200ms != null) {
          try {
            every200ms.tick(c);
          } catch (java.io.IOException closing) {
            // the relay is closing it
          }
        }
        c.readFor(200);
      }
      long ms = (System.nanoTime() - t0) / 1_000_000;
      System.out.printf("%s: closed after %d ms%n", what, ms);
      assertThat(c.closedByPeer()).as(what + " closed").isTrue();
      assertThat(ms).as(what + " closed after (ms)").isBetween(minMillis, maxMillis);
    }
  }

  /** Connections by the thousand from several addresses: capped per address, all gone after the deadlines. */
  @Test
  void connectionFloodsFromSeveralAddressesAreCappedAndReaped() throws Exception {
    alongsideHonestSession(HonestSession.Wire.WEBSOCKET, () -> {
      int before = relay.openSockets();
      List<RawSocketClient> flood = new ArrayList<>();
      try {
        // 4 addresses × 150 connections to each port: at most 100 per address are held (both
        // ports count together), the rest are refused at accept.
        for (int a = 1; a <= 4; a++) {
          for (int i = 0; i < 150; i++) {
            flood.add(RawSocketClient.connect("127.0.4." + a, relay.httpPort, 0));
            flood.add(RawSocketClient.connect("127.0.4." + a, relay.grpcPort, 0));
          }
        }
        // Connections refused at accept are accepted by the kernel and then closed by the relay; give
        // those closes a moment (well under the 10 s request deadline that reaps the held ones).
        int peak = relay.openSockets();
        long settle = System.nanoTime();
        while (peak - before > 4 * 100 + 10 && System.nanoTime() - settle < TimeUnit.SECONDS.toNanos(2)) {
          Thread.sleep(50);
          peak = relay.openSockets();
        }
        System.out.printf("relay sockets: %d before, %d with %d connections attempted%n", before, peak, flood.size());
        assertThat(peak - before).as("connections the relay holds").isLessThanOrEqualTo(4 * 100 + 10);
        long t0 = System.nanoTime();
        int open = flood.size();
        while (open > 0 && System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(20)) {
          Thread.sleep(500);
          open = 0;
          for (RawSocketClient c : flood) {
            if (!c.closedByPeer()) {
              c.readFor(0);
              open += c.closedByPeer() ? 0 : 1;
            }
          }
        }
        System.out.printf("all %d closed by the relay after %d ms; relay sockets now %d%n", flood.size(),
            (System.nanoTime() - t0) / 1_000_000, relay.openSockets());
        assertThat(open).as("connections still open 20 s after the flood").isZero();
        assertThat(relay.openSockets() - before).as("sockets left behind").isLessThanOrEqualTo(5);
      } finally {
        flood.forEach(RawSocketClient::close);
      }
    });
  }

  @Test
  void pastTheTotalConnectionCapConnectionsAreRefusedAtAcceptAndHonestClientsGetInOnceDeadlinesFreeRoom() throws Exception {
    try (ChildRelay capped = ChildRelay.start(List.of("-Xmx128m"), List.of(
        "--max-connections", "100", "--http-request-timeout", "PT2S", "--grpc-handshake-timeout", "PT2S"))) {
      List<RawSocketClient> flood = new ArrayList<>();
      try {
        for (int i = 0; i < 150; i++) {
          flood.add(RawSocketClient.connect("127.0.5.1", capped.httpPort, 0));
        }
        Thread.sleep(300);
        int refused = 0;
        for (RawSocketClient c : flood) {
          c.readFor(1);
          refused += c.closedByPeer() ? 1 : 0;
        }
        System.out.println("refused at the total cap: " + refused + " of 150");
        assertThat(refused).isBetween(50, 60);
        Thread.sleep(2500); // the request deadline frees the held ones
        try (HonestSession honest = HonestSession.start(HonestSession.Wire.WEBSOCKET, capped.channel, capped.httpPort,
            Duration.ofMillis(10))) {
          long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
          while (honest.roundTrips() <= 5 && System.nanoTime() < until) {
            Thread.sleep(50);
          }
          HonestSession.Result r = honest.stop();
          assertThat(r.failure()).isNull();
          assertThat(r.roundTrips()).isGreaterThan(5);
        }
        assertThat(capped.logText()).contains("total connection cap reached");
      } finally {
        flood.forEach(RawSocketClient::close);
      }
    }
  }

  // ---- bytes that do not parse, messages too big, fragments ----

  enum Garbage { CONNECT, CREATE_SESSION, TERMINATE_SESSION, RECEIVE_GRPC, SEND_GRPC, WEBSOCKET, RECEIVE_HTTP, SEND_HTTP }

  private static final byte[] GARBAGE = {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x0f, 0x0a};

  @ParameterizedTest
  @EnumSource(Garbage.class)
  void bytesThatDoNotParseAreInvalidArgumentWithAClearMessageOnEveryEntryPoint(Garbage entry) throws Exception {
    switch (entry) {
      case WEBSOCKET -> {
        try (RawSocketClient ws = HostileClients.webSocket("127.0.6.1", relay.httpPort)) {
          ws.offer(RawSocketClient.wsBinary(GARBAGE));
          byte[] got = ws.readUntilWebSocketClose(10_000);
          assertThat(RawSocketClient.wsCloseCode(got)).isEqualTo(4400);
          assertThat(RawSocketClient.wsCloseReason(got)).contains("not a valid ClientMessage");
        }
      }
      case RECEIVE_HTTP, SEND_HTTP -> {
        try (RawSocketClient http = RawSocketClient.connect("127.0.6.1", relay.httpPort, 0)) {
          http.offer(HostileClients.grpcWebRequest(entry == Garbage.RECEIVE_HTTP
              ? "/relay.v1.RelayService/Receive" : "/relay.v1.RelayService/Send", GARBAGE));
          byte[] got = readResponse(http);
          assertThat(HostileClients.grpcWebStatus(got)).isEqualTo(Status.Code.INVALID_ARGUMENT.value());
          assertThat(HostileClients.grpcWebMessage(got)).contains("not a valid");
        }
      }
      default -> {
        io.grpc.MethodDescriptor<?, ?> method = switch (entry) {
          case CONNECT -> RelayServiceGrpc.getConnectMethod();
          case CREATE_SESSION -> RelayServiceGrpc.getCreateSessionMethod();
          case TERMINATE_SESSION -> RelayServiceGrpc.getTerminateSessionMethod();
          case RECEIVE_GRPC -> RelayServiceGrpc.getReceiveMethod();
          default -> RelayServiceGrpc.getSendMethod();
        };
        ManagedChannel ch = HostileClients.smallWindowChannel("127.0.6.1", relay.grpcPort);
        try {
          HostileClients.NeverReadingCall call = new HostileClients.NeverReadingCall(ch, HostileClients.raw(method));
          call.send(GARBAGE);
          if (entry != Garbage.CONNECT) {
            call.call.halfClose();
          }
          Status st = call.drainAndAwaitClose(10);
          assertThat(st.getCode()).as(st.toString()).isEqualTo(Status.Code.INVALID_ARGUMENT);
          assertThat(st.getDescription()).contains("not a valid");
        } finally {
          ch.shutdownNow();
        }
      }
    }
  }

  @Test
  void webSocketMessagesAreReassembledFromFragmentsAndCutOffPastTheLimit() throws Exception {
    CreateSessionResponse s = createSession();
    try (RawSocketClient ws = HostileClients.webSocket("127.0.6.2", relay.httpPort)) {
      byte[] join = HostileClients.join(s.getProverTicket()).toByteArray();
      int third = join.length / 3;
      ws.offer(RawSocketClient.wsFrame(2, java.util.Arrays.copyOfRange(join, 0, third), true));
      ws.offer(RawSocketClient.wsFrame(0, java.util.Arrays.copyOfRange(join, third, 2 * third), true));
      ws.offer(RawSocketClient.wsFrame(0, java.util.Arrays.copyOfRange(join, 2 * third, join.length), false));
      byte[] joined = ws.readFor(1000);
      assertThat(new String(joined, StandardCharsets.ISO_8859_1)).as("Joined carries the session id").contains(s.getSessionId());
      // 16 KiB frames: a message far above the limit is cut off unread (1009), even in fragments.
      byte[] chunk = new byte[32 * 1024];
      for (int i = 0; i < 4; i++) {
        ws.offer(RawSocketClient.wsFrame(i == 0 ? 2 : 0, chunk, true));
      }
      byte[] got = ws.readUntilWebSocketClose(10_000);
      assertThat(RawSocketClient.wsCloseCode(got)).isEqualTo(1009);
    }
  }

  /**
   * Reads a gRPC-Web response until its trailers frame (the connection may stay open: keep-alive);
   * returns the response's last bytes, which hold the trailers.
   */
  private static byte[] readResponse(RawSocketClient http) throws Exception {
    java.io.ByteArrayOutputStream all = new java.io.ByteArrayOutputStream();
    long deadline = System.currentTimeMillis() + 10_000;
    while (System.currentTimeMillis() < deadline && !http.closedByPeer()) {
      byte[] chunk = http.readFor(20);
      all.write(chunk);
      if (chunk.length > 0) {
        byte[] sofar = all.toByteArray();
        byte[] tail = java.util.Arrays.copyOfRange(sofar, Math.max(0, sofar.length - 512), sofar.length);
        if (HostileClients.grpcWebStatus(tail) >= 0) {
          return tail; // keep-alive: the response is complete with the connection still open
        }
      }
    }
    byte[] sofar = all.toByteArray();
    return java.util.Arrays.copyOfRange(sofar, Math.max(0, sofar.length - 512), sofar.length);
  }
}
