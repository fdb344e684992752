package dev.checkmate.relay.bench;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import dev.checkmate.relay.bench.BenchMain.Options;
import dev.checkmate.relay.proto.v1.ClientMessage;
import dev.checkmate.relay.proto.v1.CreateSessionResponse;
import dev.checkmate.relay.proto.v1.Frame;
import dev.checkmate.relay.proto.v1.RelayServiceGrpc;
import dev.checkmate.relay.proto.v1.ServerMessage;
import dev.checkmate.relay.proto.v1.Terminate;
import io.grpc.ManagedChannel;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufInputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * W9, the WebSocket path's tail: N paired WebSocket sessions, participant A sends frames open
 * loop (a fixed rate per session, round-robin), B sends each straight back, A records the round
 * trip from the frame's planned send time (coordinated-omission corrected) and from its actual
 * send. Baseline in the same run: a lean Netty WebSocket echo server (A → echo → A, same Netty,
 * one event loop). Relay variants (e.g. another Netty allocator) in their own JVMs, alternating
 * rounds. The figure of interest is the spread, p99 ÷ p50, beside the echo's.
 */
final class WebSocketRtt {
  private final Options o;
  private final PrintStream out;
  private final SessionChurn.Launcher launcher;
  final List<String> ratioRows = new ArrayList<>();
  final Map<String, Double> headline = new LinkedHashMap<>();
  private final Map<String, List<Histogram>> rtt = new LinkedHashMap<>();
  private final Map<String, List<Double>> cpuPerFrame = new LinkedHashMap<>();

  WebSocketRtt(Options o, PrintStream out, SessionChurn.Launcher launcher) {
    this.o = o;
    this.out = out;
    this.launcher = launcher;
  }

  /** One session's two sockets (the echo baseline: A only). */
  static final class Pair {
    WsClient.Socket a;
    WsClient.Socket b;
    final CompletableFuture<Boolean> aReady = new CompletableFuture<>();
    final CompletableFuture<Boolean> bReady = new CompletableFuture<>();
    long seq;
  }

  /** Receives on A: records round trips of frames planned inside the window. */
  static final class Sink {
    final Recorder latency = new Recorder(3);
    final Recorder raw = new Recorder(3);
    final LongAdder inWindow = new LongAdder();
    volatile long windowStart = Long.MAX_VALUE;
    volatile long windowEnd = Long.MAX_VALUE;

    void record(ByteString payload) {
      long now = System.nanoTime();
      long planned = Load.getLong(payload, 0);
      long actual = Load.getLong(payload, 8);
      if (planned >= windowStart && planned < windowEnd) {
        latency.recordValue(Math.max(0, now - planned));
        raw.recordValue(Math.max(0, now - actual));
        inWindow.increment();
      }
    }
  }

  void run(Clients.Factory cf) throws Exception {
    List<SessionChurn.Variant> variants = SessionChurn.variants(o, o.w9Variants);
    out.println();
    out.printf(Locale.ROOT, "=== W9 WebSocket round trip: %d sessions, %d B frames, %.0f frames/s per session (open loop, A -> relay -> B -> relay -> A;"
            + " echo baseline A -> echo -> A), %.0f s warm-up + %.0f s measured, %d rounds alternating variants ===%n",
        o.w9Sessions, o.w9Size, o.w9Rate, o.w9Warmup, o.w9Seconds, o.w9Rounds);
    for (SessionChurn.Variant v : variants) {
      out.println("variant " + v.name() + ": " + v.description());
    }
    out.println(String.format(Locale.ROOT, "%-3s %-14s %8s %8s %8s %8s %8s %9s | %8s %8s | %8s %6s %6s | %s",
        "rnd", "variant", "p50 us", "p90 us", "p99 us", "p99.9 us", "max us", "p99/p50", "raw p50", "raw p99", "cpu us/f", "server", "others", "load"));
    try (WsClient client = new WsClient(o.w9ClientThreads)) {
      for (int round = 1; round <= o.w9Rounds; round++) {
        List<SessionChurn.Variant> order = new ArrayList<>(variants);
        java.util.Collections.rotate(order, -(round - 1));
        for (SessionChurn.Variant v : order) {
          try (ServerProcess sp = launcher.start(v)) {
            measure(cf, client, sp, v, round);
          }
        }
      }
    }
    out.println();
    out.println("--- W9 summary: medians over rounds ---");
    for (SessionChurn.Variant v : variants) {
      List<Histogram> hs = rtt.get(v.name());
      if (hs == null) {
        continue;
      }
      List<Double> p50 = new ArrayList<>();
      List<Double> p99 = new ArrayList<>();
      List<Double> spread = new ArrayList<>();
      for (Histogram h : hs) {
        p50.add(h.getValueAtPercentile(50) / 1e3);
        p99.add(h.getValueAtPercentile(99) / 1e3);
        spread.add((double) h.getValueAtPercentile(99) / Math.max(1, h.getValueAtPercentile(50)));
      }
      double s = Workloads.median(spread);
      headline.put("W9.spread." + v.name(), s);
      headline.put("W9.p99." + v.name(), Workloads.median(p99));
      String row = String.format(Locale.ROOT, "W9 %-14s RTT p50 %6.1f us, p99 %7.1f us, p99/p50 %5.2f (per round %s), server CPU %.1f us/frame",
          v.name(), Workloads.median(p50), Workloads.median(p99), s, spread.stream().map(x -> String.format(Locale.ROOT, "%.2f", x)).toList(),
          Workloads.median(cpuPerFrame.get(v.name())));
      out.println(row);
      ratioRows.add(row);
    }
  }

  private void measure(Clients.Factory cf, WsClient client, ServerProcess sp, SessionChurn.Variant v, int round) throws Exception {
    boolean echo = v.kind().equals("wsecho");
    Sink sink = new Sink();
    List<Pair> pairs = open(cf, client, sp, echo, o.w9Sessions, o.window, sink);
    ByteString pad = Load.pad(o.w9Size);
    try {
      // Untimed first (JIT, connection warm-up), then the measured schedule from scratch.
      send(pairs, pad, sink, o.w9Warmup, false);
      long cpu0 = sp.cpuNanos();
      long[] m0 = Machine.busyAndTotalTicks();
      long began = System.nanoTime();
      send(pairs, pad, sink, o.w9Seconds, true);
      double wall = (System.nanoTime() - began) / 1e9;
      long cpu1 = sp.cpuNanos();
      long[] m1 = Machine.busyAndTotalTicks();
      Histogram h = sink.latency.getIntervalHistogram();
      Histogram raw = sink.raw.getIntervalHistogram();
      long frames = sink.inWindow.sum();
      // Relay: one frame relayed twice per round trip; echo: once. Per delivered hop.
      double hops = echo ? frames : 2.0 * frames;
      double cpu = (cpu1 - cpu0) / 1e3 / Math.max(1, hops);
      double server = (cpu1 - cpu0) / 1e9 / wall;
      double others = m0 != null && m1 != null && m1[1] > m0[1]
          ? (m1[0] - m0[0]) / (double) (m1[1] - m0[1]) * Machine.cores() - server : Double.NaN;
      rtt.computeIfAbsent(v.name(), k -> new ArrayList<>()).add(h);
      cpuPerFrame.computeIfAbsent(v.name(), k -> new ArrayList<>()).add(cpu);
      long planned = (long) (o.w9Seconds * o.w9Rate * o.w9Sessions);
      out.println(String.format(Locale.ROOT, "%-3d %-14s %8s %8s %8s %8s %8s %9.2f | %8s %8s | %8.1f %6.2f %6.2f | %s%s",
          round, v.name(), Workloads.us(h.getValueAtPercentile(50)), Workloads.us(h.getValueAtPercentile(90)),
          Workloads.us(h.getValueAtPercentile(99)), Workloads.us(h.getValueAtPercentile(99.9)), Workloads.us(h.getMaxValue()),
          (double) h.getValueAtPercentile(99) / Math.max(1, h.getValueAtPercentile(50)),
          Workloads.us(raw.getValueAtPercentile(50)), Workloads.us(raw.getValueAtPercentile(99)), cpu, server, others,
          Machine.loadAverage(), frames < planned * 0.99 ? "  (delivered " + frames + " of ~" + planned + ")" : ""));
    } finally {
      close(pairs, echo);
      Thread.sleep(300);
    }
  }

  /**
   * Opens and pairs {@code n} sessions (relay: CreateSession, both join; echo: one socket each),
   * 200 at a time; returns once every participant knows its peer is there.
   */
  static List<Pair> open(Clients.Factory cf, WsClient client, ServerProcess sp, boolean echo, int n, int window, Sink sink)
      throws Exception {
    List<Pair> pairs = new ArrayList<>();
    ManagedChannel control = echo ? null : cf.channel(sp.port, window);
    try {
      for (int i = 0; i < n; i++) {
        Pair p = new Pair();
        String sid = "echo";
        String ta = "echo";
        String tb = null;
        if (!echo) {
          CreateSessionResponse s = RelayServiceGrpc.newBlockingStub(control).withDeadlineAfter(30, TimeUnit.SECONDS)
              .createSession(ChurnPeers.create(3600));
          sid = s.getSessionId();
          ta = s.getProverTicket();
          tb = s.getVerifierTicket();
        }
        URI uri = URI.create("ws://127.0.0.1:" + sp.wsPort + "/ws?session=" + sid);
        p.a = client.connect(sp.wsPort, uri, listener(p, true, ta, sink, echo));
        if (!echo) {
          p.b = client.connect(sp.wsPort, uri, listener(p, false, tb, sink, false));
        } else {
          p.bReady.complete(true);
        }
        pairs.add(p);
        if (pairs.size() % 200 == 0) {
          awaitPaired(pairs.subList(pairs.size() - 200, pairs.size()));
        }
      }
      awaitPaired(pairs);
    } finally {
      if (control != null) {
        control.shutdownNow();
      }
    }
    return pairs;
  }

  private static void awaitPaired(List<Pair> pairs) throws Exception {
    for (Pair p : pairs) {
      p.aReady.get(60, TimeUnit.SECONDS);
      p.bReady.get(60, TimeUnit.SECONDS);
    }
  }

  /** Ends the sessions: the relay's are terminated by A (the relay closes both), the echo's sockets closed. */
  static void close(List<Pair> pairs, boolean echo) {
    for (Pair p : pairs) {
      if (!echo) {
        p.a.send(ClientMessage.newBuilder().setTerminate(Terminate.newBuilder().setReason("bench")).build().toByteArray());
      } else {
        p.a.abort();
      }
    }
  }

  private static WsClient.Listener listener(Pair p, boolean isA, String ticket, Sink sink, boolean echo) {
    return new WsClient.Listener() {
      @Override
      public void opened(WsClient.Socket s) {
        s.send(ChurnPeers.join(ticket).toByteArray());
      }

      @Override
      public void message(WsClient.Socket s, ByteBuf data) {
        ServerMessage m;
        try (ByteBufInputStream in = new ByteBufInputStream(data)) {
          m = ServerMessage.parseFrom(in);
        } catch (IOException e) {
          return;
        }
        switch (m.getKindCase()) {
          case JOINED -> {
            if (m.getJoined().getPeerPresent() || echo) {
              (isA ? p.aReady : p.bReady).complete(true);
            }
          }
          case PEER_JOINED -> (isA ? p.aReady : p.bReady).complete(true);
          case DATA -> {
            if (isA) {
              if (sink != null) {
                sink.record(m.getData().getPayload());
              }
            } else {
              s.send(ClientMessage.newBuilder().setData(m.getData()).build().toByteArray());
            }
          }
          default -> { }
        }
      }

      @Override
      public void closed(WsClient.Socket s, int code, String why) {
        (isA ? p.aReady : p.bReady).completeExceptionally(new IllegalStateException("closed: " + why));
      }
    };
  }

  /** Open loop: frames planned at sessions x rate per second, round-robin, timed from their plan. */
  private void send(List<Pair> pairs, ByteString pad, Sink sink, double seconds, boolean measured) throws InterruptedException {
    double interval = 1e9 / (o.w9Rate * pairs.size());
    long t0 = System.nanoTime() + 20_000_000L;
    long end = t0 + (long) (seconds * 1e9);
    if (measured) {
      sink.windowStart = t0;
      sink.windowEnd = end;
    } else {
      sink.windowStart = Long.MAX_VALUE;
    }
    for (long k = 0; ; k++) {
      long planned = t0 + (long) (k * interval);
      if (planned >= end) {
        break;
      }
      Load.waitUntil(planned, true);
      Pair p = pairs.get((int) (k % pairs.size()));
      byte[] h = new byte[Load.HEADER];
      Load.putLong(h, 0, planned);
      Load.putLong(h, 8, System.nanoTime());
      p.a.send(ClientMessage.newBuilder().setData(Frame.newBuilder().setSeq(++p.seq)
          .setPayload(UnsafeByteOperations.unsafeWrap(h).concat(pad))).build().toByteArray());
    }
    Thread.sleep(200); // the last round trips
  }
}
