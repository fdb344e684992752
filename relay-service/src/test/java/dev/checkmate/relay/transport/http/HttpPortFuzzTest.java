package dev.checkmate.relay.transport.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.google.protobuf.ByteString;
import dev.checkmate.relay.RelayConfig;
import dev.checkmate.relay.error.RelayException;
import dev.checkmate.relay.proto.v1.ClientMessage;
import dev.checkmate.relay.proto.v1.EndReason;
import dev.checkmate.relay.proto.v1.Frame;
import dev.checkmate.relay.proto.v1.Heartbeat;
import dev.checkmate.relay.proto.v1.Join;
import dev.checkmate.relay.proto.v1.Role;
import dev.checkmate.relay.proto.v1.ServerMessage;
import dev.checkmate.relay.proto.v1.Terminate;
import dev.checkmate.relay.session.Participant;
import dev.checkmate.relay.session.Seat;
import dev.checkmate.relay.session.SessionHub;
import dev.checkmate.relay.ticket.KeyRing;
import dev.checkmate.relay.ticket.TicketIssuer;
import dev.checkmate.relay.ticket.TicketVerifier;
import dev.checkmate.relay.security.AddressLimits;
import dev.checkmate.relay.security.ConnectionLimiter;
import dev.checkmate.relay.security.TrustedProxies;
import dev.checkmate.relay.admission.Admission;
import dev.checkmate.relay.transport.ParticipantStream;
import dev.checkmate.relay.transport.http.grpcweb.SplitStreams;
import io.grpc.Status;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Fuzz harness of the relay's HTTP port: arbitrary HTTP requests and arbitrary WebSocket frames
 * (binary, text, control, fragments, raw bytes) go through the real Netty pipeline (HTTP codec,
 * aggregator, {@link HttpRouter}, the WebSocket handshake, decoder and
 * {@link dev.checkmate.relay.transport.http.websocket.WebSocketCall}) on an {@link EmbeddedChannel},
 * with real tickets for a real {@link SessionHub}.
 *
 * <p>Invariants, for every input:
 * <ul>
 *   <li>no exception escapes the pipeline (EmbeddedChannel rethrows what reaches its tail);
 *   <li>the relay never drops the connection without saying why: when it closed the connection,
 *       its last output is an HTTP error response (or a response with {@code Connection: close}),
 *       or, after the upgrade, a WebSocket close frame with a code;
 *   <li>once the connection is gone and the hub is shut down, the hub holds no session, seat or
 *       buffered byte, and every per-address stream permit was released.
 * </ul>
 *
 * In a normal build the {@code @FuzzTest} replays its seed corpus
 * (src/test/resources/.../WebSocketFuzzTestInputs/) and {@link #randomScriptsThroughThePipeline()}
 * pushes a bounded number of seeded random scripts through. A real fuzzing run:
 * <pre>JAZZER_FUZZ=1 mvn -B -pl relay-service test -Dtest=HttpPortFuzzTest#httpPortInputs</pre>
 */
class HttpPortFuzzTest {
  private static final Clock CLOCK = Clock.systemUTC();
  private static final KeyRing KEYS = KeyRing.ephemeral();
  private static final TicketVerifier VERIFIER = new TicketVerifier(KEYS, "checkmate-relay", Duration.ofSeconds(30), CLOCK);
  private static final TicketIssuer ISSUER = new TicketIssuer(KEYS.signingKey().orElseThrow(), "checkmate-relay", CLOCK);
  private static final RelayConfig CONFIG = RelayConfig.builder().webSocketPort(0).maxFrameBytes(512).rendezvousMaxFrames(4)
      .rendezvousMaxBytes(2048).maxFramesPerSecond(50).maxStreamsPerAddress(4).helloTimeout(Duration.ofSeconds(3))
      .telemetryEnabled(false).build();
  private static final SessionHub HUB = new SessionHub(CONFIG.sessionSettings(), CLOCK);
  private static final AddressLimits LIMITER = new AddressLimits(CONFIG.maxStreamsPerAddress(), 0);
  private static final ScheduledExecutorService SCHEDULER = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "ws-fuzz-scheduler");
    t.setDaemon(true);
    return t;
  });
  private static final Admission ADMISSION = new Admission(HUB, VERIFIER, LIMITER, SCHEDULER);
  private static final ParticipantStream.Limits STREAM_LIMITS = new ParticipantStream.Limits(CONFIG.helloTimeout(),
      CONFIG.maxUnreadBytes(), CONFIG.maxKeepAlivesPerSecond(), 10 * CONFIG.maxKeepAlivesPerSecond());
  private static final HttpFrontend FRONTEND = new HttpFrontend(CONFIG.httpPortSettings(), ADMISSION, STREAM_LIMITS,
      new ConnectionLimiter(0, 0, TrustedProxies.none()), new SplitStreams(CONFIG.webSocketPingInterval(), CONFIG.sendWait(), ADMISSION, STREAM_LIMITS), () -> true);

  private static final String[] METHODS = {"GET", "POST", "HEAD", "OPTIONS", "PUT", "DELETE", "CONNECT", "G\u00e9T"};
  private static final String[] PATHS = {"/ws", "/healthz", "/relay.v1.RelayService/Receive", "/relay.v1.RelayService/Send",
      "/", "/ws/", "/relay.v1.RelayService/Connect", "/../../etc/passwd", "/ws?session=%zz", "*"};

  @FuzzTest(maxDuration = "60s")
  void httpPortInputs(byte[] input) {
    run(input);
  }

  /** A seat for the other role, so that the fuzzed participant's frames are really relayed. */
  private static final class Peer implements Participant {
    boolean ready = true;
    boolean closed;

    @Override
    public void send(ServerMessage message) {
      assertThat(message.getKindCase()).isNotEqualTo(ServerMessage.KindCase.KIND_NOT_SET);
    }

    @Override
    public boolean isReady() {
      return ready && !closed;
    }

    @Override
    public void requestNext() {}

    @Override
    public void close(Status status) {
      closed = true;
    }

    @Override
    public String transport() {
      return "grpc";
    }
  }

  /** Interprets the bytes as a script of client actions on one connection. */
  static void run(byte[] input) {
    String sessionId = ISSUER.newSessionId();
    Instant exp = Instant.now().plusSeconds(3600);
    String[] tickets = {ISSUER.issue(sessionId, Role.PROVER, exp), ISSUER.issue(sessionId, Role.VERIFIER, exp)};
    EmbeddedChannel ch = new EmbeddedChannel();
    ch.pipeline()
        .addLast("http", new HttpServerCodec(4096, 8192, 8192))
        .addLast("aggregator", new HttpObjectAggregator(FRONTEND.maxRequestBytes()))
        .addLast("router", new HttpRouter(FRONTEND));
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    Seat peerSeat = null;
    Peer peer = new Peer();
    int i = input.length > 0 ? 1 : 0; // input[0] chooses the setup below
    boolean clientClosed = false;
    // Most inputs start with a valid upgrade so that they reach the WebSocket side.
    if (input.length > 0 && (input[0] & 3) != 3) {
      String query = (input[0] & 4) != 0 ? "?session=" + sessionId : (input[0] & 8) != 0 ? "?session=another-session" : "";
      write(ch, upgrade("/ws" + query));
    }
    if (input.length > 0 && (input[0] & 16) != 0) {
      try {
        peerSeat = HUB.join(VERIFIER.verify(tickets[(input[0] & 32) != 0 ? 1 : 0]), peer);
      } catch (RelayException e) {
        assertThat(e.getMessage()).isNotBlank();
      }
    }
    while (i < input.length && ch.isOpen()) {
      int op = input[i++] & 0xff;
      int arg = i < input.length ? input[i++] & 0xff : 0;
      int len = Math.min(arg & 0x3f, input.length - i);
      byte[] fuzz = Arrays.copyOfRange(input, i, i + len);
      switch (op & 0x0f) {
        case 0 -> {
          i += len;
          write(ch, httpRequest(op, arg, fuzz));
        }
        case 1 -> {
          i += len;
          write(ch, fuzz); // raw bytes: HTTP or WebSocket framing, whichever is current
        }
        case 2 -> write(ch, frame(0x82, ClientMessage.newBuilder().setJoin(Join.newBuilder()
            .setTicket((arg & 0x40) != 0 ? tickets[arg & 1] + "x" : tickets[arg & 1])
            .setExpectedRoleValue((arg >> 1) & 3)).build().toByteArray()));
        case 3 -> {
          i += len;
          write(ch, frame(0x82, fuzz)); // a binary message that may not be a ClientMessage
        }
        case 4 -> {
          i += len;
          write(ch, frame(0x81, fuzz));
        }
        case 5 -> write(ch, frame(0x82, ClientMessage.newBuilder().setData(Frame.newBuilder()
            .setSeq(arg & 7).setPayload(ByteString.copyFrom(new byte[arg * 3]))).build().toByteArray()));
        case 6 -> {
          i += len;
          int opcode = new int[] {0x89, 0x8a, 0x88, 0x08, 0x00, 0x80, 0x0b, 0xc2}[arg & 7];
          clientClosed |= (opcode & 0x0f) == 0x08;
          write(ch, frame(opcode, fuzz)); // ping, pong, close, fragments, reserved opcodes/bits
        }
        case 7 -> ch.advanceTimeBy((arg & 0x7f) * 20L, TimeUnit.MILLISECONDS);
        case 8 -> write(ch, frame(0x82, ClientMessage.newBuilder()
            .setTerminate(Terminate.newBuilder().setReason(new String(fuzz, StandardCharsets.ISO_8859_1))).build().toByteArray()));
        case 9 -> {
          i += len;
          write(ch, unmasked(0x82, fuzz)); // clients must mask
        }
        case 10 -> {
          if (peerSeat != null) {
            peer.ready = !peer.ready;
            peerSeat.onWritable();
          }
        }
        case 11 -> {
          if (peerSeat != null) {
            peerSeat.onFrame(Frame.newBuilder().setSeq(arg).setPayload(ByteString.copyFrom(fuzz)).build());
          }
        }
        case 12 -> write(ch, frame(0x82, oversizeHeader(arg)));
        default -> write(ch, frame(0x82, ClientMessage.newBuilder().setHeartbeat(Heartbeat.getDefaultInstance()).build().toByteArray()));
      }
      ch.runPendingTasks();
      ch.checkException();
      drain(ch, out);
    }
    ch.runPendingTasks();
    ch.checkException();
    drain(ch, out);
    boolean relayClosed = !ch.isActive();
    if (relayClosed && !clientClosed) {
      checkSaidWhy(out.toByteArray());
    }
    // The client goes away; scheduled closes and timers run; the hub shuts down.
    ch.advanceTimeBy(10, TimeUnit.SECONDS);
    ch.runScheduledPendingTasks();
    ch.close();
    ch.runPendingTasks();
    ch.checkException();
    ch.finishAndReleaseAll();
    if (peerSeat != null && !peer.closed) {
      peerSeat.left("fuzz done");
    }
    HUB.endAll(EndReason.RELAY_SHUTDOWN, "fuzz done");
    HUB.sweep();
    assertThat(HUB.sessionCount()).isZero();
    assertThat(HUB.participantCount()).isZero();
    assertThat(HUB.rendezvousBytes()).isZero();
    assertThat(LIMITER.trackedAddresses()).as("per-address permits released").isZero();
  }

  private static void write(EmbeddedChannel ch, byte[] bytes) {
    if (ch.isOpen()) {
      ch.writeInbound(Unpooled.wrappedBuffer(bytes));
    }
  }

  private static void drain(EmbeddedChannel ch, ByteArrayOutputStream out) {
    Object m;
    while ((m = ch.readOutbound()) != null) {
      if (m instanceof ByteBuf b) {
        byte[] bytes = new byte[b.readableBytes()];
        b.readBytes(bytes);
        out.writeBytes(bytes);
        b.release();
      } else {
        io.netty.util.ReferenceCountUtil.release(m);
      }
    }
    while (ch.readInbound() != null) {
      // nothing reaches the tail in a healthy pipeline; drop whatever does
    }
  }

  static byte[] upgrade(String path) {
    return ("GET " + path + " HTTP/1.1\r\nHost: relay.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1);
  }

  /** An HTTP request with fuzzed method, path, headers and body. */
  static byte[] httpRequest(int op, int arg, byte[] fuzz) {
    String method = METHODS[(op >> 4) & 7];
    String path = (arg & 0x80) != 0 ? "/" + new String(fuzz, 0, Math.min(fuzz.length, 16), StandardCharsets.ISO_8859_1)
        : PATHS[(arg >> 3) % PATHS.length];
    StringBuilder sb = new StringBuilder(method).append(' ').append(path).append(" HTTP/1.1\r\nHost: relay.test\r\n");
    if ((arg & 1) != 0) {
      sb.append("Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: ").append((arg & 2) != 0 ? "13" : "8")
          .append("\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n");
    }
    if ((arg & 4) != 0) {
      sb.append("Origin: https://evil.example\r\nX-Forwarded-For: 10.0.0.1, nonsense\r\nx-session-id: ")
          .append(new String(fuzz, StandardCharsets.ISO_8859_1).replaceAll("[\r\n]", "")).append("\r\n");
    }
    if ((op & 0x80) != 0) {
      sb.append("Content-Type: application/grpc-web+proto\r\n");
    }
    byte[] body = fuzz;
    sb.append("Content-Length: ").append(body.length).append("\r\n\r\n");
    byte[] head = sb.toString().getBytes(StandardCharsets.ISO_8859_1);
    byte[] all = Arrays.copyOf(head, head.length + body.length);
    System.arraycopy(body, 0, all, head.length, body.length);
    return all;
  }

  /** A masked client frame (zero mask key) with the given first byte (FIN, RSV, opcode). */
  static byte[] frame(int first, byte[] payload) {
    return header(first, payload, true);
  }

  static byte[] unmasked(int first, byte[] payload) {
    return header(first, payload, false);
  }

  private static byte[] header(int first, byte[] payload, boolean mask) {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    b.write(first);
    int m = mask ? 0x80 : 0;
    if (payload.length < 126) {
      b.write(m | payload.length);
    } else {
      b.write(m | 126);
      b.write(payload.length >> 8);
      b.write(payload.length);
    }
    if (mask) {
      b.writeBytes(new byte[4]);
    }
    b.writeBytes(payload);
    return b.toByteArray();
  }

  /** A frame header claiming a huge length (the decoder must refuse it before buffering). */
  private static byte[] oversizeHeader(int arg) {
    return new byte[] {(byte) 0x82, (byte) 0xff, 0, 0, 0, (byte) (1 + arg), 0, 0, 0, 0, 0, 0, 0, 0};
  }

  /**
   * When the relay closed the connection, its last words are an HTTP response (status or
   * Connection: close) before the upgrade, or a close frame with a code after it.
   */
  static void checkSaidWhy(byte[] out) {
    String text = new String(out, StandardCharsets.ISO_8859_1);
    int lastCloseCode = -1;
    int upgradeAt = text.indexOf("HTTP/1.1 101 ");
    if (upgradeAt < 0) {
      // Bodies are short relay texts (HEAD responses have none), so response heads are found by text.
      assertThat(text).as("the relay closed without an HTTP response").startsWith("HTTP/1.1 ");
      String last = text.substring(text.lastIndexOf("HTTP/1.1 "));
      if (last.toLowerCase(java.util.Locale.ROOT).contains("transfer-encoding: chunked")) {
        return; // a gRPC-Web stream: its trailers carry the status (checked by GrpcWebTest)
      }
      int status = Integer.parseInt(last.substring(9, 12));
      assertThat(status >= 400 || last.toLowerCase(java.util.Locale.ROOT).contains("connection: close"))
          .as("closed after a response that was neither an error nor Connection: close: " + last).isTrue();
      return;
    }
    int p = text.indexOf("\r\n\r\n", upgradeAt) + 4;
    while (p + 2 <= out.length) {
      int opcode = out[p] & 0x0f;
      int len = out[p + 1] & 0x7f;
      int q = p + 2;
      if (len == 126) {
        len = ((out[q] & 0xff) << 8) | (out[q + 1] & 0xff);
        q += 2;
      } else if (len == 127) {
        long l = 0;
        for (int k = 0; k < 8; k++) {
          l = (l << 8) | (out[q + k] & 0xff);
        }
        len = (int) l;
        q += 8;
      }
      if (opcode == 0x8) {
        lastCloseCode = len >= 2 ? ((out[q] & 0xff) << 8) | (out[q + 1] & 0xff) : 0;
      }
      p = q + len;
    }
    assertThat(lastCloseCode).as("the relay closed the WebSocket without a close frame with a code").isBetween(1000, 4999);
  }

  // ---- bounded random inputs in every build (Jazzer's regression mode only replays the corpus) ----

  @Test
  void randomScriptsThroughThePipeline() {
    Random r = new Random(11);
    for (int n = 0; n < 600; n++) {
      byte[] script = new byte[r.nextInt(160)];
      r.nextBytes(script);
      run(script);
    }
  }

  @Test
  void aValidJoinThenFramesAndATerminate() {
    // upgrade with ?session=, the verifier seated as peer; join as prover, frames, terminate
    run(new byte[] {(byte) (4 | 16 | 32), 2, 0, 5, 3, 5, 9, 13, 0, 8, 4, 'd', 'o', 'n', 'e'});
  }
}
