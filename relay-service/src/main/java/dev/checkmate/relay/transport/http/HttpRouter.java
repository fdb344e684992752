package dev.checkmate.relay.transport.http;

import dev.checkmate.relay.transport.http.grpcweb.GrpcWebHttp;
import dev.checkmate.relay.transport.http.websocket.WebSocketCall;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.codec.http.websocketx.WebSocketDecoderConfig;
import io.netty.handler.codec.http.websocketx.WebSocketFrameAggregator;
import io.netty.handler.codec.http.websocketx.WebSocketServerHandshaker;
import io.netty.handler.codec.http.websocketx.WebSocketServerHandshakerFactory;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** Routes one HTTP request on the relay's HTTP port. Runs on the connection's event loop. */
final class HttpRouter extends SimpleChannelInboundHandler<FullHttpRequest> {
  static final String WS_PATH = "/ws";
  static final String HEALTH_PATH = "/healthz";

  private final HttpFrontend frontend;

  HttpRouter(HttpFrontend frontend) {
    this.frontend = frontend;
  }

  @Override
  protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
    RequestDeadline.requestReceived(ctx);
    if (!req.decoderResult().isSuccess()) {
      respond(ctx, req, HttpResponseStatus.BAD_REQUEST, "malformed HTTP request\n");
      return;
    }
    QueryStringDecoder uri = new QueryStringDecoder(req.uri());
    String path;
    try {
      // Both are decoded lazily and cached: a bad %-escape throws here, once, not mid-route.
      path = uri.path();
      uri.parameters();
    } catch (IllegalArgumentException e) {
      respond(ctx, req, HttpResponseStatus.BAD_REQUEST, "malformed request URI (bad %-escape)\n");
      return;
    }
    String origin = req.headers().get(HttpHeaderNames.ORIGIN);
    if (path.equals(HEALTH_PATH) && (req.method() == HttpMethod.GET || req.method() == HttpMethod.HEAD)) {
      boolean serving = frontend.serving();
      respond(ctx, req, serving ? HttpResponseStatus.OK : HttpResponseStatus.SERVICE_UNAVAILABLE,
          serving ? "SERVING\n" : "NOT_SERVING\n");
    } else if (path.equals(WS_PATH)) {
      upgrade(ctx, req, uri, origin);
    } else if (GrpcWebHttp.handles(path)) {
      boolean allowed = frontend.origins().allows(origin);
      if (req.method() == HttpMethod.OPTIONS) {
        frontend.grpcWeb().preflight(ctx, req, allowed ? origin : null);
      } else if (!allowed) {
        respond(ctx, req, HttpResponseStatus.FORBIDDEN, "origin " + dev.checkmate.relay.security.Echo.of(origin)
            + " is not allowed; add it to the relay's --allowed-origin list\n");
      } else {
        frontend.grpcWeb().handle(ctx, req, origin, clientAddress(ctx, req));
      }
    } else if (frontend.staticFiles() != null && (req.method() == HttpMethod.GET || req.method() == HttpMethod.HEAD)) {
      frontend.staticFiles().serve(ctx, req, path);
    } else {
      respond(ctx, req, HttpResponseStatus.NOT_FOUND, "not found: WebSocket is at " + WS_PATH + ", health at " + HEALTH_PATH + "\n");
    }
  }

  private void upgrade(ChannelHandlerContext ctx, FullHttpRequest req, QueryStringDecoder uri, String origin) {
    if (req.method() != HttpMethod.GET || !"websocket".equalsIgnoreCase(req.headers().get(HttpHeaderNames.UPGRADE))) {
      FullHttpResponse res = text(HttpResponseStatus.UPGRADE_REQUIRED, "this path only speaks WebSocket\n");
      res.headers().set(HttpHeaderNames.UPGRADE, "websocket");
      send(ctx, req, res);
      return;
    }
    List<String> session = uri.parameters().get("session");
    String routedSessionId = session == null || session.isEmpty() ? null : session.get(0);
    // A refused origin still gets the handshake, then a 4403 close with a reason a developer can
    // read in the browser console (a plain 403 shows up there as an unexplained 1006). Nothing the
    // page sends is read.
    String refusedOrigin = frontend.origins().allows(origin) ? null : origin;
    String scheme = frontend.config().tlsEnabled() ? "wss" : "ws";
    WebSocketServerHandshakerFactory factory = new WebSocketServerHandshakerFactory(
        scheme + "://" + req.headers().get(HttpHeaderNames.HOST) + WS_PATH, null,
        WebSocketDecoderConfig.newBuilder()
            .maxFramePayloadLength(frontend.maxMessageBytes())
            .allowExtensions(false)
            .closeOnProtocolViolation(false)
            .build());
    WebSocketServerHandshaker handshaker = factory.newHandshaker(req);
    if (handshaker == null) {
      WebSocketServerHandshakerFactory.sendUnsupportedVersionResponse(ctx.channel());
      return;
    }
    // Nothing is read until the hub asks for it; the Join is read by the call's first request.
    ctx.channel().config().setAutoRead(false);
    WebSocketCall call = new WebSocketCall(frontend.webSockets(), frontend.admission(), frontend.streamLimits(), ctx.channel(),
        clientAddress(ctx, req), routedSessionId);
    ChannelFuture done = handshaker.handshake(ctx.channel(), req);
    done.addListener((ChannelFutureListener) f -> {
      if (!f.isSuccess()) {
        f.channel().close();
        return;
      }
      f.channel().pipeline().addBefore(ctx.name(), "ws-aggregator", new WebSocketFrameAggregator(frontend.maxMessageBytes()));
      f.channel().pipeline().replace(ctx.name(), "ws-call", call.handler());
      // From here the WebSocket's own deadlines apply (hello timeout, pings, write stall).
      if (f.channel().pipeline().get(RequestDeadline.NAME) != null) {
        f.channel().pipeline().remove(RequestDeadline.NAME);
      }
      if (f.channel().pipeline().get(RequestDeadline.RESPONSES) != null) {
        f.channel().pipeline().remove(RequestDeadline.RESPONSES);
      }
      call.start(refusedOrigin);
    });
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    if (ctx.channel().isWritable()) {
      Runnable r = ctx.channel().attr(GrpcWebHttp.ON_WRITABLE).get();
      if (r != null) {
        r.run();
      }
    }
    ctx.fireChannelWritabilityChanged();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    ctx.close();
  }

  /**
   * The address to hold this client to (per-address limits, audit): the TCP peer, or behind a
   * trusted proxy the rightmost untrusted x-forwarded-for entry ({@link
   * dev.checkmate.relay.security.TrustedProxies#clientAddress}), the same rule as gRPC.
   */
  private InetAddress clientAddress(ChannelHandlerContext ctx, FullHttpRequest req) {
    InetAddress peer = remoteAddress(ctx);
    var proxies = frontend.trustedProxies();
    if (proxies.isEmpty()) {
      return peer;
    }
    List<String> forwarded = req.headers().getAll(X_FORWARDED_FOR);
    return proxies.clientAddress(peer, forwarded.isEmpty() ? null : String.join(",", forwarded));
  }

  private static final String X_FORWARDED_FOR = "x-forwarded-for";

  static InetAddress remoteAddress(ChannelHandlerContext ctx) {
    return ctx.channel().remoteAddress() instanceof InetSocketAddress inet ? inet.getAddress() : InetAddress.getLoopbackAddress();
  }

  static FullHttpResponse text(HttpResponseStatus status, String body) {
    FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
        Unpooled.copiedBuffer(body, StandardCharsets.UTF_8));
    res.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8");
    res.headers().set(HttpHeaderNames.CACHE_CONTROL, "no-store");
    return res;
  }

  static void respond(ChannelHandlerContext ctx, FullHttpRequest req, HttpResponseStatus status, String body) {
    send(ctx, req, text(status, body));
  }

  /** Sends a complete response, keeping the connection open when the client asked for that. */
  static void send(ChannelHandlerContext ctx, FullHttpRequest req, FullHttpResponse res) {
    boolean keepAlive = HttpUtil.isKeepAlive(req);
    HttpUtil.setContentLength(res, res.content().readableBytes());
    if (req.method() == HttpMethod.HEAD) {
      res.content().clear();
    }
    if (keepAlive) {
      res.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
      ctx.writeAndFlush(res);
    } else {
      res.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
      ctx.writeAndFlush(res).addListener(ChannelFutureListener.CLOSE);
    }
  }
}
