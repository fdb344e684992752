package dev.checkmate.relay.transport.websocket;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.checkmate.relay.proto.v1.ClientMessage;
import dev.checkmate.relay.proto.v1.Heartbeat;
import dev.checkmate.relay.proto.v1.ServerMessage;
import dev.checkmate.relay.session.Participant;
import dev.checkmate.relay.session.RelayError;
import dev.checkmate.relay.session.RelayException;
import dev.checkmate.relay.session.Seat;
import dev.checkmate.relay.session.SessionHub;
import dev.checkmate.relay.ticket.Ticket;
import io.grpc.Status;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufInputStream;
import io.netty.buffer.ByteBufOutputStream;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.CorruptedFrameException;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CorruptedWebSocketFrameException;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PongWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.net.InetAddress;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One participant's WebSocket: the WebSocket adapter onto the hub, the counterpart of the gRPC
 * {@code ConnectCall}. Every binary message is one ClientMessage / ServerMessage.
 *
 * <p>Flow control: the channel's auto-read is off. A socket read can decode several messages at
 * once, so decoded messages wait in a small queue (bounded by one read's bytes) and the hub gets
 * exactly one per {@link #requestNext}; the socket is read again only when that queue is empty and
 * the hub wants more. So while the peer cannot take more, this client's bytes stay in its own
 * TCP buffers, and TCP pushes back on it.
 *
 * <p>Threading: Netty callbacks and all inbound state run on the channel's event loop. The hub
 * calls {@link #send}, {@link #requestNext} and {@link #close} from any thread; they hop onto the
 * event loop, enqueued under this object's lock so that messages leave in the order the hub
 * produced them.
 */
final class WebSocketCall extends ChannelInboundHandlerAdapter implements Participant {
  private static final Logger log = LoggerFactory.getLogger(WebSocketCall.class);
  private static final ServerMessage HEARTBEAT = ServerMessage.newBuilder().setHeartbeat(Heartbeat.getDefaultInstance()).build();
  /** Beyond the channel's own buffer: bytes queued for the event loop but not yet written. */
  private static final int MAX_QUEUED_BYTES = 32 * 1024;

  private final HttpFrontend frontend;
  private final Channel channel;
  private final InetAddress address;
  private final String routedSessionId; // the ?session= query, or null
  private final AtomicBoolean permitHeld = new AtomicBoolean();
  private final AtomicLong queuedBytes = new AtomicLong();
  private volatile Seat seat;
  private volatile SessionHub.HubListener.Connection telemetry = SessionHub.HubListener.Connection.NONE;
  private volatile boolean closed; // a close frame was queued (or the channel is gone)

  // Event-loop state.
  private final ArrayDeque<ClientMessage> inbound = new ArrayDeque<>();
  private int demand;
  private boolean draining;
  private boolean oversizeFrameSeen;
  private boolean textSeen;
  private long lastInboundNanos = System.nanoTime();
  private long readWantedSinceNanos = System.nanoTime();
  private ScheduledFuture<?> helloTimer;
  private ScheduledFuture<?> pingTimer;
  private boolean closeFrameSent;

  WebSocketCall(HttpFrontend frontend, Channel channel, InetAddress address, String routedSessionId) {
    this.frontend = frontend;
    this.channel = channel;
    this.address = address;
    this.routedSessionId = routedSessionId;
  }

  /** Called on the event loop once the handshake is done and this handler is in the pipeline. */
  void start(String refusedOrigin) {
    telemetry = frontend.hub().listener().connectionOpened(transport(), address);
    if (refusedOrigin != null) {
      frontend.hub().stats().rejected(RelayError.NOT_AUTHORIZED);
      refuseSoon(CloseCodes.ORIGIN_NOT_ALLOWED, "origin " + refusedOrigin
          + " is not allowed; add it to the relay's --allowed-origin list");
      return;
    }
    if (!frontend.serving()) {
      refuseSoon(CloseCodes.DRAINING, "relay is shutting down; connect to another relay");
      return;
    }
    if (!frontend.limiter().tryAcquire(address)) {
      frontend.hub().stats().rejected(RelayError.TOO_MANY_STREAMS);
      refuseSoon(RelayError.TOO_MANY_STREAMS.webSocketCloseCode(), "too many open streams from this address (limit "
          + frontend.limiter().limit() + "); close idle sessions or spread clients");
      return;
    }
    permitHeld.set(true);
    long helloMs = frontend.config().helloTimeout().toMillis();
    helloTimer = channel.eventLoop().schedule(this::helloTimedOut, helloMs, TimeUnit.MILLISECONDS);
    long pingMs = frontend.config().webSocketPingInterval().toMillis();
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
    refusal = () -> closeWith(code, reason);
    channel.eventLoop().schedule(refusal, 200, TimeUnit.MILLISECONDS);
    demand = 1;
    drain();
  }

  private Runnable refusal;

  // ---- inbound (event loop) ----

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    try {
      lastInboundNanos = System.nanoTime();
      if (refusal != null && (msg instanceof BinaryWebSocketFrame || msg instanceof TextWebSocketFrame)) {
        refusal.run(); // refused at the handshake: nothing is read
        return;
      }
      if (msg instanceof BinaryWebSocketFrame frame) {
        if (closed) {
          return; // draining the socket while our close frame is on its way
        }
        ClientMessage message;
        try (ByteBufInputStream in = new ByteBufInputStream(frame.content())) {
          message = ClientMessage.parseFrom(in);
        } catch (InvalidProtocolBufferException e) {
          malformed("a binary message is not a valid ClientMessage: " + e.getMessage());
          return;
        } catch (IOException e) {
          malformed("unreadable message");
          return;
        }
        if (message.hasData() && message.getData().getPayload().size() > frontend.config().maxFrameBytes()) {
          oversizeFrameSeen = true; // the hub ends the session; the close code becomes 4413
        }
        inbound.add(message);
        drain();
      } else if (msg instanceof TextWebSocketFrame) {
        if (!closed) {
          textSeen = true;
          String why = "text messages are not supported: send each ClientMessage as a binary message";
          Seat s = seat;
          if (s != null) {
            s.protocolError(why);
          } else {
            frontend.hub().stats().rejected(RelayError.MALFORMED);
            closeWith(CloseCodes.UNSUPPORTED_DATA, why);
          }
        }
      } else if (msg instanceof PingWebSocketFrame ping) {
        if (!closed) {
          ctx.writeAndFlush(new PongWebSocketFrame(ping.content().retain()));
        }
      } else if (msg instanceof CloseWebSocketFrame close) {
        if (closed) {
          ctx.close(); // the client answered our close: done
        } else {
          // The client closed first: answer, and tell the session it left (not a terminate).
          closed = true;
          gone("participant closed its WebSocket without terminating ("
              + close.statusCode() + (close.reasonText().isEmpty() ? "" : " " + CloseCodes.truncate(close.reasonText())) + ")");
          ctx.writeAndFlush(new CloseWebSocketFrame(CloseCodes.NORMAL, "")).addListener(ChannelFutureListener.CLOSE);
        }
      }
      // Pong and continuation frames (aggregated earlier) need nothing beyond lastInboundNanos.
    } finally {
      ReferenceCountUtil.release(msg);
    }
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    drain();
  }

  /** Hands queued messages to the hub while it wants them; reads the socket when it wants more. */
  private void drain() {
    if (draining) {
      return; // re-entered from a hub callback on this thread: the outer loop continues
    }
    draining = true;
    try {
      while (demand > 0 && !inbound.isEmpty() && !closed) {
        demand--;
        dispatch(inbound.poll());
      }
      if (closed) {
        inbound.clear();
      } else if (demand > 0) {
        channel.read();
      }
    } finally {
      draining = false;
    }
  }

  private void dispatch(ClientMessage message) {
    if (refusal != null) {
      refusal.run();
      return;
    }
    Seat s = seat;
    if (s == null) {
      join(message);
      return;
    }
    switch (message.getKindCase()) {
      case DATA -> s.onFrame(message.getData());
      case ACK -> s.onAck(message.getAck().getSeq());
      case HEARTBEAT -> {
        send(HEARTBEAT);
        demand++; // consumed here, not by the hub: read the next one
      }
      case TERMINATE -> s.terminate(message.getTerminate().getReason());
      case JOIN -> s.protocolError("already joined: send Join only once per WebSocket");
      default -> s.protocolError("empty or unknown message kind; update the client");
    }
  }

  private void join(ClientMessage message) {
    cancel(helloTimer);
    if (message.getKindCase() != ClientMessage.KindCase.JOIN) {
      reject(RelayError.MALFORMED, "the first message on a WebSocket must be a Join carrying the ticket");
      return;
    }
    if (!frontend.limiter().tryJoinAttempt(address)) {
      reject(RelayError.RATE_LIMITED, "too many join attempts from this address; retry in a second");
      return;
    }
    // Browsers cannot set headers on a WebSocket: the client's W3C trace context comes in the Join.
    try (io.opentelemetry.context.Scope ignored =
             dev.checkmate.relay.telemetry.RemoteTraceContext.fromJoin(message.getJoin()).makeCurrent()) {
      String presented = message.getJoin().getTicket();
      seat = telemetry.join(() -> {
        // The same checks as a gRPC Join: the routed session (?session=) and the expected role.
        Ticket ticket = frontend.verifier().verify(presented, routedSessionId, message.getJoin().getExpectedRole());
        return frontend.hub().join(ticket, this);
      });
      readWantedSinceNanos = System.nanoTime();
    } catch (RelayException e) {
      reject(e.error(), e.getMessage());
    }
  }

  private void malformed(String why) {
    Seat s = seat;
    if (s != null) {
      s.protocolError(why);
    } else {
      reject(RelayError.MALFORMED, why);
    }
  }

  private void reject(RelayError error, String message) {
    telemetry.rejected(error);
    if (error != RelayError.ROLE_TAKEN && error != RelayError.SESSION_ENDED) {
      // The hub counts its own refusals; these come from before the hub.
      frontend.hub().stats().rejected(error);
    }
    closeWith(error.webSocketCloseCode(), message);
  }

  private void helloTimedOut() {
    if (seat == null && !closed) {
      reject(RelayError.HELLO_TIMEOUT, "no Join within " + frontend.config().helloTimeout().toSeconds()
          + " s of opening the WebSocket");
    }
  }

  /**
   * Pings the client every interval. A socket the relay is trying to read from that has sent
   * nothing (not even a pong) for two intervals is dead: it is closed and the session told. While
   * reads are paused for back-pressure the socket is not read, so silence proves nothing then.
   */
  private void keepAlive() {
    if (closed) {
      return;
    }
    long now = System.nanoTime();
    long limit = 2 * frontend.config().webSocketPingInterval().toNanos();
    boolean reading = demand > 0 && inbound.isEmpty();
    if (reading && now - Math.max(lastInboundNanos, readWantedSinceNanos) > limit) {
      log.debug("closing silent WebSocket from {}", address);
      closed = true;
      gone("WebSocket went silent (no pong)");
      channel.close();
      return;
    }
    if (!reading) {
      readWantedSinceNanos = now;
    }
    channel.writeAndFlush(new PingWebSocketFrame());
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    if (ctx.channel().isWritable()) {
      Seat s = seat;
      if (s != null) {
        s.onWritable();
      }
    }
    ctx.fireChannelWritabilityChanged();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    closed = true;
    gone("WebSocket closed without terminating");
    inbound.clear();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    boolean tooBig = cause instanceof TooLongFrameException
        || (cause instanceof CorruptedWebSocketFrameException c && c.closeStatus().code() == CloseCodes.MESSAGE_TOO_BIG);
    if (tooBig) {
      frontend.hub().stats().rejected(RelayError.FRAME_TOO_LARGE);
      Seat s = seat;
      if (s != null) {
        s.left("sent a WebSocket message larger than the limit");
      }
      closeWith(CloseCodes.MESSAGE_TOO_BIG, "message larger than " + frontend.maxMessageBytes()
          + " bytes; frames may carry at most " + frontend.config().maxFrameBytes() + " payload bytes");
    } else if (cause instanceof CorruptedFrameException) {
      closeWith(1002, "WebSocket protocol error: " + CloseCodes.truncate(String.valueOf(cause.getMessage())));
    } else {
      log.debug("WebSocket from {} failed", address, cause);
      ctx.close();
    }
  }

  private void gone(String detail) {
    telemetry.closed();
    cancel(helloTimer);
    cancel(pingTimer);
    Seat s = seat;
    if (s != null) {
      s.left(detail);
    }
    releasePermit();
  }

  // ---- outbound (any thread) ----

  @Override
  public void send(ServerMessage message) {
    int size = message.getSerializedSize();
    synchronized (this) {
      if (closed) {
        return;
      }
      queuedBytes.addAndGet(size);
      channel.eventLoop().execute(() -> write(message, size));
    }
  }

  private void write(ServerMessage message, int size) {
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
    // isReady() also counts bytes queued for the event loop; once they are handed to the channel a
    // parked peer may resume even though the channel's writability never changed.
    if (queuedBytes.get() < MAX_QUEUED_BYTES && channel.isWritable()) {
      Seat s = seat;
      if (s != null) {
        s.onWritable();
      }
    }
  }

  @Override
  public boolean isReady() {
    return channel.isWritable() && queuedBytes.get() < MAX_QUEUED_BYTES;
  }

  @Override
  public void requestNext() {
    channel.eventLoop().execute(() -> {
      if (demand == 0 && inbound.isEmpty()) {
        readWantedSinceNanos = System.nanoTime();
      }
      demand++;
      drain();
    });
  }

  @Override
  public void close(Status status) {
    int code = CloseCodes.forStatus(status);
    if (code == RelayError.RATE_LIMITED.webSocketCloseCode() && oversizeFrameSeen) {
      code = RelayError.FRAME_TOO_LARGE.webSocketCloseCode();
    } else if (code == RelayError.MALFORMED.webSocketCloseCode() && textSeen) {
      code = CloseCodes.UNSUPPORTED_DATA;
    }
    closeWith(code, CloseCodes.reason(status));
  }

  /**
   * Queues the close frame after everything already queued, then keeps reading (and discarding)
   * until the client answers or a short grace period passes, so the client sees the code.
   */
  private void closeWith(int code, String reason) {
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      channel.eventLoop().execute(() -> {
        telemetry.closed();
        cancel(helloTimer);
        cancel(pingTimer);
        releasePermit();
        if (!channel.isActive() || closeFrameSent) {
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
  }

  private void releasePermit() {
    if (permitHeld.compareAndSet(true, false)) {
      frontend.limiter().release(address);
    }
  }

  private static void cancel(ScheduledFuture<?> f) {
    if (f != null) {
      f.cancel(false);
    }
  }

  @Override
  public String transport() {
    return "websocket";
  }
}
