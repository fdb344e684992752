package dev.checkmate.relay.security;

import io.grpc.netty.shaded.io.netty.channel.Channel;
import io.grpc.netty.shaded.io.netty.channel.ChannelHandler;
import io.grpc.netty.shaded.io.netty.channel.ChannelHandlerContext;
import io.grpc.netty.shaded.io.netty.channel.ChannelInboundHandlerAdapter;
import java.net.InetAddress;
import java.net.InetSocketAddress;

/**
 * Enforces the connection caps at accept time on the gRPC port: a connection over the per-address
 * or the total cap ({@link ConnectionLimiter}) is closed the moment it is accepted, before the TLS
 * handshake or any HTTP/2 state, so a flood of connections costs the relay a file descriptor for a
 * microsecond each.
 *
 * <p>gRPC has no public hook before the transport exists (a {@code ServerTransportFilter} runs
 * after the TLS and HTTP/2 handshakes and cannot refuse), so this is a handler for the listening
 * channel's pipeline, ahead of the bootstrap's acceptor ({@code NetworkThreads} installs it).
 */
public final class ConnectionGate {
  private ConnectionGate() {}

  /** The accept-time handler; {@code onRefused} runs once per refused connection (metrics). */
  public static ChannelHandler handler(ConnectionLimiter limiter, Runnable onRefused) {
    return new Gate(limiter, onRefused);
  }

  @ChannelHandler.Sharable
  private static final class Gate extends ChannelInboundHandlerAdapter {
    private final ConnectionLimiter limiter;
    private final Runnable onRefused;
    private final RefusalLog refusals = new RefusalLog("gRPC");

    Gate(ConnectionLimiter limiter, Runnable onRefused) {
      this.limiter = limiter;
      this.onRefused = onRefused;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (msg instanceof Channel child && child.remoteAddress() instanceof InetSocketAddress remote) {
        InetAddress address = remote.getAddress();
        ConnectionLimiter.Refusal refused = limiter.tryAcquire(address);
        if (refused != null) {
          // Not yet registered: close the socket without a single byte written.
          child.unsafe().closeForcibly();
          onRefused.run();
          refusals.refused(address, refused);
          return;
        }
        child.closeFuture().addListener(f -> limiter.release(address));
      }
      ctx.fireChannelRead(msg);
    }
  }
}
