package dev.checkmate.relay.transport.http;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.LastHttpContent;
import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Every state of an HTTP/1.1 connection on the relay's HTTP port has a deadline:
 *
 * <ul>
 *   <li>a new connection, and a kept-alive one from the first byte of its next request, must
 *       deliver the whole request (request line, headers, body) within {@code requestTimeout} —
 *       slow-header and slow-body clients are closed, however steadily they trickle;
 *   <li>a kept-alive connection waiting for its next request is closed after {@code idleTimeout};
 *   <li>while the relay answers (a unary response, a gRPC-Web Receive stream) the connection has
 *       no deadline here: the answer ends it, and a Receive has its own keep-alive and write-stall
 *       rules;
 *   <li>after a WebSocket upgrade this handler leaves the pipeline (the WebSocket's hello timeout,
 *       pings and write-stall rules take over).
 * </ul>
 *
 * Sits right after TLS (whose handshake has its own timeout), before the HTTP codec, so it sees
 * raw bytes; its {@link #responses()} handler sits after the codec, where a response's end is
 * still an HTTP object. Runs on the channel's event loop; no per-byte work beyond a state check.
 */
final class RequestDeadline extends io.netty.channel.ChannelInboundHandlerAdapter {
  static final String NAME = "request-deadline";
  static final String RESPONSES = "response-end";

  private enum State { READING, BUSY, IDLE }

  private final long requestNanos;
  private final long idleNanos;
  private State state = State.READING;
  private ScheduledFuture<?> timer;
  private ChannelHandlerContext ctx;

  RequestDeadline(Duration requestTimeout, Duration idleTimeout) {
    this.requestNanos = requestTimeout.toNanos();
    this.idleNanos = idleTimeout.toNanos();
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
    arm(requestNanos); // a new connection must send its first request in time
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    cancel();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    cancel();
    super.channelInactive(ctx);
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
    if (state == State.IDLE && msg instanceof ByteBuf b && b.isReadable()) {
      state = State.READING;
      arm(requestNanos);
    }
    super.channelRead(ctx, msg);
  }

  /** The router has the whole request: the relay is answering now. */
  static void requestReceived(ChannelHandlerContext any) {
    RequestDeadline d = any.pipeline().get(RequestDeadline.class);
    if (d != null) {
      d.state = State.BUSY;
      d.cancel();
    }
  }

  /** The handler to put right after the HTTP codec: it sees each response's end. */
  io.netty.channel.ChannelOutboundHandler responses() {
    return new io.netty.channel.ChannelOutboundHandlerAdapter() {
      @Override
      public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
        if (msg instanceof LastHttpContent) {
          // The answer is complete once written: from then on the connection waits for its next request.
          promise = promise.unvoid();
          promise.addListener((ChannelFutureListener) f -> {
            if (state == State.BUSY && f.channel().isActive()) {
              state = State.IDLE;
              arm(idleNanos);
            }
          });
        }
        super.write(ctx, msg, promise);
      }
    };
  }

  private void arm(long nanos) {
    cancel();
    timer = ctx.executor().schedule(this::expired, nanos, TimeUnit.NANOSECONDS);
  }

  private void cancel() {
    if (timer != null) {
      timer.cancel(false);
      timer = null;
    }
  }

  private void expired() {
    if (state != State.BUSY && ctx.channel().isActive()) {
      ctx.channel().close();
    }
  }
}
