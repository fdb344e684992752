package dev.checkmate.relay.probe;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageLite;
import dev.checkmate.relay.proto.v1.Frame;
import dev.checkmate.relay.proto.v1.ReceiveRequest;
import dev.checkmate.relay.proto.v1.SendRequest;
import dev.checkmate.relay.proto.v1.SendResponse;
import dev.checkmate.relay.proto.v1.ServerMessage;
import dev.checkmate.relay.proto.v1.Terminate;
import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A participant on gRPC-Web, as a browser without WebSocket: a server-streaming {@code Receive}
 * that carries the ServerMessages, and one unary {@code Send} per frame with the send token from
 * Joined. Binary framing: a 5-byte prefix per message (flag 0x80 marks the trailers).
 */
final class GrpcWebStream extends ProbeStream {
  private static final String CONTENT_TYPE = "application/grpc-web+proto";
  private final HttpClient http;
  private final Target web;
  private final String sessionId;
  private final String origin;
  private final Duration timeout;
  private volatile String sendToken;
  private volatile InputStream body;

  GrpcWebStream(HttpClient http, Target web, String sessionId, String origin, Duration timeout) {
    this.http = http;
    this.web = web;
    this.sessionId = sessionId;
    this.origin = origin;
    this.timeout = timeout;
  }

  @Override
  Transport transport() {
    return Transport.GRPC_WEB;
  }

  @Override
  void join(String ticket) throws Failure {
    HttpResponse<InputStream> response;
    try {
      response = http.sendAsync(request("Receive", ReceiveRequest.newBuilder().setTicket(ticket).build()).build(),
          HttpResponse.BodyHandlers.ofInputStream()).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      throw new Failure("no gRPC-Web Receive at " + web + ": " + TlsProbe.describe(e.getCause()));
    } catch (TimeoutException e) {
      throw new Failure("the gRPC-Web Receive got no response headers within " + timeout.toMillis() + " ms");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new Failure("interrupted");
    }
    body = response.body();
    String headerStatus = response.headers().firstValue("grpc-status").orElse(null);
    if (response.statusCode() != 200 || headerStatus != null) {
      close();
      String status = headerStatus != null
          ? "grpc-status " + headerStatus + " " + response.headers().firstValue("grpc-message").orElse("")
          : "HTTP " + response.statusCode();
      ended.complete(new End(false, "gRPC-Web Receive answered " + status.strip()));
      return;
    }
    Thread reader = new Thread(this::readFrames, "probe-grpc-web-receive");
    reader.setDaemon(true);
    reader.start();
  }

  private void readFrames() {
    try (DataInputStream in = new DataInputStream(body)) {
      while (true) {
        int flags;
        try {
          flags = in.readUnsignedByte();
        } catch (EOFException e) {
          ended.complete(new End(false, "the gRPC-Web response ended without trailers"));
          return;
        }
        byte[] message = new byte[in.readInt()];
        in.readFully(message);
        if ((flags & 0x80) != 0) {
          ended.complete(trailers(new String(message, StandardCharsets.US_ASCII)));
          return;
        }
        ServerMessage m = ServerMessage.parseFrom(message);
        if (m.hasJoined()) {
          sendToken = m.getJoined().getSendToken();
        }
        received.add(m);
      }
    } catch (IOException e) {
      ended.complete(new End(false, "the gRPC-Web Receive broke off: " + TlsProbe.describe(e)));
    }
  }

  private static End trailers(String text) {
    String status = "";
    String message = "";
    for (String line : text.split("\r\n")) {
      int colon = line.indexOf(':');
      if (colon > 0) {
        String name = line.substring(0, colon).strip().toLowerCase(java.util.Locale.ROOT);
        String value = line.substring(colon + 1).strip();
        if (name.equals("grpc-status")) {
          status = value;
        } else if (name.equals("grpc-message")) {
          message = java.net.URLDecoder.decode(value.replace("+", "%2B"), StandardCharsets.UTF_8);
        }
      }
    }
    return new End(status.equals("0"), "gRPC-Web grpc-status " + status + (message.isEmpty() ? "" : ": " + message));
  }

  @Override
  void send(Frame frame) throws Failure {
    SendResponse r = send(SendRequest.newBuilder().addFrames(frame));
    if (r.getAckedSeq() < frame.getSeq()) {
      throw new Failure("gRPC-Web Send acknowledged seq " + r.getAckedSeq() + " of " + frame.getSeq()
          + ": the peer did not take the frame within the relay's send wait");
    }
  }

  @Override
  void terminate(String reason) throws Failure {
    send(SendRequest.newBuilder().setTerminate(Terminate.newBuilder().setReason(reason)));
  }

  private SendResponse send(SendRequest.Builder request) throws Failure {
    String token = sendToken;
    if (token == null) {
      throw new Failure("no send token: the gRPC-Web Receive never delivered Joined");
    }
    HttpResponse<byte[]> response;
    try {
      response = http.send(request("Send", request.setSessionId(sessionId).setSendToken(token).build()).build(),
          HttpResponse.BodyHandlers.ofByteArray());
    } catch (IOException e) {
      throw new Failure("gRPC-Web Send failed: " + TlsProbe.describe(e));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new Failure("interrupted");
    }
    if (response.statusCode() != 200) {
      throw new Failure("gRPC-Web Send answered HTTP " + response.statusCode());
    }
    SendResponse result = null;
    End end = null;
    try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(response.body()))) {
      while (in.available() > 0) {
        int flags = in.readUnsignedByte();
        byte[] message = new byte[in.readInt()];
        in.readFully(message);
        if ((flags & 0x80) != 0) {
          end = trailers(new String(message, StandardCharsets.US_ASCII));
        } else {
          result = SendResponse.parseFrom(message);
        }
      }
    } catch (InvalidProtocolBufferException e) {
      throw new Failure("gRPC-Web Send answered something that is not a SendResponse");
    } catch (IOException e) {
      throw new Failure("gRPC-Web Send answered a malformed body: " + TlsProbe.describe(e));
    }
    String headerStatus = response.headers().firstValue("grpc-status").orElse(null);
    if (end == null && headerStatus != null) {
      end = new End(headerStatus.equals("0"), "gRPC-Web grpc-status " + headerStatus);
    }
    if (end == null || !end.clean() || result == null) {
      throw new Failure("gRPC-Web Send failed: " + (end == null ? "no trailers" : end.description()));
    }
    return result;
  }

  private HttpRequest.Builder request(String method, MessageLite message) {
    byte[] bytes = message.toByteArray();
    ByteBuffer framed = ByteBuffer.allocate(5 + bytes.length).put((byte) 0).putInt(bytes.length).put(bytes);
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(web.http("/relay.v1.RelayService/" + method).toString()))
        .timeout(method.equals("Send") ? timeout : Duration.ofDays(1))
        .header("content-type", CONTENT_TYPE)
        .header("accept", CONTENT_TYPE)
        .header("x-grpc-web", "1")
        .header("x-session-id", sessionId)
        .POST(HttpRequest.BodyPublishers.ofByteArray(framed.array()));
    if (origin != null) {
      b.header("Origin", origin);
    }
    return b;
  }

  @Override
  public void close() {
    InputStream in = body;
    if (in != null) {
      try {
        in.close();
      } catch (IOException ignored) {
        // already gone
      }
    }
  }
}
