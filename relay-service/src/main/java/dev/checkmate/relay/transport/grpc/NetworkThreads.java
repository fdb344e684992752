package dev.checkmate.relay.transport.grpc;

import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.ServerChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.Epoll;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollServerSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.nio.NioEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioServerSocketChannel;
import io.grpc.netty.shaded.io.netty.util.concurrent.DefaultThreadFactory;
import java.util.concurrent.TimeUnit;

/**
 * A fixed number of gRPC network threads (epoll where available). On small machines fewer event
 * loops mean fewer cross-thread hand-offs between the two connections of a session; grpc-java's
 * default is two per core.
 */
public final class NetworkThreads implements AutoCloseable {
  private final EventLoopGroup boss;
  private final EventLoopGroup workers;
  private final Class<? extends ServerChannel> channelType;

  private NetworkThreads(int threads) {
    if (Epoll.isAvailable()) {
      boss = new EpollEventLoopGroup(1, new DefaultThreadFactory("relay-accept", true));
      workers = new EpollEventLoopGroup(threads, new DefaultThreadFactory("relay-net", true));
      channelType = EpollServerSocketChannel.class;
    } else {
      boss = new NioEventLoopGroup(1, new DefaultThreadFactory("relay-accept", true));
      workers = new NioEventLoopGroup(threads, new DefaultThreadFactory("relay-net", true));
      channelType = NioServerSocketChannel.class;
    }
  }

  /** Installs {@code threads} worker event loops on the builder (no accept gate: benchmarks' baselines). */
  public static NetworkThreads install(NettyServerBuilder builder, int threads) {
    return install(builder, threads, null);
  }

  /**
   * Installs {@code threads} worker event loops on the builder, and {@code acceptGate} (if not
   * null) in the listening channel's pipeline ahead of the acceptor, so it sees every accepted
   * connection before TLS or HTTP/2. The caller closes the loops after the server.
   */
  public static NetworkThreads install(NettyServerBuilder builder, int threads,
      io.grpc.netty.shaded.io.netty.channel.ChannelHandler acceptGate) {
    NetworkThreads t = new NetworkThreads(threads);
    builder.bossEventLoopGroup(t.boss).workerEventLoopGroup(t.workers);
    boolean epoll = t.channelType == EpollServerSocketChannel.class;
    builder.channelFactory(() -> {
      ServerChannel ch = epoll ? new EpollServerSocketChannel() : new NioServerSocketChannel();
      if (acceptGate != null) {
        ch.pipeline().addLast("relay-connection-gate", acceptGate);
      }
      return ch;
    });
    return t;
  }

  /** The accepting and the network event loops, for the watchdog. */
  public Iterable<? extends java.util.concurrent.Executor> acceptLoops() { return boss; }
  public Iterable<? extends java.util.concurrent.Executor> networkLoops() { return workers; }

  @Override
  public void close() {
    boss.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    workers.shutdownGracefully(0, 1, TimeUnit.SECONDS);
  }
}
