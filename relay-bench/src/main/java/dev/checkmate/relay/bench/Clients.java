package dev.checkmate.relay.bench;

import com.google.common.util.concurrent.ListenableFuture;
import dev.checkmate.relay.proto.v1.ClientMessage;
import dev.checkmate.relay.proto.v1.CreateSessionRequest;
import dev.checkmate.relay.proto.v1.CreateSessionResponse;
import dev.checkmate.relay.proto.v1.Frame;
import dev.checkmate.relay.proto.v1.Join;
import dev.checkmate.relay.proto.v1.RelayServiceGrpc;
import dev.checkmate.relay.proto.v1.ServerMessage;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.Epoll;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.nio.NioEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioSocketChannel;
import io.grpc.netty.shaded.io.netty.util.concurrent.DefaultThreadFactory;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ClientResponseObserver;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** The load generator's client side: one shared event-loop group, raw streams, sessions. */
final class Clients {
  private Clients() {}

  /** All client channels share one small event-loop group (the driver's only network threads). */
  static final class Factory implements AutoCloseable {
    final EventLoopGroup group;
    final boolean epoll;

    Factory(int threads) {
      epoll = Epoll.isAvailable();
      DefaultThreadFactory tf = new DefaultThreadFactory("bench-client", true);
      group = epoll ? new EpollEventLoopGroup(threads, tf) : new NioEventLoopGroup(threads, tf);
    }

    ManagedChannel channel(int port, int window) {
      // A socket address, not a host name: no name resolution per channel (W8 opens thousands).
      return NettyChannelBuilder.forAddress(new java.net.InetSocketAddress("127.0.0.1", port))
          .usePlaintext()
          .directExecutor()
          .eventLoopGroup(group)
          .channelType(epoll ? EpollSocketChannel.class : NioSocketChannel.class)
          .flowControlWindow(window)
          .maxInboundMessageSize(16 * 1024 * 1024)
          .build();
    }

    @Override
    public void close() {
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }
  }

  /** What a stream does with a data frame it receives; runs on a client event loop. */
  interface FrameHandler {
    FrameHandler NONE = (s, f) -> {};

    void onFrame(BenchStream stream, Frame frame);
  }

  /** One participant's Connect stream (or one echo stream), without any SDK in between. */
  static final class BenchStream implements ClientResponseObserver<ClientMessage, ServerMessage> {
    volatile ClientCallStreamObserver<ClientMessage> out;
    final CompletableFuture<Boolean> paired = new CompletableFuture<>();
    final CompletableFuture<Boolean> joined = new CompletableFuture<>();
    final CompletableFuture<Status> closed = new CompletableFuture<>();
    volatile FrameHandler handler = FrameHandler.NONE;
    volatile Runnable onReady = () -> {};
    private final boolean manualRead;
    long seq;
    Pair pair;

    private BenchStream(boolean manualRead) {
      this.manualRead = manualRead;
    }

    static BenchStream open(Channel ch, MethodDescriptor<ClientMessage, ServerMessage> method, boolean manualRead) {
      BenchStream s = new BenchStream(manualRead);
      ClientCalls.asyncBidiStreamingCall(ch.newCall(method, CallOptions.DEFAULT), s);
      return s;
    }

    @Override
    public void beforeStart(ClientCallStreamObserver<ClientMessage> requestStream) {
      out = requestStream;
      if (manualRead) {
        requestStream.disableAutoRequestWithInitial(1); // just the Joined
      }
      requestStream.setOnReadyHandler(() -> onReady.run());
    }

    @Override
    public void onNext(ServerMessage m) {
      switch (m.getKindCase()) {
        case DATA -> handler.onFrame(this, m.getData());
        case JOINED -> {
          joined.complete(true);
          if (m.getJoined().getPeerPresent()) {
            paired.complete(true);
          }
        }
        case PEER_JOINED -> paired.complete(true);
        default -> { }
      }
    }

    @Override
    public void onError(Throwable t) {
      paired.completeExceptionally(t);
      closed.complete(Status.fromThrowable(t));
    }

    @Override
    public void onCompleted() {
      paired.completeExceptionally(new IllegalStateException("stream completed"));
      closed.complete(Status.OK);
    }

    synchronized void send(ClientMessage m) {
      out.onNext(m);
    }

    void join(String ticket) {
      send(ClientMessage.newBuilder().setJoin(Join.newBuilder().setTicket(ticket)).build());
    }

    boolean isReady() {
      return out.isReady();
    }

    void cancel() {
      try {
        out.cancel("bench done", null);
      } catch (RuntimeException ignored) {
        // already closed
      }
    }
  }

  /**
   * One session. Relay: {@code a} (prover) sends, {@code b} (verifier) receives. Echo: the frames
   * {@code a} sends come back to {@code a} ({@code b == a}).
   */
  static final class Pair {
    final BenchStream a;
    final BenchStream b;
    // Owned by the load generator's sender thread.
    final LongQueue backlog = new LongQueue();
    boolean blocked;
    long sent;
    // Written by the delivering event loop.
    volatile long delivered;

    Pair(BenchStream a, BenchStream b) {
      this.a = a;
      this.b = b;
      a.pair = this;
      b.pair = this;
    }
  }

  /** A growable ring of longs (planned send times of frames not yet handed to gRPC). */
  static final class LongQueue {
    private long[] a = new long[16];
    private int head;
    private int size;

    void add(long v) {
      if (size == a.length) {
        long[] n = new long[a.length * 2];
        for (int i = 0; i < size; i++) {
          n[i] = a[(head + i) % a.length];
        }
        a = n;
        head = 0;
      }
      a[(head + size) % a.length] = v;
      size++;
    }

    long poll() {
      long v = a[head];
      head = (head + 1) % a.length;
      size--;
      return v;
    }

    boolean isEmpty() {
      return size == 0;
    }

    int size() {
      return size;
    }

    void clear() {
      head = 0;
      size = 0;
    }
  }

  /**
   * Sessions against one server. {@code connsPerSide == 0}: every participant has its own
   * connection (what real prover/verifier devices do); otherwise participants are multiplexed as
   * streams over that many connections per side.
   */
  static final class Fixture implements AutoCloseable {
    final boolean relay;
    final Factory factory;
    final int port;
    final int portB;
    final int window;
    final ManagedChannel control;
    final List<ManagedChannel> channels = new ArrayList<>();
    final List<Pair> pairs = new ArrayList<>();
    private final List<ManagedChannel> poolA = new ArrayList<>();
    private final List<ManagedChannel> poolB = new ArrayList<>();

    Fixture(boolean relay, Factory factory, int port, int window) {
      this(relay, factory, port, port, window);
    }

    /** Participant B on another node ({@code portB}): the cross-node layout of W7. */
    Fixture(boolean relay, Factory factory, int port, int portB, int window) {
      this.relay = relay;
      this.factory = factory;
      this.port = port;
      this.portB = portB;
      this.window = window;
      this.control = factory.channel(port, window);
    }

    MethodDescriptor<ClientMessage, ServerMessage> method() {
      return relay ? RelayServiceGrpc.getConnectMethod() : EchoService.ECHO;
    }

    private ManagedChannel channelFor(List<ManagedChannel> pool, int connsPerSide, int i) {
      int target = pool == poolB ? portB : port;
      if (connsPerSide <= 0) {
        ManagedChannel ch = factory.channel(target, window);
        channels.add(ch);
        return ch;
      }
      while (pool.size() < connsPerSide) {
        ManagedChannel ch = factory.channel(target, window);
        channels.add(ch);
        pool.add(ch);
      }
      return pool.get(i % connsPerSide);
    }

    /** Opens n more paired, idle sessions; returns once every participant knows its peer is present. */
    void addPairs(int n, int connsPerSide) throws Exception {
      int batch = 250;
      for (int done = 0; done < n; done += batch) {
        int m = Math.min(batch, n - done);
        List<Pair> added = new ArrayList<>(m);
        if (relay) {
          RelayServiceGrpc.RelayServiceFutureStub stub = RelayServiceGrpc.newFutureStub(control);
          List<ListenableFuture<CreateSessionResponse>> created = new ArrayList<>(m);
          for (int i = 0; i < m; i++) {
            created.add(stub.createSession(CreateSessionRequest.getDefaultInstance()));
          }
          for (int i = 0; i < m; i++) {
            CreateSessionResponse s = created.get(i).get(60, TimeUnit.SECONDS);
            int idx = pairs.size() + i;
            BenchStream a = BenchStream.open(channelFor(poolA, connsPerSide, idx), method(), false);
            BenchStream b = BenchStream.open(channelFor(poolB, connsPerSide, idx), method(), false);
            a.join(s.getProverTicket());
            if (portB != port) {
              a.joined.get(60, TimeUnit.SECONDS); // the prover's node becomes the session's home
            }
            b.join(s.getVerifierTicket());
            added.add(new Pair(a, b));
          }
        } else {
          for (int i = 0; i < m; i++) {
            int idx = pairs.size() + i;
            BenchStream a = BenchStream.open(channelFor(poolA, connsPerSide, idx), method(), false);
            a.join("echo");
            added.add(new Pair(a, a));
          }
        }
        for (Pair p : added) {
          p.a.paired.get(60, TimeUnit.SECONDS);
          p.b.paired.get(60, TimeUnit.SECONDS);
        }
        pairs.addAll(added);
      }
    }

    /** Streams (not sessions) the server holds: 2 per relay session, 1 per echo pair. */
    int streams() {
      return relay ? 2 * pairs.size() : pairs.size();
    }

    @Override
    public void close() {
      for (Pair p : pairs) {
        p.a.cancel();
        p.b.cancel();
      }
      for (ManagedChannel ch : channels) {
        ch.shutdownNow();
      }
      control.shutdownNow();
      for (ManagedChannel ch : channels) {
        try {
          ch.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
      }
    }
  }
}
