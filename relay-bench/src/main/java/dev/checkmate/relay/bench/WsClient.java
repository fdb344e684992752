package dev.checkmate.relay.bench;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketClientProtocolConfig;
import io.netty.handler.codec.http.websocketx.WebSocketClientProtocolHandler;
import io.netty.handler.codec.http.websocketx.WebSocketFrameAggregator;
import io.netty.handler.codec.http.websocketx.WebSocketVersion;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.net.URI;
import java.util.concurrent.TimeUnit;

/**
 * A bare WebSocket client for the benchmarks (Netty, no SDK, no JDK HttpClient threads): binary
 * messages in and out, and it answers the server's close frame and lets the server close the TCP
 * connection (the closing handshake of RFC 6455 §7), so client ports do not pile up in TIME_WAIT.
 */
final class WsClient implements AutoCloseable {
  /** What one socket reports; runs on the client's event loop. */
  interface Listener {
    default void opened(Socket socket) {}

    void message(Socket socket, ByteBuf data);

    /** The connection is gone; {@code code} is the server's close code, -1 if it sent none. */
    void closed(Socket socket, int code, String why);
  }

  private final EventLoopGroup group;
  private final Bootstrap bootstrap;

  WsClient(int threads) {
    this.group = new MultiThreadIoEventLoopGroup(threads, r -> {
      Thread t = new Thread(r, "bench-ws-client");
      t.setDaemon(true);
      return t;
    }, NioIoHandler.newFactory());
    this.bootstrap = new Bootstrap().group(group).channel(NioSocketChannel.class)
        .option(ChannelOption.TCP_NODELAY, true)
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 10_000);
  }

  /** Opens a WebSocket to {@code uri} on 127.0.0.1:{@code port}; the listener hears of everything. */
  Socket connect(int port, URI uri, Listener listener) {
    Socket socket = new Socket(listener);
    WebSocketClientProtocolConfig config = WebSocketClientProtocolConfig.newBuilder()
        .webSocketUri(uri)
        .version(WebSocketVersion.V13)
        .customHeaders(new DefaultHttpHeaders())
        .maxFramePayloadLength(1 << 20)
        .handleCloseFrames(false) // answered below, then the server closes the connection
        .dropPongFrames(true)
        .handshakeTimeoutMillis(10_000)
        .build();
    bootstrap.clone().handler(new ChannelInitializer<SocketChannel>() {
      @Override
      protected void initChannel(SocketChannel ch) {
        ch.pipeline().addLast(new HttpClientCodec(), new HttpObjectAggregator(8192),
            new WebSocketClientProtocolHandler(config), new WebSocketFrameAggregator(1 << 20), socket.handler);
      }
    }).connect(new InetSocketAddress("127.0.0.1", port)).addListener(f -> {
      if (!f.isSuccess()) {
        socket.gone(-1, "connect failed");
      }
    });
    return socket;
  }

  @Override
  public void close() {
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
  }

  /** One WebSocket. */
  static final class Socket {
    private final Listener listener;
    private volatile Channel channel;
    private int closeCode = -1;
    private boolean reported;
    final Handler handler = new Handler();

    private Socket(Listener listener) {
      this.listener = listener;
    }

    /** Sends one binary message (takes ownership of {@code data}); dropped if not open. */
    void send(ByteBuf data) {
      Channel c = channel;
      if (c != null) {
        c.writeAndFlush(new BinaryWebSocketFrame(data));
      } else {
        data.release();
      }
    }

    void send(byte[] data) {
      send(Unpooled.wrappedBuffer(data));
    }

    /** Closes the TCP connection at once. */
    void abort() {
      Channel c = channel;
      if (c != null) {
        c.close();
      }
    }

    private void gone(int code, String why) {
      if (!reported) {
        reported = true;
        listener.closed(this, code, why);
      }
    }

    private final class Handler extends ChannelInboundHandlerAdapter {
      @Override
      public void channelActive(ChannelHandlerContext ctx) {
        channel = ctx.channel();
        ctx.fireChannelActive();
      }

      @Override
      public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt == WebSocketClientProtocolHandler.ClientHandshakeStateEvent.HANDSHAKE_COMPLETE) {
          listener.opened(Socket.this);
        } else if (evt == WebSocketClientProtocolHandler.ClientHandshakeStateEvent.HANDSHAKE_TIMEOUT) {
          gone(-1, "handshake timeout");
          ctx.close();
        }
        ctx.fireUserEventTriggered(evt);
      }

      @Override
      public void channelRead(ChannelHandlerContext ctx, Object msg) {
        try {
          if (msg instanceof BinaryWebSocketFrame frame) {
            listener.message(Socket.this, frame.content());
          } else if (msg instanceof CloseWebSocketFrame close) {
            closeCode = close.statusCode();
            ctx.writeAndFlush(new CloseWebSocketFrame(1000, ""));
          }
        } finally {
          ReferenceCountUtil.release(msg);
        }
      }

      @Override
      public void channelInactive(ChannelHandlerContext ctx) {
        gone(closeCode, closeCode == -1 ? "connection closed without a close frame" : "closed with " + closeCode);
      }

      @Override
      public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        gone(-1, cause.getClass().getSimpleName());
        ctx.close();
      }
    }
  }
}
