package dev.checkmate.relay.security;

import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.Channel;
import io.grpc.netty.shaded.io.netty.channel.ChannelHandler;
import io.grpc.netty.shaded.io.netty.channel.ChannelHandlerContext;
import io.grpc.netty.shaded.io.netty.channel.ChannelInboundHandlerAdapter;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.ServerChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.Epoll;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollIoHandler;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollServerSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.nio.NioIoHandler;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioServerSocketChannel;
import io.grpc.netty.shaded.io.netty.util.concurrent.DefaultThreadFactory;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Enforces the per-address connection limit at accept time on the gRPC port: a connection over the
 * limit is closed the moment it is accepted, before the TLS handshake or any HTTP/2 state, so a
 * flood of connections costs the relay a file descriptor for a microsecond each.
 *
 * <p>gRPC has no public hook before the transport exists (a {@code ServerTransportFilter} runs
 * after the TLS and HTTP/2 handshakes and cannot refuse), so this installs a handler in the
 * listening channel's pipeline, ahead of the bootstrap's acceptor. That needs the server's channel
 * type and event loops to be given explicitly; they are the same kinds gRPC would pick itself
 * (epoll where available, else NIO).
 */
public final class ConnectionGate implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ConnectionGate.class);
  private final EventLoopGroup boss;
  private final EventLoopGroup workers;

  private ConnectionGate(EventLoopGroup boss, EventLoopGroup workers) {
    this.boss = boss;
    this.workers = workers;
  }

  /** Installs the gate on a server builder; close the returned gate after the server terminated. */
  public static ConnectionGate install(NettyServerBuilder builder, ConnectionLimiter limiter) {
    boolean epoll = Epoll.isAvailable();
    EventLoopGroup boss = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("relay-grpc-boss", true),
        epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
    EventLoopGroup workers = new MultiThreadIoEventLoopGroup(0, new DefaultThreadFactory("relay-grpc-worker", true),
        epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
    Supplier<ServerChannel> raw = epoll ? EpollServerSocketChannel::new : NioServerSocketChannel::new;
    Gate gate = new Gate(limiter);
    builder.bossEventLoopGroup(boss)
        .workerEventLoopGroup(workers)
        .channelFactory(() -> {
          ServerChannel ch = raw.get();
          ch.pipeline().addLast("relay-connection-gate", gate);
          return ch;
        });
    return new ConnectionGate(boss, workers);
  }

  /** The accepting and the network event loops (they replace NetworkThreads' when the gate is on), for the watchdog. */
  public Iterable<? extends java.util.concurrent.Executor> acceptLoops() { return boss; }
  public Iterable<? extends java.util.concurrent.Executor> networkLoops() { return workers; }

  @Override
  public void close() {
    boss.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    workers.shutdownGracefully(0, 1, TimeUnit.SECONDS);
  }

  @ChannelHandler.Sharable
  private static final class Gate extends ChannelInboundHandlerAdapter {
    private final ConnectionLimiter limiter;
    private volatile long lastWarnNanos;

    Gate(ConnectionLimiter limiter) {
      this.limiter = limiter;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (msg instanceof Channel child && child.remoteAddress() instanceof InetSocketAddress remote) {
        InetAddress address = remote.getAddress();
        if (!limiter.tryAcquire(address)) {
          // Not yet registered: close the socket without a single byte written.
          child.unsafe().closeForcibly();
          long now = System.nanoTime();
          if (now - lastWarnNanos > TimeUnit.SECONDS.toNanos(10)) {
            lastWarnNanos = now;
            log.warn("refusing connections from {}: more than {} open (--max-connections-per-address); {} refused so far",
                address.getHostAddress(), limiter.limit(), limiter.refused());
          }
          return;
        }
        child.closeFuture().addListener(f -> limiter.release(address));
      }
      ctx.fireChannelRead(msg);
    }
  }
}
