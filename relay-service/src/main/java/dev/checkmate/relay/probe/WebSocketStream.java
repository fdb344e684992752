package dev.checkmate.relay.probe;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.checkmate.relay.proto.v1.ClientMessage;
import dev.checkmate.relay.proto.v1.Frame;
import dev.checkmate.relay.proto.v1.Join;
import dev.checkmate.relay.proto.v1.ServerMessage;
import dev.checkmate.relay.proto.v1.Terminate;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.net.http.WebSocketHandshakeException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A participant on the WebSocket transport: {@code /ws?session=<id>} (the edge's hash key), one
 * serialized ClientMessage / ServerMessage per binary message. The JDK's client, like a browser's,
 * opens it with an HTTP/1.1 upgrade.
 */
final class WebSocketStream extends ProbeStream {
  private final HttpClient http;
  private final URI uri;
  private final String origin;
  private final Duration timeout;
  private WebSocket ws;

  WebSocketStream(HttpClient http, Target web, String sessionId, String origin, Duration timeout) {
    this.http = http;
    this.uri = web.webSocket("/ws?session=" + URLEncoder.encode(sessionId, StandardCharsets.UTF_8));
    this.origin = origin;
    this.timeout = timeout;
  }

  @Override
  Transport transport() {
    return Transport.WEBSOCKET;
  }

  @Override
  void join(String ticket) throws Failure {
    WebSocket.Builder b = http.newWebSocketBuilder().connectTimeout(timeout);
    if (origin != null) {
      b.header("Origin", origin);
    }
    try {
      ws = b.buildAsync(uri, new Listener()).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof WebSocketHandshakeException h) {
        throw new Failure("the WebSocket upgrade of " + uri.getPath() + " was answered with HTTP " + h.getResponse().statusCode());
      }
      throw new Failure("no WebSocket to " + uri.getScheme() + "://" + uri.getAuthority() + uri.getPath() + ": " + TlsProbe.describe(e.getCause()));
    } catch (TimeoutException e) {
      throw new Failure("the WebSocket upgrade did not complete within " + timeout.toMillis() + " ms");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new Failure("interrupted");
    }
    write(ClientMessage.newBuilder().setJoin(Join.newBuilder().setTicket(ticket)).build());
  }

  @Override
  void send(Frame frame) throws Failure {
    write(ClientMessage.newBuilder().setData(frame).build());
  }

  @Override
  void terminate(String reason) throws Failure {
    write(ClientMessage.newBuilder().setTerminate(Terminate.newBuilder().setReason(reason)).build());
  }

  /** One message at a time (the JDK's WebSocket allows one outstanding send). */
  private synchronized void write(ClientMessage m) throws Failure {
    try {
      ws.sendBinary(ByteBuffer.wrap(m.toByteArray()), true).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException | TimeoutException e) {
      throw new Failure("WebSocket send failed: " + TlsProbe.describe(e));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new Failure("interrupted");
    }
  }

  @Override
  public void close() {
    if (ws != null && !ws.isOutputClosed()) {
      ws.abort();
    }
  }

  private final class Listener implements WebSocket.Listener {
    private final ByteArrayOutputStream partial = new ByteArrayOutputStream();

    @Override
    public void onOpen(WebSocket webSocket) {
      webSocket.request(1);
    }

    @Override
    public CompletionStage<?> onBinary(WebSocket webSocket, ByteBuffer data, boolean last) {
      byte[] chunk = new byte[data.remaining()];
      data.get(chunk);
      partial.writeBytes(chunk);
      if (last) {
        try {
          received.add(ServerMessage.parseFrom(partial.toByteArray()));
        } catch (InvalidProtocolBufferException e) {
          ended.complete(new End(false, "the edge sent a binary message that is not a relay.v1.ServerMessage"));
        }
        partial.reset();
      }
      webSocket.request(1);
      return null;
    }

    @Override
    public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
      ended.complete(new End(false, "the edge sent a text message; the relay only sends binary protobuf messages"));
      webSocket.request(1);
      return null;
    }

    @Override
    public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
      ended.complete(new End(statusCode == WebSocket.NORMAL_CLOSURE, "WebSocket close " + statusCode + (reason.isEmpty() ? "" : " " + reason)));
      return null;
    }

    @Override
    public void onError(WebSocket webSocket, Throwable error) {
      ended.complete(new End(false, "WebSocket error: " + TlsProbe.describe(error)));
    }
  }
}
