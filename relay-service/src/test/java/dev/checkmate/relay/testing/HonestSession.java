package dev.checkmate.relay.testing;

import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.JOINED;

import dev.checkmate.relay.proto.v1.CreateSessionRequest;
import dev.checkmate.relay.proto.v1.CreateSessionResponse;
import dev.checkmate.relay.proto.v1.RelayServiceGrpc;
import dev.checkmate.relay.proto.v1.ServerMessage;
import io.grpc.ManagedChannel;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * An honest session that runs beside an attack: a prover and a verifier on the chosen transport
 * exchange round trips in a background thread; every frame carries the next link of a SHA-256 hash
 * chain, which the receiver checks, so one lost, duplicated, reordered or altered frame breaks it.
 * Records each round trip's time.
 */
public final class HonestSession implements AutoCloseable {
  /** Which wire the two participants use. */
  public enum Wire { GRPC, WEBSOCKET }

  /** What the session saw. */
  public record Result(int roundTrips, boolean chainIntact, String failure, List<Long> rttNanos) {
    public long percentileMicros(double p) {
      if (rttNanos.isEmpty()) {
        return -1;
      }
      List<Long> sorted = new ArrayList<>(rttNanos);
      Collections.sort(sorted);
      int i = (int) Math.min(sorted.size() - 1, Math.max(0, Math.ceil(p / 100.0 * sorted.size()) - 1));
      return sorted.get(i) / 1000;
    }

    @Override
    public String toString() {
      return roundTrips + " round trips, chain " + (chainIntact ? "intact" : "BROKEN") + ", rtt p50 "
          + percentileMicros(50) + " µs, p99 " + percentileMicros(99) + " µs" + (failure == null ? "" : ", failure: " + failure);
    }
  }

  private final Thread thread;
  private final AtomicBoolean stop = new AtomicBoolean();
  private final List<Long> rtts = Collections.synchronizedList(new ArrayList<>());
  private volatile int roundTrips;
  private volatile boolean chainIntact = true;
  private volatile String failure;

  /** Where one participant connects: a relay's gRPC channel and HTTP port. */
  public record Endpoint(ManagedChannel grpc, int httpPort) {}

  private HonestSession(Wire wire, Endpoint prover, Endpoint verifier, Duration pause) {
    this.thread = new Thread(() -> run(wire, prover, verifier, pause), "honest-session");
    this.thread.setDaemon(true);
    this.thread.start();
  }

  /** Starts round trips now (one every {@code pause}) over {@code wire}; sessions are created over {@code grpc}. */
  public static HonestSession start(Wire wire, ManagedChannel grpc, int httpPort, Duration pause) {
    Endpoint one = new Endpoint(grpc, httpPort);
    return new HonestSession(wire, one, one, pause);
  }

  /**
   * The same with the prover and the verifier on different relays (cross-node in a cluster); the
   * session is created at the prover's relay.
   */
  public static HonestSession across(Wire wire, Endpoint prover, Endpoint verifier, Duration pause) {
    return new HonestSession(wire, prover, verifier, pause);
  }

  private interface Peer extends AutoCloseable {
    void send(byte[] payload) throws Exception;

    byte[] receive() throws Exception;

    @Override
    void close();
  }

  private void run(Wire wire, Endpoint p, Endpoint v, Duration pause) {
    try {
      CreateSessionResponse s = RelayServiceGrpc.newBlockingStub(p.grpc()).createSession(CreateSessionRequest.getDefaultInstance());
      try (Peer prover = peer(wire, p.grpc(), p.httpPort(), s.getProverTicket());
          Peer verifier = peer(wire, v.grpc(), v.httpPort(), s.getVerifierTicket())) {
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        byte[] sent = new byte[32];
        byte[] expected = new byte[32];
        while (!stop.get()) {
          sent = sha.digest(sent);
          long t0 = System.nanoTime();
          prover.send(sent);
          expected = sha.digest(expected);
          byte[] got = verifier.receive();
          if (!Arrays.equals(got, expected)) {
            chainIntact = false;
            failure = "verifier received a frame that breaks the hash chain at round trip " + roundTrips;
            return;
          }
          verifier.send(got);
          byte[] echo = prover.receive();
          if (!Arrays.equals(echo, sent)) {
            chainIntact = false;
            failure = "prover received a frame that breaks the hash chain at round trip " + roundTrips;
            return;
          }
          rtts.add(System.nanoTime() - t0);
          roundTrips++;
          Thread.sleep(pause.toMillis());
        }
      }
    } catch (Throwable t) {
      if (!stop.get()) {
        failure = t.toString();
      }
    }
  }

  private static Peer peer(Wire wire, ManagedChannel grpc, int httpPort, String ticket) throws Exception {
    if (wire == Wire.GRPC) {
      TestPeer p = TestPeer.join(grpc, ticket);
      p.next(JOINED);
      return new Peer() {
        @Override
        public void send(byte[] payload) {
          p.sendData(payload);
        }

        @Override
        public byte[] receive() throws Exception {
          return data(p.received);
        }

        @Override
        public void close() {
          p.close();
        }
      };
    }
    WsPeer p = WsPeer.join(httpPort, ticket);
    p.next(JOINED);
    return new Peer() {
      @Override
      public void send(byte[] payload) throws Exception {
        p.sendData(payload).get();
      }

      @Override
      public byte[] receive() throws Exception {
        return data(p.received);
      }

      @Override
      public void close() {
        p.close();
      }
    };
  }

  /** The next frame's payload; the peer's arrival and keep-alives are skipped, anything else fails. */
  private static byte[] data(java.util.concurrent.BlockingQueue<ServerMessage> received) throws InterruptedException {
    long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
    while (true) {
      ServerMessage m = received.poll(Math.max(0, deadline - System.nanoTime()), java.util.concurrent.TimeUnit.NANOSECONDS);
      if (m == null) {
        throw new AssertionError("no frame within 10 s");
      }
      switch (m.getKindCase()) {
        case DATA -> {
          return m.getData().getPayload().toByteArray();
        }
        case PEER_JOINED, HEARTBEAT -> { }
        default -> throw new AssertionError("expected a frame but got " + m.getKindCase() + ": " + m);
      }
    }
  }

  /** Round trips completed so far (for reports over time). */
  public int roundTrips() {
    return roundTrips;
  }

  /** RTTs recorded since the last call (for reports over time). */
  public List<Long> drainRtts() {
    synchronized (rtts) {
      List<Long> out = new ArrayList<>(rtts);
      rtts.clear();
      return out;
    }
  }

  /** Stops the round trips and returns what the session saw. */
  public Result stop() throws InterruptedException {
    stop.set(true);
    thread.join(15_000);
    synchronized (rtts) {
      return new Result(roundTrips, chainIntact, failure, new ArrayList<>(rtts));
    }
  }

  @Override
  public void close() throws InterruptedException {
    stop();
  }
}
