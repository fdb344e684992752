package dev.checkmate.relay.transport.http.grpcweb;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageLite;
import dev.checkmate.relay.proto.v1.ReceiveRequest;
import dev.checkmate.relay.proto.v1.SendRequest;
import dev.checkmate.relay.proto.v1.ServerMessage;
import io.grpc.Status;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.AttributeKey;
import io.netty.util.concurrent.GenericFutureListener;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;

/**
 * gRPC-Web served directly on the relay's HTTP port (binary {@code application/grpc-web+proto}),
 * for development and tests without Envoy; in production Envoy's grpc_web filter calls the same
 * methods over gRPC. Framing (PROTOCOL-WEB.md): every message is a 5-byte prefix (flag 0, 4-byte
 * big-endian length) plus the message; the trailers follow as one frame with flag 0x80 holding
 * {@code grpc-status} and {@code grpc-message} lines. CORS is answered for allowed origins.
 */
public final class GrpcWebHttp {
  /** Set on a channel while a Receive streams on it: called when the channel becomes writable. */
  public static final AttributeKey<Runnable> ON_WRITABLE = AttributeKey.valueOf("relay-grpc-web-on-writable");
  static final String RECEIVE_PATH = "/relay.v1.RelayService/Receive";
  static final String SEND_PATH = "/relay.v1.RelayService/Send";
  private static final String CONTENT_TYPE = "application/grpc-web+proto";
  private static final int MAX_QUEUED_BYTES = 32 * 1024;

  private final SplitStreams streams;
  private final BooleanSupplier serving;

  public GrpcWebHttp(SplitStreams streams, BooleanSupplier serving) {
    this.streams = streams;
    this.serving = serving;
  }

  public static boolean handles(String path) {
    return path.equals(RECEIVE_PATH) || path.equals(SEND_PATH);
  }

  /** Answers a CORS preflight; {@code origin} is null when the origin is not allowed. */
  public void preflight(ChannelHandlerContext ctx, FullHttpRequest req, String origin) {
    FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
        origin == null ? HttpResponseStatus.FORBIDDEN : HttpResponseStatus.NO_CONTENT);
    if (origin != null) {
      cors(res.headers(), origin);
      res.headers().set(HttpHeaderNames.ACCESS_CONTROL_ALLOW_METHODS, "POST, OPTIONS");
      res.headers().set(HttpHeaderNames.ACCESS_CONTROL_ALLOW_HEADERS,
          "content-type, x-grpc-web, x-user-agent, x-session-id, grpc-timeout, traceparent, tracestate");
      res.headers().set(HttpHeaderNames.ACCESS_CONTROL_MAX_AGE, "600");
    }
    finish(ctx, req, res);
  }

  public void handle(ChannelHandlerContext ctx, FullHttpRequest req, String origin, InetAddress address) {
    if (req.method() != HttpMethod.POST) {
      finish(ctx, req, plain(HttpResponseStatus.METHOD_NOT_ALLOWED, "gRPC-Web calls are POST requests\n"));
      return;
    }
    String type = req.headers().get(HttpHeaderNames.CONTENT_TYPE, "");
    if (!(type.equals("application/grpc-web") || type.startsWith("application/grpc-web+proto"))) {
      finish(ctx, req, plain(HttpResponseStatus.UNSUPPORTED_MEDIA_TYPE,
          "this endpoint speaks binary gRPC-Web (content-type application/grpc-web+proto); "
              + "grpc-web-text is available through Envoy\n"));
      return;
    }
    byte[] body;
    try {
      body = unframe(req.content());
    } catch (IllegalArgumentException e) {
      unary(ctx, req, origin, null, Status.INVALID_ARGUMENT.withDescription(e.getMessage()));
      return;
    }
    String path = req.uri().contains("?") ? req.uri().substring(0, req.uri().indexOf('?')) : req.uri();
    if (path.equals(RECEIVE_PATH)) {
      receive(ctx, req, origin, address, body);
    } else {
      send(ctx, req, origin, address, body);
    }
  }

  private void receive(ChannelHandlerContext ctx, FullHttpRequest req, String origin, InetAddress address, byte[] body) {
    ReceiveRequest request;
    try {
      request = ReceiveRequest.parseFrom(body);
    } catch (InvalidProtocolBufferException e) {
      unary(ctx, req, origin, null, Status.INVALID_ARGUMENT.withDescription("the request is not a valid ReceiveRequest"));
      return;
    }
    if (!serving.getAsBoolean()) {
      unary(ctx, req, origin, null, Status.UNAVAILABLE.withDescription("relay is shutting down; connect to another relay"));
      return;
    }
    HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
    head.headers().set(HttpHeaderNames.CONTENT_TYPE, CONTENT_TYPE);
    head.headers().set(HttpHeaderNames.CACHE_CONTROL, "no-store");
    head.headers().set("x-accel-buffering", "no");
    HttpUtil.setTransferEncodingChunked(head, true);
    cors(head.headers(), origin);
    ctx.writeAndFlush(head);
    HttpStream stream = new HttpStream(ctx.channel(), HttpUtil.isKeepAlive(req));
    SplitStreams.ReceiveHandle handle;
    // Served here without gRPC's server interceptor: continue the page's W3C trace from the headers
    // (through Envoy the gRPC path extracts them instead).
    try (io.opentelemetry.context.Scope ignored = dev.checkmate.relay.telemetry.RemoteTraceContext
        .extract(req.headers().get("traceparent"), req.headers().get("tracestate")).makeCurrent()) {
      handle = streams.receive(request, req.headers().get("x-session-id"), address, stream);
    }
    stream.attach(handle);
  }

  private void send(ChannelHandlerContext ctx, FullHttpRequest req, String origin, InetAddress address, byte[] body) {
    SendRequest request;
    try {
      request = SendRequest.parseFrom(body);
    } catch (InvalidProtocolBufferException e) {
      unary(ctx, req, origin, null, Status.INVALID_ARGUMENT.withDescription("the request is not a valid SendRequest"));
      return;
    }
    boolean keepAlive = HttpUtil.isKeepAlive(req);
    streams.send(request, address).whenComplete((response, error) -> ctx.channel().eventLoop().execute(() -> {
      Status status = error == null ? Status.OK : Status.fromThrowable(error);
      FullHttpResponse res = response(origin, response, status);
      HttpUtil.setContentLength(res, res.content().readableBytes());
      res.headers().set(HttpHeaderNames.CONNECTION, keepAlive ? HttpHeaderValues.KEEP_ALIVE : HttpHeaderValues.CLOSE);
      var f = ctx.writeAndFlush(res);
      if (!keepAlive) {
        f.addListener(ChannelFutureListener.CLOSE);
      }
    }));
  }

  /** A complete gRPC-Web response: the message (if any) and the trailers frame. */
  private static FullHttpResponse response(String origin, MessageLite message, Status status) {
    ByteBuf body = Unpooled.buffer();
    if (message != null && status.isOk()) {
      body.writeBytes(frame(message.toByteArray(), false));
    }
    body.writeBytes(trailers(status));
    FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK, body);
    res.headers().set(HttpHeaderNames.CONTENT_TYPE, CONTENT_TYPE);
    res.headers().set(HttpHeaderNames.CACHE_CONTROL, "no-store");
    cors(res.headers(), origin);
    return res;
  }

  private static void unary(ChannelHandlerContext ctx, FullHttpRequest req, String origin, MessageLite message, Status status) {
    finish(ctx, req, response(origin, message, status));
  }

  private static FullHttpResponse plain(HttpResponseStatus status, String text) {
    FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
        Unpooled.copiedBuffer(text, StandardCharsets.UTF_8));
    res.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8");
    return res;
  }

  private static void finish(ChannelHandlerContext ctx, FullHttpRequest req, FullHttpResponse res) {
    boolean keepAlive = HttpUtil.isKeepAlive(req);
    HttpUtil.setContentLength(res, res.content().readableBytes());
    res.headers().set(HttpHeaderNames.CONNECTION, keepAlive ? HttpHeaderValues.KEEP_ALIVE : HttpHeaderValues.CLOSE);
    var f = ctx.writeAndFlush(res);
    if (!keepAlive) {
      f.addListener(ChannelFutureListener.CLOSE);
    }
  }

  private static void cors(HttpHeaders headers, String origin) {
    if (origin == null) {
      return; // not a browser: no CORS needed
    }
    headers.set(HttpHeaderNames.ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    headers.set(HttpHeaderNames.VARY, "Origin");
    headers.set(HttpHeaderNames.ACCESS_CONTROL_EXPOSE_HEADERS, "grpc-status, grpc-message");
  }

  /** The one message of a request body (compressed messages are refused). */
  static byte[] unframe(ByteBuf content) {
    if (content.readableBytes() < 5) {
      throw new IllegalArgumentException("gRPC-Web body shorter than one 5-byte frame header");
    }
    int flags = content.getUnsignedByte(content.readerIndex());
    long length = content.getUnsignedInt(content.readerIndex() + 1);
    if (flags != 0) {
      throw new IllegalArgumentException("compressed or trailer frames are not accepted in requests");
    }
    if (length != content.readableBytes() - 5) {
      throw new IllegalArgumentException("gRPC-Web body must hold exactly one message");
    }
    byte[] message = new byte[(int) length];
    content.getBytes(content.readerIndex() + 5, message);
    return message;
  }

  static byte[] frame(byte[] message, boolean trailer) {
    byte[] out = new byte[5 + message.length];
    out[0] = (byte) (trailer ? 0x80 : 0);
    out[1] = (byte) (message.length >>> 24);
    out[2] = (byte) (message.length >>> 16);
    out[3] = (byte) (message.length >>> 8);
    out[4] = (byte) message.length;
    System.arraycopy(message, 0, out, 5, message.length);
    return out;
  }

  static byte[] trailers(Status status) {
    StringBuilder sb = new StringBuilder("grpc-status:").append(status.getCode().value()).append("\r\n");
    if (status.getDescription() != null) {
      sb.append("grpc-message:").append(percentEncode(status.getDescription())).append("\r\n");
    }
    return frame(sb.toString().getBytes(StandardCharsets.US_ASCII), true);
  }

  /** grpc-message encoding: printable ASCII except '%' stays, everything else is %XX of UTF-8. */
  static String percentEncode(String text) {
    StringBuilder sb = new StringBuilder();
    for (byte b : text.getBytes(StandardCharsets.UTF_8)) {
      int c = b & 0xff;
      if (c >= 0x20 && c < 0x7f && c != '%') {
        sb.append((char) c);
      } else {
        sb.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
            .append(Character.toUpperCase(Character.forDigit(c & 0xf, 16)));
      }
    }
    return sb.toString();
  }

  /** A Receive's chunked HTTP response. Writes hop onto the event loop, in call order. */
  private static final class HttpStream implements SplitStreams.Downstream {
    private final Channel channel;
    private final boolean keepAlive;
    private final AtomicLong queuedBytes = new AtomicLong();
    private volatile SplitStreams.ReceiveHandle handle;
    private volatile boolean closed;
    private final GenericFutureListener<io.netty.util.concurrent.Future<? super Void>> onChannelClosed = f -> cancelled();

    HttpStream(Channel channel, boolean keepAlive) {
      this.channel = channel;
      this.keepAlive = keepAlive;
    }

    void attach(SplitStreams.ReceiveHandle h) {
      handle = h;
      if (closed) {
        return; // refused at once
      }
      channel.attr(ON_WRITABLE).set(h::onReady);
      channel.closeFuture().addListener(onChannelClosed);
      if (!channel.isActive()) {
        cancelled();
      }
    }

    private void cancelled() {
      if (!closed) {
        closed = true;
        SplitStreams.ReceiveHandle h = handle;
        if (h != null) {
          h.onCancel();
        }
      }
    }

    @Override
    public void send(ServerMessage message) {
      if (closed) {
        return;
      }
      byte[] bytes = frame(message.toByteArray(), false);
      queuedBytes.addAndGet(bytes.length);
      channel.eventLoop().execute(() -> {
        queuedBytes.addAndGet(-bytes.length);
        if (channel.isActive()) {
          channel.writeAndFlush(new DefaultHttpContent(Unpooled.wrappedBuffer(bytes)));
          // isReady() counts bytes queued for the event loop too: resume a parked peer once they
          // are handed on, since the channel's writability may never have changed.
          SplitStreams.ReceiveHandle h = handle;
          if (h != null && queuedBytes.get() < MAX_QUEUED_BYTES && channel.isWritable()) {
            h.onReady();
          }
        }
      });
    }

    @Override
    public boolean isReady() {
      return channel.isWritable() && queuedBytes.get() < MAX_QUEUED_BYTES;
    }

    @Override
    public void close(Status status) {
      if (closed) {
        return;
      }
      closed = true;
      byte[] trailer = trailers(status);
      channel.eventLoop().execute(() -> {
        channel.attr(ON_WRITABLE).set(null);
        channel.closeFuture().removeListener(onChannelClosed);
        if (channel.isActive()) {
          var f = channel.writeAndFlush(new DefaultLastHttpContent(Unpooled.wrappedBuffer(trailer)));
          if (!keepAlive) {
            f.addListener(ChannelFutureListener.CLOSE);
          } else if (!status.isOk()) {
            // A Receive ended by an error (the client may not be reading at all): the connection
            // is not kept for another request. Closed once the trailers are out, or in 2 s.
            f.addListener(ChannelFutureListener.CLOSE);
            channel.eventLoop().schedule(() -> {
              channel.close();
            }, 2, java.util.concurrent.TimeUnit.SECONDS);
          }
        }
      });
    }
  }
}
