package dev.checkmate.relay.bench;

import dev.checkmate.relay.proto.v1.ClientMessage;
import dev.checkmate.relay.proto.v1.Joined;
import dev.checkmate.relay.proto.v1.ServerMessage;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufInputStream;
import io.netty.buffer.ByteBufOutputStream;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketServerProtocolHandler;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The WebSocket baseline of W9: the leanest server that speaks the relay's WebSocket messages. It
 * answers a Join with Joined and sends every Frame straight back, parsing and re-serializing each
 * message as the relay does, on one Netty event loop (the relay's network-thread rule: one per two
 * cores, at least one) with the same Netty as the relay's HTTP port.
 */
final class WsEchoServer {
  private WsEchoServer() {}

  static final AtomicLong SOCKETS = new AtomicLong();

  /** Binds 127.0.0.1:{@code port} (0 = any) and returns the bound channel. */
  static Channel start(int port, int threads) throws InterruptedException {
    EventLoopGroup group = new MultiThreadIoEventLoopGroup(threads, r -> {
      Thread t = new Thread(r, "wsecho-net");
      t.setDaemon(true);
      return t;
    }, NioIoHandler.newFactory());
    return new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
        .childOption(ChannelOption.TCP_NODELAY, true)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            SOCKETS.incrementAndGet();
            ch.closeFuture().addListener(f -> SOCKETS.decrementAndGet());
            ch.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(8192),
                new WebSocketServerProtocolHandler("/ws", null, false, 1 << 20, false, true), new Echo());
          }
        })
        .bind(new InetSocketAddress("127.0.0.1", port)).sync().channel();
  }

  private static final class Echo extends SimpleChannelInboundHandler<BinaryWebSocketFrame> {
    private static final ServerMessage JOINED =
        ServerMessage.newBuilder().setJoined(Joined.newBuilder().setPeerPresent(true)).build();

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, BinaryWebSocketFrame frame) throws IOException {
      ClientMessage m;
      try (ByteBufInputStream in = new ByteBufInputStream(frame.content())) {
        m = ClientMessage.parseFrom(in);
      }
      ServerMessage reply = m.hasData() ? ServerMessage.newBuilder().setData(m.getData()).build() : m.hasJoin() ? JOINED : null;
      if (reply == null) {
        return;
      }
      ByteBuf buf = ctx.alloc().buffer(reply.getSerializedSize());
      try (ByteBufOutputStream out = new ByteBufOutputStream(buf)) {
        reply.writeTo(out);
      }
      ctx.writeAndFlush(new BinaryWebSocketFrame(buf));
    }
  }
}
