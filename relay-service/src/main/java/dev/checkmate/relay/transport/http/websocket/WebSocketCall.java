package dev.checkmate.relay.transport.http.websocket;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.checkmate.relay.error.RelayError;
import dev.checkmate.relay.proto.v1.ClientMessage;
import dev.checkmate.relay.proto.v1.ServerMessage;
import dev.checkmate.relay.admission.Admission;
import dev.checkmate.relay.transport.ParticipantStream;
import io.grpc.Status;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufInputStream;
import io.netty.buffer.ByteBufOutputStream;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandler;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.CorruptedFrameException;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CorruptedWebSocketFrameException;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PongWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One participant's WebSocket: the WebSocket adapter onto {@link ParticipantStream}, the
 * counterpart of the gRPC {@code ConnectCall}. Every binary message is one ClientMessage /
 * ServerMessage.
 *
 * <p>Flow control: the channel's auto-read is off. A socket read can decode several messages at
 * once, so decoded messages wait in a small queue (bounded by one read's bytes) and the hub gets
 * exactly one per {@link #requestNext}; the socket is read again only when that queue is empty,
 * the hub wants more and no keep-alive answer is owed. So while the peer cannot take more — or this
 * client does not read what the relay writes — this client's bytes stay in its own TCP buffers.
 *
 * <p>Threading: Netty callbacks and all inbound state run on the channel's event loop. The hub
 * calls in from any thread; writes hop onto the event loop in the order the base class issued them.
 */
public final class WebSocketCall extends ParticipantStream {
  /**
   * What a WebSocket needs from the HTTP port it arrived on.
   *
   * @param pingInterval how often the relay pings; a client silent for twice this is dropped
   * @param maxMessageBytes largest WebSocket message read at all (the decoder cuts off larger ones)
   * @param maxFrameBytes largest frame payload, named in the error for an oversized message
   * @param serving false while the relay drains: new WebSockets are refused
   */
  public record Settings(Duration pingInterval, int maxMessageBytes, int maxFrameBytes, BooleanSupplier serving) {}

  private static final Logger log = LoggerFactory.getLogger(WebSocketCall.class);
  /** Beyond the channel's own buffer: bytes queued for the event loop but not yet written. */
  private static final int MAX_QUEUED_BYTES = 32 * 1024;

  private final Settings settings;
  private final Channel channel;
  private final String routedSessionId; // the ?session= query, or null
  private final AtomicLong queuedBytes = new AtomicLong();
  private final Handler handler = new Handler();

  // Event-loop state.
  private final ArrayDeque<ClientMessage> inbound = new ArrayDeque<>();
  private int demand;
  private boolean draining;
  private boolean textSeen;
  private int closeCodeOverride;
  private long lastInboundNanos = System.nanoTime();
  private long readWantedSinceNanos = System.nanoTime();
  private ScheduledFuture<?> pingTimer;
  private boolean closeFrameSent;
  private boolean wireGone;
  private boolean starting;
  private Runnable refusal;

  public WebSocketCall(Settings settings, Admission admission, Limits limits, Channel channel, InetAddress address,
      String routedSessionId) {
    super(admission, limits, "websocket", address);
    this.settings = settings;
    this.channel = channel;
    this.routedSessionId = routedSessionId;
  }

  /** The Netty handler to put in the pipeline in place of the HTTP router. */
  public ChannelInboundHandler handler() {
    return handler;
  }

  /** Called on the event loop once the handshake is done and the handler is in the pipeline. */
  public void start(String refusedOrigin) {
    if (refusedOrigin != null) {
      admission().hub().stats().rejected(RelayError.NOT_AUTHORIZED);
      refuseSoon(CloseCodes.ORIGIN_NOT_ALLOWED, "origin " + dev.checkmate.relay.security.Echo.of(refusedOrigin)
          + " is not allowed; add it to the relay's --allowed-origin list");
      return;
    }
    if (!settings.serving().getAsBoolean()) {
      refuseSoon(CloseCodes.DRAINING, "relay is shutting down; connect to another relay");
      return;
    }
    starting = true;
    try {
      if (!open(true)) {
        return;
      }
    } finally {
      starting = false;
    }
    long pingMs = settings.pingInterval().toMillis();
    pingTimer = channel.eventLoop().scheduleAtFixedRate(this::keepAlive, pingMs, pingMs, TimeUnit.MILLISECONDS);
    demand = 1; // the Join
    drain();
  }

  /**
   * Refuses a connection decided at the handshake: closes when its first message arrives (unread)
   * or after a moment. A close frame glued to the 101 response trips some clients (the JDK's
   * WebSocket client may never complete its handshake then).
   */
  private void refuseSoon(int code, String reason) {
    refusal = () -> sendClose(code, reason);
    channel.eventLoop().schedule(refusal, 200, TimeUnit.MILLISECONDS);
    demand = 1;
    drain();
  }

  @Override
  protected String streamNoun() {
    return "WebSocket";
  }

  @Override
  protected JoinScope joinContext(ClientMessage join) {
    // Browsers cannot set headers on a WebSocket: the client's W3C trace context comes in the Join.
    return dev.checkmate.relay.telemetry.RemoteTraceContext.fromJoin(join.getJoin()).makeCurrent()::close;
  }

  // ---- inbound (event loop) ----

  private final class Handler extends ChannelInboundHandlerAdapter {
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      try {
        read(msg);
      } finally {
        ReferenceCountUtil.release(msg);
      }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
      drain();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
      if (ctx.channel().isWritable()) {
        onWritable();
        drain();
      }
      ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      wireGone = true;
      cancelPing();
      onGone("WebSocket closed without terminating");
      inbound.clear();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      boolean tooBig = cause instanceof TooLongFrameException
          || (cause instanceof CorruptedWebSocketFrameException c && c.closeStatus().code() == CloseCodes.MESSAGE_TOO_BIG);
      if (tooBig) {
        closeCodeOverride = CloseCodes.MESSAGE_TOO_BIG;
        closeFor(RelayError.FRAME_TOO_LARGE, "message larger than " + settings.maxMessageBytes()
            + " bytes; frames may carry at most " + settings.maxFrameBytes() + " payload bytes");
      } else if (cause instanceof CorruptedFrameException) {
        closeCodeOverride = 1002;
        closeFor(RelayError.MALFORMED, "WebSocket protocol error");
      } else {
        log.debug("WebSocket failed", cause);
        ctx.close();
      }
    }
  }

  private void read(Object msg) {
    lastInboundNanos = System.nanoTime();
    if (refusal != null) {
      if (msg instanceof BinaryWebSocketFrame || msg instanceof TextWebSocketFrame) {
        refusal.run(); // refused at the handshake: nothing is read
      }
      return;
    }
    if (isClosed()) {
      if (msg instanceof CloseWebSocketFrame) {
        channel.close(); // the client answered our close: done
      }
      return; // draining the socket while our close frame is on its way
    }
    if (msg instanceof BinaryWebSocketFrame frame) {
      ClientMessage message;
      try (ByteBufInputStream in = new ByteBufInputStream(frame.content())) {
        message = ClientMessage.parseFrom(in);
      } catch (InvalidProtocolBufferException e) {
        onMalformed("a binary message is not a valid ClientMessage");
        return;
      } catch (IOException e) {
        onMalformed("unreadable message");
        return;
      }
      inbound.add(message);
      drain();
    } else if (msg instanceof TextWebSocketFrame) {
      textSeen = true;
      onMalformed("text messages are not supported: send each ClientMessage as a binary message");
    } else if (msg instanceof PingWebSocketFrame ping) {
      // A pong carries the ping's payload (at most 125 bytes, RFC 6455 §5.5). Owed at most once.
      byte[] payload = ByteBufUtil.getBytes(ping.content());
      answerKeepAlive(() -> writeOnLoop(new PongWebSocketFrame(Unpooled.wrappedBuffer(payload)), payload.length),
          this::drain);
    } else if (msg instanceof CloseWebSocketFrame close) {
      // The client closed first: answer, and tell the session it left (not a terminate). Only
      // the client's close code is kept: its reason text is the client's and is not passed on.
      int code = close.statusCode();
      wireGone = true;
      cancelPing();
      onGone("participant closed its WebSocket without terminating (close code " + code + ")");
      channel.writeAndFlush(new CloseWebSocketFrame(CloseCodes.NORMAL, "")).addListener(ChannelFutureListener.CLOSE);
    }
    // Pong and continuation frames (aggregated earlier) need nothing beyond lastInboundNanos.
  }

  /** Hands queued messages to the hub while it wants them; reads the socket when it wants more. */
  private void drain() {
    if (draining) {
      return; // re-entered from a hub callback on this thread: the outer loop continues
    }
    draining = true;
    try {
      while (demand > 0 && !inbound.isEmpty() && !isClosed() && !readsHeld()) {
        demand--;
        ClientMessage next = inbound.poll();
        if (refusal != null) {
          refusal.run();
          return;
        }
        onClientMessage(next, routedSessionId);
      }
      if (isClosed()) {
        inbound.clear();
      } else if (demand > 0 && inbound.isEmpty() && !readsHeld()) {
        channel.read();
      }
    } finally {
      draining = false;
    }
  }

  /**
   * Pings the client every interval. A socket the relay is trying to read from that has sent
   * nothing (not even a pong) for two intervals is dead: it is closed and the session told. While
   * reads are paused for back-pressure the socket is not read, so silence proves nothing then. A
   * ping is only sent when the client can take it.
   */
  private void keepAlive() {
    if (isClosed()) {
      return;
    }
    long now = System.nanoTime();
    long limit = 2 * settings.pingInterval().toNanos();
    boolean reading = demand > 0 && inbound.isEmpty() && !readsHeld();
    if (reading && now - Math.max(lastInboundNanos, readWantedSinceNanos) > limit) {
      log.debug("closing a silent WebSocket");
      wireGone = true;
      cancelPing();
      onGone("WebSocket went silent (no pong)");
      channel.close();
      return;
    }
    if (!reading) {
      readWantedSinceNanos = now;
    }
    if (writable()) {
      writeOnLoop(new PingWebSocketFrame(), 0);
    }
  }

  // ---- primitives ----

  @Override
  protected void write(ServerMessage message) {
    int size = message.getSerializedSize();
    queuedBytes.addAndGet(size);
    channel.eventLoop().execute(() -> {
      queuedBytes.addAndGet(-size);
      if (closeFrameSent || !channel.isActive()) {
        return;
      }
      ByteBuf buf = channel.alloc().buffer(size);
      try (ByteBufOutputStream out = new ByteBufOutputStream(buf)) {
        message.writeTo(out);
      } catch (IOException e) {
        buf.release();
        throw new IllegalStateException(e);
      }
      channel.writeAndFlush(new BinaryWebSocketFrame(buf));
      afterWrite();
    });
  }

  /** A control frame the relay generates itself; the caller made sure the channel can take it. */
  private void writeOnLoop(io.netty.handler.codec.http.websocketx.WebSocketFrame frame, int size) {
    if (channel.eventLoop().inEventLoop()) {
      if (!closeFrameSent && channel.isActive()) {
        channel.writeAndFlush(frame);
      } else {
        frame.release();
      }
      return;
    }
    queuedBytes.addAndGet(size);
    channel.eventLoop().execute(() -> {
      queuedBytes.addAndGet(-size);
      if (!closeFrameSent && channel.isActive()) {
        channel.writeAndFlush(frame);
      } else {
        frame.release();
      }
    });
  }

  /**
   * Bytes queued for the event loop count toward readiness; once they are handed to the channel
   * a parked peer may resume even though the channel's writability never changed.
   */
  private void afterWrite() {
    if (queuedBytes.get() < MAX_QUEUED_BYTES && channel.isWritable()) {
      onWritable();
    }
  }

  @Override
  protected boolean writable() {
    return channel.isWritable() && queuedBytes.get() < MAX_QUEUED_BYTES;
  }

  @Override
  protected void readOne() {
    channel.eventLoop().execute(() -> {
      if (demand == 0 && inbound.isEmpty()) {
        readWantedSinceNanos = System.nanoTime();
      }
      demand++;
      drain();
    });
  }

  @Override
  protected void runSoon(Runnable task) {
    channel.eventLoop().execute(task);
  }

  @Override
  protected void terminate(Status status) {
    int code = closeCodeOverride != 0 ? closeCodeOverride : CloseCodes.forStatus(status);
    if (code == RelayError.MALFORMED.webSocketCloseCode() && textSeen) {
      code = CloseCodes.UNSUPPORTED_DATA;
    }
    if (starting) {
      refuseSoon(code, CloseCodes.reason(status)); // refused at the handshake (stream permit)
    } else {
      sendClose(code, CloseCodes.reason(status));
    }
  }

  /**
   * Queues the close frame after everything already queued, then keeps reading (and discarding)
   * until the client answers or a short grace period passes, so the client sees the code.
   */
  private void sendClose(int code, String reason) {
    channel.eventLoop().execute(() -> {
      cancelPing();
      if (wireGone || !channel.isActive() || closeFrameSent) {
        return;
      }
      closeFrameSent = true;
      channel.writeAndFlush(new CloseWebSocketFrame(code, CloseCodes.truncate(reason)));
      // Closing with unread bytes would reset the connection and could lose the close frame.
      channel.config().setAutoRead(true);
      channel.eventLoop().schedule(() -> {
        channel.close();
      }, 2, TimeUnit.SECONDS);
    });
  }

  private void cancelPing() {
    ScheduledFuture<?> t = pingTimer;
    if (t != null) {
      t.cancel(false);
    }
  }
}
