package dev.checkmate.relay.security;

import dev.checkmate.relay.proto.v1.ClientMessage;
import dev.checkmate.relay.proto.v1.Heartbeat;
import dev.checkmate.relay.proto.v1.Join;
import dev.checkmate.relay.proto.v1.ReceiveRequest;
import dev.checkmate.relay.proto.v1.RelayServiceGrpc;
import dev.checkmate.relay.proto.v1.ServerMessage;
import dev.checkmate.relay.testing.RawSocketClient;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Clients that misbehave on purpose, one way per wire, for {@code HostileClientIT}: they never
 * read what the relay sends, flood keep-alives, send bytes that do not parse. Loopback only; each
 * comes from the source address it is given.
 */
public final class HostileClients {
  private HostileClients() {}

  public static final ClientMessage HEARTBEAT = ClientMessage.newBuilder().setHeartbeat(Heartbeat.getDefaultInstance()).build();

  public static ClientMessage join(String ticket) {
    return ClientMessage.newBuilder().setJoin(Join.newBuilder().setTicket(ticket)).build();
  }

  /** A gRPC channel from {@code fromIp} whose receive window is the HTTP/2 minimum and never grows. */
  public static ManagedChannel smallWindowChannel(String fromIp, int port) {
    return NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext()
        .flowControlWindow(65_535)
        .localSocketPicker(new NettyChannelBuilder.LocalSocketPicker() {
          @Override
          public java.net.SocketAddress createSocketAddress(java.net.SocketAddress remote, io.grpc.Attributes attrs) {
            return new InetSocketAddress(fromIp, 0);
          }
        })
        .build();
  }

  /** Raw bytes both ways, for messages a generated stub would refuse to build. */
  public static final MethodDescriptor.Marshaller<byte[]> BYTES = new MethodDescriptor.Marshaller<>() {
    @Override
    public InputStream stream(byte[] value) {
      return new ByteArrayInputStream(value);
    }

    @Override
    public byte[] parse(InputStream stream) {
      try {
        return stream.readAllBytes();
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
    }
  };

  public static <Q, R> MethodDescriptor<byte[], byte[]> raw(MethodDescriptor<Q, R> method) {
    return method.toBuilder(BYTES, BYTES).build();
  }

  /**
   * A gRPC call (any relay method, raw bytes) that reads nothing the relay sends until
   * {@link #drainAndAwaitClose} — its window fills and stays full.
   */
  public static final class NeverReadingCall {
    public final ClientCall<byte[], byte[]> call;
    final CompletableFuture<Status> closed = new CompletableFuture<>();
    private volatile boolean ready = true;

    public NeverReadingCall(ManagedChannel channel, MethodDescriptor<byte[], byte[]> method) {
      call = channel.newCall(method, CallOptions.DEFAULT);
      call.start(new ClientCall.Listener<>() {
        @Override
        public void onClose(Status status, Metadata trailers) {
          closed.complete(status);
        }

        @Override
        public void onReady() {
          ready = true;
        }
      }, new Metadata());
      // No call.request(): not a single message is read.
    }

    public static NeverReadingCall connect(ManagedChannel channel) {
      return new NeverReadingCall(channel, raw(RelayServiceGrpc.getConnectMethod()));
    }

    public static NeverReadingCall receive(ManagedChannel channel, String ticket) {
      NeverReadingCall c = new NeverReadingCall(channel, raw(RelayServiceGrpc.getReceiveMethod()));
      c.call.sendMessage(ReceiveRequest.newBuilder().setTicket(ticket).build().toByteArray());
      c.call.halfClose();
      return c;
    }

    /** Sends now, whatever the client's flow control says (grpc buffers it): for the Join. */
    public void send(byte[] message) {
      call.sendMessage(message);
    }

    /** Sends if the call takes more now (the client's own flow control); false otherwise. */
    public boolean trySend(byte[] message) {
      if (closed.isDone() || !call.isReady()) {
        ready = false;
        return false;
      }
      call.sendMessage(message);
      return true;
    }

    /** Starts reading at last, so the status the relay closed with reaches the client. */
    public Status drainAndAwaitClose(long timeoutSeconds) throws Exception {
      call.request(Integer.MAX_VALUE);
      return closed.get(timeoutSeconds, TimeUnit.SECONDS);
    }
  }

  /** Opens a WebSocket from {@code fromIp} with a tiny receive buffer, never reading. */
  public static RawSocketClient webSocket(String fromIp, int httpPort) throws IOException {
    RawSocketClient c = RawSocketClient.connect(fromIp, httpPort, 2048);
    c.upgradeToWebSocket("/ws");
    return c;
  }

  /** Starts a gRPC-Web Receive over raw HTTP/1.1 from {@code fromIp}, never reading the response. */
  public static RawSocketClient grpcWebReceive(String fromIp, int httpPort, String ticket) throws IOException {
    RawSocketClient c = RawSocketClient.connect(fromIp, httpPort, 2048);
    c.offer(grpcWebRequest("/relay.v1.RelayService/Receive", ReceiveRequest.newBuilder().setTicket(ticket).build().toByteArray()));
    return c;
  }

  /** A whole gRPC-Web HTTP/1.1 request with one message frame. */
  public static byte[] grpcWebRequest(String path, byte[] message) {
    byte[] framed = new byte[5 + message.length];
    framed[1] = (byte) (message.length >>> 24);
    framed[2] = (byte) (message.length >>> 16);
    framed[3] = (byte) (message.length >>> 8);
    framed[4] = (byte) message.length;
    System.arraycopy(message, 0, framed, 5, message.length);
    String head = "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/grpc-web+proto\r\n"
        + "X-Grpc-Web: 1\r\nContent-Length: " + framed.length + "\r\n\r\n";
    byte[] h = head.getBytes(StandardCharsets.US_ASCII);
    byte[] out = new byte[h.length + framed.length];
    System.arraycopy(h, 0, out, 0, h.length);
    System.arraycopy(framed, 0, out, h.length, framed.length);
    return out;
  }

  /** The grpc-status in a gRPC-Web response body (the trailers frame), or -1. */
  public static int grpcWebStatus(byte[] response) {
    String s = new String(response, StandardCharsets.ISO_8859_1);
    int i = s.lastIndexOf("grpc-status:");
    if (i < 0) {
      return -1;
    }
    int end = i + "grpc-status:".length();
    int stop = end;
    while (stop < s.length() && Character.isDigit(s.charAt(stop))) {
      stop++;
    }
    return Integer.parseInt(s.substring(end, stop));
  }

  /** The grpc-message in a gRPC-Web response body, or "". */
  public static String grpcWebMessage(byte[] response) {
    String s = new String(response, StandardCharsets.ISO_8859_1);
    int i = s.lastIndexOf("grpc-message:");
    if (i < 0) {
      return "";
    }
    int end = s.indexOf("\r\n", i);
    return java.net.URLDecoder.decode(s.substring(i + "grpc-message:".length(), end < 0 ? s.length() : end)
        .replace("+", "%2B"), StandardCharsets.UTF_8);
  }

  public static boolean isKind(ServerMessage m, ServerMessage.KindCase kind) {
    return m.getKindCase() == kind;
  }
}
