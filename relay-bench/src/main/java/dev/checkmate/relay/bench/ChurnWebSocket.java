package dev.checkmate.relay.bench;

import com.google.common.util.concurrent.ListenableFuture;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.checkmate.relay.proto.v1.ClientMessage;
import dev.checkmate.relay.proto.v1.CreateSessionRequest;
import dev.checkmate.relay.proto.v1.CreateSessionResponse;
import dev.checkmate.relay.proto.v1.RelayServiceGrpc;
import dev.checkmate.relay.proto.v1.ServerMessage;
import io.grpc.ManagedChannel;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBufInputStream;
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
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;

/**
 * W8 over WebSocket (what browsers use): tickets are made beforehand with CreateSession (not part
 * of the measured window), then each participant opens its own WebSocket to {@code /ws}, joins,
 * runs the round trips, and answers the relay's close frame; the relay closes the TCP connection.
 * A bare Netty client: no SDK, no JDK HttpClient threads.
 */
final class ChurnWebSocket implements ChurnDriver.Layout {
  private final int wsPort;
  private final ManagedChannel control;
  private final EventLoopGroup group;
  private final Bootstrap bootstrap;
  private final ConcurrentLinkedQueue<CreateSessionResponse> tickets = new ConcurrentLinkedQueue<>();

  ChurnWebSocket(Clients.Factory factory, int grpcPort, int wsPort, int window, int threads) {
    this.wsPort = wsPort;
    this.control = factory.channel(grpcPort, window);
    this.group = new MultiThreadIoEventLoopGroup(threads, r -> {
      Thread t = new Thread(r, "w8-ws-client");
      t.setDaemon(true);
      return t;
    }, NioIoHandler.newFactory());
    this.bootstrap = new Bootstrap().group(group).channel(NioSocketChannel.class)
        .option(ChannelOption.TCP_NODELAY, true)
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 10_000);
  }

  @Override
  public String name() {
    return "websocket";
  }

  /** Makes enough tickets for the step (CreateSession over gRPC, 500 at a time), before the clock starts. */
  @Override
  public void prepare(int sessions) throws Exception {
    RelayServiceGrpc.RelayServiceFutureStub stub = RelayServiceGrpc.newFutureStub(control);
    int need = sessions - tickets.size();
    while (need > 0) {
      int m = Math.min(500, need);
      List<ListenableFuture<CreateSessionResponse>> batch = new ArrayList<>(m);
      for (int i = 0; i < m; i++) {
        batch.add(stub.createSession(ChurnPeers.CREATE));
      }
      for (ListenableFuture<CreateSessionResponse> f : batch) {
        tickets.add(f.get(60, TimeUnit.SECONDS));
      }
      need -= m;
    }
  }

  private static final class State {
    volatile Channel prover;
    volatile Channel verifier;
  }

  @Override
  public void start(ChurnDriver.Session s) {
    CreateSessionResponse r = tickets.poll();
    if (r == null) {
      s.fail("no ticket made beforehand");
      return;
    }
    State st = new State();
    s.state = st;
    ChurnPeers.Pair pair = new ChurnPeers.Pair(s);
    URI uri = URI.create("ws://127.0.0.1:" + wsPort + "/ws?session=" + r.getSessionId());
    connect(uri, new Socket(pair, true, r.getProverTicket()), c -> st.prover = c);
    connect(uri, new Socket(pair, false, r.getVerifierTicket()), c -> st.verifier = c);
  }

  private void connect(URI uri, Socket socket, java.util.function.Consumer<Channel> opened) {
    WebSocketClientProtocolConfig config = WebSocketClientProtocolConfig.newBuilder()
        .webSocketUri(uri)
        .version(WebSocketVersion.V13)
        .customHeaders(new DefaultHttpHeaders())
        .maxFramePayloadLength(1 << 20)
        .handleCloseFrames(false) // Socket answers the relay's close frame itself
        .dropPongFrames(true)
        .handshakeTimeoutMillis(10_000)
        .build();
    bootstrap.clone().handler(new ChannelInitializer<SocketChannel>() {
      @Override
      protected void initChannel(SocketChannel ch) {
        ch.pipeline().addLast(new HttpClientCodec(), new HttpObjectAggregator(8192),
            new WebSocketClientProtocolHandler(config), new WebSocketFrameAggregator(1 << 20), socket.handler);
      }
    }).connect(new InetSocketAddress("127.0.0.1", wsPort)).addListener(f -> {
      if (!f.isSuccess()) {
        socket.onClosed(false, "WebSocket connect failed");
      }
    });
    socket.opened = opened;
  }

  @Override
  public void abort(ChurnDriver.Session s) {
    if (s.state instanceof State st) {
      if (st.prover != null) {
        st.prover.close();
      }
      if (st.verifier != null) {
        st.verifier.close();
      }
    }
  }

  @Override
  public void close() {
    control.shutdownNow();
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
  }

  /** One participant's WebSocket. */
  private static final class Socket extends ChurnPeers.Peer {
    private final String ticket;
    private volatile Channel channel;
    volatile java.util.function.Consumer<Channel> opened;
    private boolean closeFrameSeen;
    private int closeCode = -1;
    final Handler handler = new Handler();

    Socket(ChurnPeers.Pair pair, boolean prover, String ticket) {
      super(pair, prover);
      this.ticket = ticket;
    }

    @Override
    void send(ClientMessage m) {
      Channel c = channel;
      if (c != null) {
        c.writeAndFlush(new BinaryWebSocketFrame(Unpooled.wrappedBuffer(m.toByteArray())));
      }
    }

    private final class Handler extends ChannelInboundHandlerAdapter {
      @Override
      public void channelActive(ChannelHandlerContext ctx) {
        channel = ctx.channel();
        java.util.function.Consumer<Channel> o = opened;
        if (o != null) {
          o.accept(ctx.channel());
        }
        ctx.fireChannelActive();
      }

      @Override
      public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt == WebSocketClientProtocolHandler.ClientHandshakeStateEvent.HANDSHAKE_COMPLETE) {
          send(ChurnPeers.join(ticket));
        } else if (evt == WebSocketClientProtocolHandler.ClientHandshakeStateEvent.HANDSHAKE_TIMEOUT) {
          onClosed(false, "WebSocket handshake timeout");
          ctx.close();
        }
        ctx.fireUserEventTriggered(evt);
      }

      @Override
      public void channelRead(ChannelHandlerContext ctx, Object msg) {
        try {
          if (msg instanceof BinaryWebSocketFrame frame) {
            try (ByteBufInputStream in = new ByteBufInputStream(frame.content())) {
              onMessage(ServerMessage.parseFrom(in));
            } catch (InvalidProtocolBufferException e) {
              onClosed(false, "bad ServerMessage");
              ctx.close();
            } catch (IOException e) {
              onClosed(false, "unreadable ServerMessage");
              ctx.close();
            }
          } else if (msg instanceof CloseWebSocketFrame close) {
            closeFrameSeen = true;
            closeCode = close.statusCode();
            // Answer; the relay closes the TCP connection once it has our close frame.
            ctx.writeAndFlush(new CloseWebSocketFrame(1000, ""));
          }
        } finally {
          ReferenceCountUtil.release(msg);
        }
      }

      @Override
      public void channelInactive(ChannelHandlerContext ctx) {
        boolean ok = closeFrameSeen && closeCode == 1000;
        onClosed(ok, ok ? null : (prover ? "prover " : "verifier ") + "WebSocket closed with " + closeCode);
      }

      @Override
      public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        onClosed(false, "WebSocket " + cause.getClass().getSimpleName());
        ctx.close();
      }
    }
  }
}
