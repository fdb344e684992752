package dev.checkmate.relay.transport.http;

import dev.checkmate.relay.error.RelayError;
import dev.checkmate.relay.security.ConnectionLimiter;
import dev.checkmate.relay.security.TrustedProxies;
import dev.checkmate.relay.admission.Admission;
import dev.checkmate.relay.transport.ParticipantStream;
import dev.checkmate.relay.transport.http.grpcweb.GrpcWebHttp;
import dev.checkmate.relay.transport.http.grpcweb.SplitStreams;
import dev.checkmate.relay.transport.http.websocket.WebSocketCall;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The relay's HTTP/1.1 port, for browsers: WebSocket on {@code /ws}, gRPC-Web served directly
 * ({@code POST /relay.v1.RelayService/Receive|Send}, for development without Envoy),
 * {@code GET /healthz}, and in development a static folder (the browser demo). Same bind address,
 * TLS settings and hub as the gRPC server.
 */
public final class HttpFrontend implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(HttpFrontend.class);
  /** A participant's outbound side counts as full above this (like grpc's 32 KiB ready threshold). */
  static final WriteBufferWaterMark WATER_MARK = new WriteBufferWaterMark(16 * 1024, 32 * 1024);

  private final HttpPortSettings config;
  private final Admission admission;
  private final ParticipantStream.Limits streamLimits;
  private final ConnectionLimiter connections;
  private final BooleanSupplier serving;
  private final OriginPolicy origins;
  private final TrustedProxies trustedProxies;
  private final GrpcWebHttp grpcWeb;
  private final StaticFiles staticFiles;
  private final WebSocketCall.Settings webSockets;
  private final SslContext tls;
  private final EventLoopGroup group;
  private final ChannelGroup channels = new DefaultChannelGroup("relay-http", GlobalEventExecutor.INSTANCE);
  private Channel server;

  public HttpFrontend(HttpPortSettings config, Admission admission, ParticipantStream.Limits streamLimits,
      ConnectionLimiter connections, SplitStreams splitStreams, BooleanSupplier serving) {
    this.config = config;
    this.admission = admission;
    this.streamLimits = streamLimits;
    this.connections = connections;
    this.serving = serving;
    this.origins = new OriginPolicy(config.allowedOrigins(), config.loopbackOnly());
    // Parsed once: behind a trusted proxy the client address comes from x-forwarded-for, as on gRPC.
    this.trustedProxies = TrustedProxies.parse(config.trustedProxies());
    this.grpcWeb = new GrpcWebHttp(splitStreams, serving);
    this.staticFiles = config.devStaticDir().map(StaticFiles::new).orElse(null);
    this.webSockets = new WebSocketCall.Settings(config.pingInterval(), maxMessageBytes(), config.maxFrameBytes(), serving);
    this.tls = config.tlsEnabled() ? serverTls(config) : null;
    // As many network threads as the gRPC port (one per two cores): both sockets of a session then
    // usually share a thread, and a relayed frame needs no cross-thread hand-off.
    this.group = new MultiThreadIoEventLoopGroup(config.eventLoopThreads(),
        r -> {
          Thread t = new Thread(r, "relay-http");
          t.setDaemon(true);
          return t;
        }, NioIoHandler.newFactory());
  }

  private static SslContext serverTls(HttpPortSettings config) {
    try {
      return SslContextBuilder.forServer(config.tlsCertificate().orElseThrow().toFile(), config.tlsPrivateKey().orElseThrow().toFile())
          .protocols("TLSv1.3")
          .build();
    } catch (IOException | IllegalArgumentException e) {
      throw new UncheckedIOException("cannot load TLS certificate/key for the HTTP port: " + e.getMessage(),
          e instanceof IOException io ? io : new IOException(e));
    }
  }

  /** Binds the port; returns once it accepts connections. */
  public void start() throws IOException {
    ServerBootstrap b = new ServerBootstrap()
        .group(group)
        .channel(NioServerSocketChannel.class)
        .option(ChannelOption.SO_BACKLOG, 1024)
        .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, WATER_MARK)
        .childOption(ChannelOption.TCP_NODELAY, true)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            // Per-address and total connection caps at accept (shared with the gRPC port), before
            // TLS or a single byte is read; a refused connection costs a descriptor for a moment.
            java.net.InetAddress peer = ch.remoteAddress() == null ? java.net.InetAddress.getLoopbackAddress()
                : ch.remoteAddress().getAddress();
            ConnectionLimiter.Refusal refused = connections.tryAcquire(peer);
            if (refused != null) {
              admission.hub().stats().rejected(RelayError.TOO_MANY_CONNECTIONS);
              refusals.refused(peer, refused);
              ch.unsafe().closeForcibly();
              return;
            }
            ch.closeFuture().addListener(f -> connections.release(peer));
            channels.add(ch);
            if (tls != null) {
              ch.pipeline().addLast("tls", tls.newHandler(ch.alloc()));
            }
            RequestDeadline deadline = new RequestDeadline(config.requestTimeout(), config.idleTimeout());
            ch.pipeline()
                .addLast(RequestDeadline.NAME, deadline)
                .addLast("http", new HttpServerCodec(4096, 8192, 8192))
                .addLast(RequestDeadline.RESPONSES, deadline.responses())
                .addLast("aggregator", new HttpObjectAggregator(maxRequestBytes()))
                .addLast("router", new HttpRouter(HttpFrontend.this));
          }
        });
    try {
      server = b.bind(new InetSocketAddress(config.bindAddress(), config.port())).sync().channel();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while binding the HTTP port", e);
    } catch (Exception e) {
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
      throw new IOException("cannot bind the HTTP port " + config.bindAddress() + ":" + config.port()
          + ": " + e.getMessage(), e);
    }
    log.info("HTTP port {}:{} ({}): WebSocket /ws, gRPC-Web, /healthz{}", config.bindAddress(), port(),
        tls != null ? "TLS 1.3" : "plaintext", staticFiles != null ? ", dev static files from " + config.devStaticDir().get() : "");
  }

  /** The HTTP port's event loops, for the watchdog. */
  public Iterable<? extends java.util.concurrent.Executor> eventLoops() {
    return group;
  }

  public int port() {
    return ((InetSocketAddress) server.localAddress()).getPort();
  }

  /**
   * Largest WebSocket message read at all: like gRPC's transport cap (RelayServer), well above
   * the frame limit, so the hub reports ordinary oversize frames (close 4413, session told) and
   * only absurd messages are cut off by the decoder (close 1009).
   */
  int maxMessageBytes() {
    return (int) Math.min(Integer.MAX_VALUE, Math.max(4L * config.maxFrameBytes(), config.maxFrameBytes() + 65536L));
  }

  /** Largest HTTP request body (gRPC-Web Send may batch a few frames). */
  int maxRequestBytes() {
    return maxMessageBytes() + 16 * 1024;
  }

  /** Stops accepting and closes every connection (after the hub has ended its sessions). */
  @Override
  public void close() {
    if (server != null) {
      server.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
    }
    channels.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(3, TimeUnit.SECONDS);
  }

  private final dev.checkmate.relay.security.RefusalLog refusals = new dev.checkmate.relay.security.RefusalLog("HTTP");

  HttpPortSettings config() { return config; }
  Admission admission() { return admission; }
  ParticipantStream.Limits streamLimits() { return streamLimits; }
  boolean serving() { return serving.getAsBoolean(); }
  OriginPolicy origins() { return origins; }
  TrustedProxies trustedProxies() { return trustedProxies; }
  GrpcWebHttp grpcWeb() { return grpcWeb; }
  StaticFiles staticFiles() { return staticFiles; }
  WebSocketCall.Settings webSockets() { return webSockets; }
}
