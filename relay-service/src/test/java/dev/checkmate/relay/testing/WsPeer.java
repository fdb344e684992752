package dev.checkmate.relay.testing;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.checkmate.relay.proto.v1.ClientMessage;
import dev.checkmate.relay.proto.v1.Frame;
import dev.checkmate.relay.proto.v1.Join;
import dev.checkmate.relay.proto.v1.ServerMessage;
import dev.checkmate.relay.proto.v1.Terminate;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A bare WebSocket protocol peer (the JDK's client, no SDK), so tests see exactly what the relay
 * sends. With {@code autoRead=false} it takes nothing off the socket until {@link #read(long)}: a
 * stalled browser.
 */
public final class WsPeer implements AutoCloseable {
  /** How the relay closed the WebSocket. */
  public record Close(int code, String reason) {}

  public final LinkedBlockingQueue<ServerMessage> received = new LinkedBlockingQueue<>();
  public final CompletableFuture<Close> closed = new CompletableFuture<>();
  public final AtomicLong payloadBytesReceived = new AtomicLong();
  private final WebSocket ws;
  private long seq;

  private WsPeer(WebSocket ws) {
    this.ws = ws;
  }

  public static WsPeer connect(int port, String query, String origin, boolean autoRead) throws Exception {
    return connect(port, query, origin, autoRead, java.util.Map.of());
  }

  /** {@link #connect(int, String, String, boolean)} with extra request headers (e.g. X-Forwarded-For). */
  public static WsPeer connect(int port, String query, String origin, boolean autoRead, java.util.Map<String, String> headers)
      throws Exception {
    CompletableFuture<WsPeer> self = new CompletableFuture<>();
    WebSocket.Listener listener = new WebSocket.Listener() {
      private final ByteArrayOutputStream partial = new ByteArrayOutputStream();

      @Override
      public void onOpen(WebSocket webSocket) {
        if (autoRead) {
          webSocket.request(1);
        }
      }

      @Override
      public CompletionStage<?> onBinary(WebSocket webSocket, ByteBuffer data, boolean last) {
        byte[] chunk = new byte[data.remaining()];
        data.get(chunk);
        partial.writeBytes(chunk);
        if (last) {
          WsPeer peer = self.join();
          try {
            ServerMessage m = ServerMessage.parseFrom(partial.toByteArray());
            if (m.hasData()) {
              peer.payloadBytesReceived.addAndGet(m.getData().getPayload().size());
            }
            peer.received.add(m);
          } catch (InvalidProtocolBufferException e) {
            peer.closed.completeExceptionally(e);
          }
          partial.reset();
        }
        if (autoRead) {
          webSocket.request(1);
        }
        return null;
      }

      @Override
      public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
        self.join().closed.completeExceptionally(new AssertionError("relay sent a text message: " + data));
        return null;
      }

      @Override
      public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
        self.join().closed.complete(new Close(statusCode, reason));
        return null;
      }

      @Override
      public void onError(WebSocket webSocket, Throwable error) {
        self.join().closed.completeExceptionally(error);
      }
    };
    WebSocket.Builder builder = HttpClient.newHttpClient().newWebSocketBuilder().connectTimeout(Duration.ofSeconds(5));
    if (origin != null) {
      builder.header("Origin", origin);
    }
    headers.forEach(builder::header);
    WebSocket ws = builder.buildAsync(URI.create("ws://127.0.0.1:" + port + "/ws" + (query == null ? "" : "?" + query)), listener)
        .get(5, TimeUnit.SECONDS);
    WsPeer peer = new WsPeer(ws);
    self.complete(peer);
    return peer;
  }

  public static WsPeer join(int port, String ticket) throws Exception {
    WsPeer peer = connect(port, null, null, true);
    peer.sendJoin(ticket);
    return peer;
  }

  public void sendJoin(String ticket) {
    send(ClientMessage.newBuilder().setJoin(Join.newBuilder().setTicket(ticket)).build());
  }

  public synchronized void send(ClientMessage message) {
    sendRaw(message.toByteArray());
  }

  public synchronized CompletableFuture<WebSocket> sendRaw(byte[] bytes) {
    return ws.sendBinary(ByteBuffer.wrap(bytes), true);
  }

  public synchronized void sendText(String text) {
    ws.sendText(text, true).join();
  }

  /** Sends the next frame; the future completes once the bytes are on the socket. */
  public synchronized CompletableFuture<WebSocket> sendData(byte[] payload) {
    return sendRaw(ClientMessage.newBuilder().setData(Frame.newBuilder().setSeq(++seq).setPayload(ByteString.copyFrom(payload)))
        .build().toByteArray());
  }

  public void terminate(String reason) {
    send(ClientMessage.newBuilder().setTerminate(Terminate.newBuilder().setReason(reason)).build());
  }

  /** Lets a manual-read peer take {@code n} more messages. */
  public void read(long n) {
    ws.request(n);
  }

  /** Next message of the given kind, skipping heartbeats; fails the test after the timeout. */
  public ServerMessage next(ServerMessage.KindCase kind, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      ServerMessage m = received.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      if (m == null) {
        throw new AssertionError("no " + kind + " within " + timeout + "; closed=" + closed.getNow(null));
      }
      if (m.getKindCase() == kind) {
        return m;
      }
      if (m.getKindCase() != ServerMessage.KindCase.HEARTBEAT) {
        throw new AssertionError("expected " + kind + " but got " + m);
      }
    }
  }

  public ServerMessage next(ServerMessage.KindCase kind) throws InterruptedException {
    return next(kind, Duration.ofSeconds(5));
  }

  public Close awaitClose() throws Exception {
    return closed.get(10, TimeUnit.SECONDS);
  }

  /** Closes from the client side (like a page being closed), without terminating. */
  public void closeSocket() {
    ws.sendClose(WebSocket.NORMAL_CLOSURE, "bye");
  }

  @Override
  public void close() {
    ws.abort();
  }
}
