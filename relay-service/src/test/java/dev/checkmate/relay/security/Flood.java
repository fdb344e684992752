package dev.checkmate.relay.security;

import dev.checkmate.relay.proto.v1.ClientMessage;
import dev.checkmate.relay.proto.v1.CreateSessionResponse;
import dev.checkmate.relay.proto.v1.Join;
import dev.checkmate.relay.proto.v1.RelayServiceGrpc;
import dev.checkmate.relay.proto.v1.ServerMessage;
import dev.checkmate.relay.testing.RawSocketClient;
import dev.checkmate.relay.testing.TestPeer;
import io.grpc.Attributes;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A bounded abuse generator for DoS tests, loopback only: from one source address (e.g.
 * 127.0.0.2) it opens Connect streams with forged tickets, streams that never send a Join, and
 * fresh TCP connections, as fast as a bounded number of in-flight calls allows, until closed; with
 * an HTTP port also WebSockets that join with forged tickets, bytes that are not HTTP and
 * connections that never send a request. Honest clients elsewhere use another source address
 * (127.0.0.1). Public for the soak harness (relay-soak).
 */
public final class Flood implements AutoCloseable {
  public final AtomicLong bogusJoins = new AtomicLong();
  public final AtomicLong silentStreams = new AtomicLong();
  public final AtomicLong connections = new AtomicLong();
  /** WebSockets that sent a Join with a forged ticket (HTTP port). */
  public final AtomicLong webSocketBogusJoins = new AtomicLong();
  /** Connections to the HTTP port that sent garbage or nothing. */
  public final AtomicLong junkConnections = new AtomicLong();
  private final int port;
  private final String fromIp;
  private final AtomicBoolean stop = new AtomicBoolean();
  private final List<Thread> threads = new ArrayList<>();
  private final List<ManagedChannel> shared = new ArrayList<>();

  Flood(int port, String fromIp, int streamThreads) {
    this(port, -1, fromIp, streamThreads);
  }

  /** The gRPC flood on {@code grpcPort} and, unless {@code httpPort} is negative, the WebSocket / junk one on it. */
  public Flood(int grpcPort, int httpPort, String fromIp, int streamThreads) {
    this.port = grpcPort;
    this.fromIp = fromIp;
    for (int i = 0; i < 2; i++) {
      shared.add(channelFrom(fromIp, grpcPort));
    }
    for (int i = 0; i < streamThreads; i++) {
      ManagedChannel ch = shared.get(i % shared.size());
      threads.add(start("flood-streams-" + i, () -> streams(ch)));
    }
    threads.add(start("flood-connections", this::connections));
    if (httpPort >= 0) {
      threads.add(start("flood-web", () -> web(httpPort)));
    }
  }

  /** A plaintext channel whose TCP connections come from {@code localIp} (any 127.x.y.z works on Linux). */
  static ManagedChannel channelFrom(String localIp, int port) {
    return NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext()
        .localSocketPicker(new NettyChannelBuilder.LocalSocketPicker() {
          @Override
          public SocketAddress createSocketAddress(SocketAddress remote, Attributes attrs) {
            return new InetSocketAddress(localIp, 0);
          }
        })
        .build();
  }

  private Thread start(String name, Runnable r) {
    Thread t = new Thread(r, name);
    t.setDaemon(true);
    t.start();
    return t;
  }

  private static String bogusTicket() {
    char[] c = new char[380];
    Arrays.fill(c, 'A');
    c[40] = '.';
    c[300] = '.';
    c[ThreadLocalRandom.current().nextInt(41, 299)] = 'B';
    return new String(c);
  }

  private void streams(ManagedChannel ch) {
    Semaphore inFlight = new Semaphore(64);
    long n = 0;
    while (!stop.get()) {
      try {
        if (!inFlight.tryAcquire(100, TimeUnit.MILLISECONDS)) {
          continue;
        }
      } catch (InterruptedException e) {
        return;
      }
      boolean silent = (n++ % 5) == 0;
      ClientCallStreamObserver<ClientMessage>[] out = new ClientCallStreamObserver[1];
      RelayServiceGrpc.newStub(ch).connect(new ClientResponseObserver<ClientMessage, ServerMessage>() {
        @Override
        public void beforeStart(ClientCallStreamObserver<ClientMessage> s) {
          out[0] = s;
        }

        @Override
        public void onNext(ServerMessage value) {}

        @Override
        public void onError(Throwable t) {
          inFlight.release();
        }

        @Override
        public void onCompleted() {
          inFlight.release();
        }
      });
      if (silent) {
        silentStreams.incrementAndGet(); // never sends a Join: the hello timeout must reap it
      } else {
        out[0].onNext(ClientMessage.newBuilder().setJoin(Join.newBuilder().setTicket(bogusTicket())).build());
        bogusJoins.incrementAndGet();
      }
      pause(1);
    }
  }

  private void connections() {
    while (!stop.get()) {
      ManagedChannel ch = channelFrom(fromIp, port);
      try (TestPeer p = TestPeer.join(ch, bogusTicket())) {
        connections.incrementAndGet();
        try {
          p.closed.get(1, TimeUnit.SECONDS);
        } catch (Exception ignored) {
          // refused at accept, or slow: either way next
        }
      }
      ch.shutdownNow();
      pause(5);
    }
  }

  /**
   * Round robin on the HTTP port: a WebSocket that joins with a forged ticket (refused with 4401), a
   * connection that sends bytes that are not HTTP, and one that sends nothing (the request timeout
   * reaps it; a few are held open at a time, the oldest closed first).
   */
  private void web(int httpPort) {
    java.util.ArrayDeque<RawSocketClient> silent = new java.util.ArrayDeque<>();
    long n = 0;
    byte[] junk = new byte[512];
    while (!stop.get()) {
      try {
        switch ((int) (n++ % 3)) {
          case 0 -> {
            try (RawSocketClient ws = RawSocketClient.connect(fromIp, httpPort, 0)) {
              ws.upgradeToWebSocket("/ws");
              ws.offer(RawSocketClient.wsBinary(ClientMessage.newBuilder()
                  .setJoin(Join.newBuilder().setTicket(bogusTicket())).build().toByteArray()));
              ws.readUntilWebSocketClose(1000);
              webSocketBogusJoins.incrementAndGet();
            }
          }
          case 1 -> {
            try (RawSocketClient c = RawSocketClient.connect(fromIp, httpPort, 0)) {
              ThreadLocalRandom.current().nextBytes(junk);
              c.offer(junk);
              c.readUntilClosed(1000);
              junkConnections.incrementAndGet();
            }
          }
          default -> {
            silent.add(RawSocketClient.connect(fromIp, httpPort, 0));
            junkConnections.incrementAndGet();
            if (silent.size() > 32) {
              silent.poll().close();
            }
          }
        }
      } catch (java.io.IOException e) {
        // refused or reset: the relay defends itself; go on
      }
      pause(2);
    }
    silent.forEach(RawSocketClient::close);
  }

  private static void pause(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Stops every flood thread and closes what they opened. */
  @Override
  public void close() throws InterruptedException {
    stop.set(true);
    for (Thread t : threads) {
      t.join(5000);
    }
    for (ManagedChannel ch : shared) {
      ch.shutdownNow();
      ch.awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  /** One honest session: create, pair, {@code rounds} echo round trips; returns the RTTs in nanoseconds. */
  static long[] honestSession(ManagedChannel ch, int rounds, Duration timeout) throws Exception {
    CreateSessionResponse s = RelayServiceGrpc.newBlockingStub(ch).withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS)
        .createSession(dev.checkmate.relay.proto.v1.CreateSessionRequest.getDefaultInstance());
    long[] rtts = new long[rounds];
    try (TestPeer p = TestPeer.join(ch, s.getProverTicket())) {
      p.next(ServerMessage.KindCase.JOINED, timeout);
      try (TestPeer v = TestPeer.join(ch, s.getVerifierTicket())) {
        v.next(ServerMessage.KindCase.JOINED, timeout);
        p.next(ServerMessage.KindCase.PEER_JOINED, timeout);
        roundTrips(p, v, rtts, timeout);
      }
    }
    return rtts;
  }

  private static void roundTrips(TestPeer p, TestPeer v, long[] rtts, Duration timeout) throws Exception {
    int rounds = rtts.length;
    {
      for (int i = 0; i < rounds; i++) {
        long t0 = System.nanoTime();
        p.sendData(new byte[] {(byte) i});
        v.next(ServerMessage.KindCase.DATA, timeout);
        v.sendData(new byte[] {(byte) i});
        p.next(ServerMessage.KindCase.DATA, timeout);
        rtts[i] = System.nanoTime() - t0;
      }
      p.terminate("done");
      v.next(ServerMessage.KindCase.SESSION_ENDED, timeout);
    }
  }
}
