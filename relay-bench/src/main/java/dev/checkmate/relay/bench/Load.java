package dev.checkmate.relay.bench;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import dev.checkmate.relay.bench.Clients.BenchStream;
import dev.checkmate.relay.bench.Clients.Fixture;
import dev.checkmate.relay.bench.Clients.FrameHandler;
import dev.checkmate.relay.bench.Clients.Pair;
import dev.checkmate.relay.proto.v1.ClientMessage;
import dev.checkmate.relay.proto.v1.Frame;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * The open-loop load generator. Frames are planned at a fixed aggregate rate (round-robin over the
 * sessions); each payload carries its planned and its actual send time (System.nanoTime, same
 * JVM for sender and receiver); latency is recorded at delivery from the PLANNED time, so a stall
 * anywhere (server, client, the generator itself) shows up in the figures instead of silently
 * delaying later sends (coordinated omission). A session whose stream is not ready keeps its
 * planned frames in a local backlog (their planned times keep ticking).
 */
final class Load {
  private Load() {}

  static final int HEADER = 16;

  /** One measured step. Latencies in nanoseconds. */
  static final class Result {
    String server;
    String what;
    int size;
    int sessions;
    double offeredPerSec;      // planned frames/s (NaN for a saturation probe)
    double deliveredPerSec;    // frames delivered per second of the measurement window
    long planned;              // frames planned inside the measurement window
    long delivered;            // of those, delivered before the drain deadline
    Histogram latency;         // from planned send time (coordinated-omission corrected)
    Histogram raw;             // from actual send time
    Histogram lag;             // generator lateness: actual - planned send time
    double serverCpuUsPerFrame = Double.NaN;
    double serverCtxPerFrame = Double.NaN;
    double serverCpuCores = Double.NaN;

    long p(double q) {
      return latency.getTotalCount() == 0 ? -1 : latency.getValueAtPercentile(q);
    }

    boolean sustainable(long sloNanos) {
      return delivered >= planned && planned > 0 && p(99) <= sloNanos;
    }
  }

  private static final ByteString[] PAD_CACHE = new ByteString[64 * 1024 + 1];

  static ByteString pad(int size) {
    int n = Math.max(0, size - HEADER);
    ByteString p = PAD_CACHE[n];
    if (p == null) {
      byte[] b = new byte[n];
      for (int i = 0; i < n; i++) {
        b[i] = (byte) (i * 31);
      }
      p = UnsafeByteOperations.unsafeWrap(b);
      PAD_CACHE[n] = p;
    }
    return p;
  }

  static ClientMessage frame(long seq, long planned, long actual, ByteString pad) {
    byte[] h = new byte[HEADER];
    putLong(h, 0, planned);
    putLong(h, 8, actual);
    return ClientMessage.newBuilder()
        .setData(Frame.newBuilder().setSeq(seq).setPayload(UnsafeByteOperations.unsafeWrap(h).concat(pad)))
        .build();
  }

  static void putLong(byte[] b, int off, long v) {
    for (int i = 7; i >= 0; i--) {
      b[off + i] = (byte) v;
      v >>>= 8;
    }
  }

  static long getLong(ByteString s, int off) {
    long v = 0;
    for (int i = 0; i < 8; i++) {
      v = (v << 8) | (s.byteAt(off + i) & 0xff);
    }
    return v;
  }

  /** Delivery bookkeeping shared by the event loops of one step. */
  static final class Sink implements FrameHandler {
    final Recorder latency = new Recorder(3);
    final Recorder raw = new Recorder(3);
    final LongAdder inWindow = new LongAdder();
    final LongAdder arrivalsInWindow = new LongAdder();
    volatile long windowStart = Long.MAX_VALUE;
    volatile long windowEnd = Long.MAX_VALUE;

    @Override
    public void onFrame(BenchStream s, Frame f) {
      long now = System.nanoTime();
      Pair p = s.pair;
      p.delivered = p.delivered + 1; // one writer: the event loop of the delivering stream
      ByteString payload = f.getPayload();
      long planned = getLong(payload, 0);
      long actual = getLong(payload, 8);
      if (now >= windowStart && now < windowEnd) {
        arrivalsInWindow.increment();
      }
      if (planned >= windowStart && planned < windowEnd) {
        latency.recordValue(Math.max(0, now - planned));
        raw.recordValue(Math.max(0, now - actual));
        inWindow.increment();
      }
    }
  }

  /** Wires the handlers: one-way A→B for the relay, A→echo→A for the baseline. */
  static void wireOneWay(Fixture fx, List<Pair> pairs, Sink sink) {
    for (Pair p : pairs) {
      if (fx.relay) {
        p.a.handler = FrameHandler.NONE;
        p.b.handler = sink;
      } else {
        p.a.handler = sink;
      }
    }
  }

  /** Relay round trip: B sends every frame it gets straight back, A records (A→R→B→R→A). */
  static void wireRoundTrip(Fixture fx, Pair p, Sink sink) {
    if (fx.relay) {
      p.b.handler = (s, f) -> s.send(ClientMessage.newBuilder().setData(f).build());
      p.a.handler = sink;
    } else {
      p.a.handler = sink;
    }
  }

  /** Parks until {@code deadline}; with {@code spin} it parks to 100 µs before and spins the rest. */
  static void waitUntil(long deadline, boolean spin) {
    while (true) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        return;
      }
      if (spin) {
        if (left > 100_000) {
          LockSupport.parkNanos(left - 100_000);
        } else {
          Thread.onSpinWait();
        }
      } else {
        LockSupport.parkNanos(left);
      }
    }
  }

  private static void send(Pair p, long planned, ByteString pad, Recorder lag) {
    long actual = System.nanoTime();
    p.a.send(frame(++p.a.seq, planned, actual, pad));
    p.sent++;
    lag.recordValue(Math.max(0, actual - planned));
  }

  /**
   * W1: one session, one frame in flight, frames planned at {@code rate}/s. If a reply is late
   * past the next planned time the next frame goes as soon as it arrives, and is still timed from
   * its planned time.
   */
  static Result roundTrip(Fixture fx, ServerProcess sp, int size, double rate, double warmS, double measS) {
    if (warmS > 0) {
      roundTrip(fx, sp, size, rate, 0, warmS); // discarded; the measured schedule starts afresh
    }
    Pair p = fx.pairs.get(0);
    Sink sink = new Sink();
    wireRoundTrip(fx, p, sink);
    ByteString pad = pad(size);
    Recorder lag = new Recorder(3);
    double interval = 1e9 / rate;
    long t0 = System.nanoTime() + 20_000_000L;
    long warmEnd = t0 + (long) (warmS * 1e9);
    long end = warmEnd + (long) (measS * 1e9);
    sink.windowStart = warmEnd;
    sink.windowEnd = end;
    long cpu0 = 0;
    long ctx0 = 0;
    boolean measuring = false;
    for (long k = 0; ; k++) {
      long planned = t0 + (long) (k * interval);
      if (planned >= end) {
        break;
      }
      if (!measuring && planned >= warmEnd) {
        measuring = true;
        cpu0 = sp.cpuNanos();
        ctx0 = sp.contextSwitches();
      }
      waitUntil(planned, true);
      long giveUp = System.nanoTime() + 10_000_000_000L;
      while (p.delivered < p.sent) {
        if (System.nanoTime() > giveUp) {
          throw new IllegalStateException("round trip lost: sent " + p.sent + " delivered " + p.delivered);
        }
        Thread.onSpinWait();
      }
      send(p, planned, pad, lag);
    }
    drain(List.of(p), pad, lag, System.nanoTime() + 10_000_000_000L);
    long cpu1 = sp.cpuNanos();
    long ctx1 = sp.contextSwitches();
    Result r = finish(fx, sink, lag, size, 1, rate, measS, "W1 round trip");
    r.planned = (long) Math.ceil((end - warmEnd) / interval);
    setCpu(r, cpu1 - cpu0, ctx1 - ctx0, measS);
    return r;
  }

  /** W2/W3: open loop at an aggregate {@code rate} over the first {@code n} sessions, A→B one way. */
  static Result openLoop(Fixture fx, ServerProcess sp, int n, int size, double rate, double warmS, double measS,
      long drainNanos) {
    if (warmS > 0) {
      openLoop(fx, sp, n, size, rate, 0, warmS, drainNanos); // discarded; the measured schedule starts afresh
    }
    List<Pair> pairs = fx.pairs.subList(0, n);
    for (Pair p : pairs) {
      p.backlog.clear();
      p.blocked = false;
    }
    Sink sink = new Sink();
    wireOneWay(fx, pairs, sink);
    ByteString pad = pad(size);
    Recorder lag = new Recorder(3);
    double interval = 1e9 / rate;
    long t0 = System.nanoTime() + 20_000_000L;
    long warmEnd = t0 + (long) (warmS * 1e9);
    long end = warmEnd + (long) (measS * 1e9);
    sink.windowStart = warmEnd;
    sink.windowEnd = end;
    ArrayDeque<Pair> blocked = new ArrayDeque<>();
    long cpu0 = 0;
    long ctx0 = 0;
    long cpu1 = 0;
    long ctx1 = 0;
    boolean measuring = false;
    long k = 0;
    long plannedInWindow = 0;
    while (true) {
      long now = System.nanoTime();
      if (!measuring && now >= warmEnd) {
        measuring = true;
        cpu0 = sp.cpuNanos();
        ctx0 = sp.contextSwitches();
      }
      drainBlocked(blocked, pad, lag);
      long planned;
      while ((planned = t0 + (long) (k * interval)) <= now && planned < end) {
        Pair p = pairs.get((int) (k % n));
        k++;
        if (planned >= warmEnd) {
          plannedInWindow++;
        }
        if (!p.blocked && p.a.isReady()) {
          send(p, planned, pad, lag);
        } else {
          p.backlog.add(planned);
          if (!p.blocked) {
            p.blocked = true;
            blocked.add(p);
          }
        }
      }
      if (planned >= end) {
        break;
      }
      long wake = blocked.isEmpty() ? planned : Math.min(planned, now + 50_000);
      waitUntil(wake, false);
    }
    cpu1 = sp.cpuNanos();
    ctx1 = sp.contextSwitches();
    drain(pairs, pad, lag, System.nanoTime() + drainNanos);
    Result r = finish(fx, sink, lag, size, n, rate, measS, "open loop");
    r.planned = plannedInWindow;
    setCpu(r, cpu1 - cpu0, ctx1 - ctx0, measS);
    // Anything still undelivered at the deadline counts against the step; wait it out (not timed).
    drain(pairs, pad, lag, System.nanoTime() + 60_000_000_000L);
    return r;
  }

  /**
   * W3 step 1: saturation probe. Each session keeps up to {@code window} frames in flight
   * (closed loop); the figure is frames delivered per second of the window, by arrival time.
   */
  static Result probe(Fixture fx, ServerProcess sp, int n, int size, int window, double warmS, double measS) {
    List<Pair> pairs = fx.pairs.subList(0, n);
    Sink sink = new Sink();
    wireOneWay(fx, pairs, sink);
    ByteString pad = pad(size);
    Recorder lag = new Recorder(3);
    long t0 = System.nanoTime();
    long warmEnd = t0 + (long) (warmS * 1e9);
    long end = warmEnd + (long) (measS * 1e9);
    sink.windowStart = warmEnd;
    sink.windowEnd = end;
    long cpu0 = 0;
    long ctx0 = 0;
    boolean measuring = false;
    while (true) {
      long now = System.nanoTime();
      if (now >= end) {
        break;
      }
      if (!measuring && now >= warmEnd) {
        measuring = true;
        cpu0 = sp.cpuNanos();
        ctx0 = sp.contextSwitches();
      }
      boolean progress = false;
      for (Pair p : pairs) {
        int c = 0;
        while (c < 16 && p.sent - p.delivered < window && p.a.isReady()) {
          send(p, System.nanoTime(), pad, lag);
          c++;
          progress = true;
        }
      }
      if (!progress) {
        LockSupport.parkNanos(20_000);
      }
    }
    long cpu1 = sp.cpuNanos();
    long ctx1 = sp.contextSwitches();
    drain(pairs, pad, lag, System.nanoTime() + 60_000_000_000L);
    Result r = finish(fx, sink, lag, size, n, Double.NaN, measS, "saturation probe w=" + window);
    r.deliveredPerSec = sink.arrivalsInWindow.sum() / measS;
    r.planned = r.delivered;
    setCpu(r, cpu1 - cpu0, ctx1 - ctx0, measS);
    r.serverCpuUsPerFrame = (cpu1 - cpu0) / 1e3 / Math.max(1, sink.arrivalsInWindow.sum());
    return r;
  }

  private static void drainBlocked(ArrayDeque<Pair> blocked, ByteString pad, Recorder lag) {
    int m = blocked.size();
    for (int i = 0; i < m; i++) {
      Pair p = blocked.poll();
      while (!p.backlog.isEmpty() && p.a.isReady()) {
        send(p, p.backlog.poll(), pad, lag);
      }
      if (p.backlog.isEmpty()) {
        p.blocked = false;
      } else {
        blocked.add(p);
      }
    }
  }

  /** Keeps sending backlogged frames and waits until everything sent was delivered, or the deadline. */
  static boolean drain(List<Pair> pairs, ByteString pad, Recorder lag, long deadline) {
    ArrayDeque<Pair> blocked = new ArrayDeque<>();
    for (Pair p : pairs) {
      if (!p.backlog.isEmpty()) {
        blocked.add(p);
      }
    }
    while (System.nanoTime() < deadline) {
      drainBlocked(blocked, pad, lag);
      boolean done = blocked.isEmpty();
      if (done) {
        for (Pair p : pairs) {
          if (p.delivered < p.sent) {
            done = false;
            break;
          }
        }
      }
      if (done) {
        return true;
      }
      LockSupport.parkNanos(200_000);
    }
    return false;
  }

  private static Result finish(Fixture fx, Sink sink, Recorder lag, int size, int n, double rate, double measS,
      String what) {
    Result r = new Result();
    r.server = fx.relay ? "relay" : "echo";
    r.what = what;
    r.size = size;
    r.sessions = n;
    r.offeredPerSec = rate;
    r.latency = sink.latency.getIntervalHistogram();
    r.raw = sink.raw.getIntervalHistogram();
    r.lag = lag.getIntervalHistogram();
    r.delivered = sink.inWindow.sum();
    r.deliveredPerSec = r.delivered / measS;
    return r;
  }

  private static void setCpu(Result r, long cpuNanos, long ctx, double measS) {
    double frames = Math.max(1, r.delivered);
    if (cpuNanos >= 0) {
      r.serverCpuUsPerFrame = cpuNanos / 1e3 / frames;
      r.serverCpuCores = cpuNanos / 1e9 / measS;
    }
    if (ctx >= 0) {
      r.serverCtxPerFrame = ctx / frames;
    }
  }
}
