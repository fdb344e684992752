package dev.checkmate.relay.transport.http.grpcweb;

import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.JOINED;
import static org.assertj.core.api.Assertions.assertThat;

import dev.checkmate.relay.RelayConfig;
import dev.checkmate.relay.proto.v1.CreateSessionResponse;
import dev.checkmate.relay.proto.v1.ReceiveRequest;
import dev.checkmate.relay.proto.v1.RelayServiceGrpc;
import dev.checkmate.relay.security.CallerSecurity;
import dev.checkmate.relay.testing.TestRelay;
import io.grpc.Channel;
import io.grpc.ClientInterceptors;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.stub.MetadataUtils;
import java.io.DataInputStream;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * gRPC-Web Receive checks the routed session id (x-session-id) like a Connect Join: on the gRPC port
 * (behind Envoy, via CallerSecurity) and on the relay's own HTTP port; and the HTTP port takes the
 * client address from x-forwarded-for only behind a trusted proxy.
 */
class GrpcWebRoutedSessionTest {
  private TestRelay relay;

  @BeforeEach
  void start() throws Exception {
    relay = TestRelay.start(RelayConfig.builder().webSocketPort(0).maxStreamsPerAddress(1)
        .trustedProxies(List.of("127.0.0.1")));
  }

  @AfterEach
  void stop() throws Exception {
    relay.close();
  }

  private Channel routedTo(String sessionId) {
    Metadata md = new Metadata();
    md.put(CallerSecurity.X_SESSION_ID, sessionId);
    return ClientInterceptors.intercept(relay.channel, MetadataUtils.newAttachHeadersInterceptor(md));
  }

  @Test
  void aReceiveOnTheGrpcPortRoutedToAnotherSessionIsRefusedAndTheRightOneJoins() throws Exception {
    CreateSessionResponse a = relay.createSession();
    CreateSessionResponse b = relay.createSession();
    GrpcWebTest.Receiver wrong = new GrpcWebTest.Receiver();
    RelayServiceGrpc.newStub(routedTo(b.getSessionId()))
        .receive(ReceiveRequest.newBuilder().setTicket(a.getVerifierTicket()).build(), wrong);
    Status status = wrong.closed.get(5, TimeUnit.SECONDS);
    assertThat(status.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(status.getDescription()).contains("routed session id");

    GrpcWebTest.Receiver right = new GrpcWebTest.Receiver();
    RelayServiceGrpc.newStub(routedTo(a.getSessionId()))
        .receive(ReceiveRequest.newBuilder().setTicket(a.getVerifierTicket()).build(), right);
    assertThat(right.next(JOINED).getJoined().getSessionId()).isEqualTo(a.getSessionId());
    right.closed.cancel(true);
  }

  private HttpResponse<InputStream> receiveOverHttp(String ticket, String sessionHeader, String forwardedFor) throws Exception {
    HttpRequest.Builder req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + relay.server.webSocketPort()
            + "/relay.v1.RelayService/Receive"))
        .header("content-type", "application/grpc-web+proto")
        .header("x-grpc-web", "1")
        .POST(HttpRequest.BodyPublishers.ofByteArray(
            GrpcWebHttp.frame(ReceiveRequest.newBuilder().setTicket(ticket).build().toByteArray(), false)));
    if (sessionHeader != null) {
      req.header("x-session-id", sessionHeader);
    }
    if (forwardedFor != null) {
      req.header("X-Forwarded-For", forwardedFor);
    }
    return HttpClient.newHttpClient().send(req.build(), HttpResponse.BodyHandlers.ofInputStream());
  }

  /** The first gRPC-Web frame: flags byte and the payload (trailers as text). */
  private static String firstFrame(HttpResponse<InputStream> res) throws Exception {
    DataInputStream in = new DataInputStream(res.body());
    int flags = in.readUnsignedByte();
    byte[] body = new byte[in.readInt()];
    in.readFully(body);
    return (flags & 0x80) != 0 ? "trailers:" + new String(body, StandardCharsets.UTF_8) : "message";
  }

  @Test
  void aReceiveOnTheHttpPortRoutedToAnotherSessionEndsWithInvalidArgument() throws Exception {
    CreateSessionResponse a = relay.createSession();
    CreateSessionResponse b = relay.createSession();
    HttpResponse<InputStream> res = receiveOverHttp(a.getProverTicket(), b.getSessionId(), null);
    assertThat(firstFrame(res)).startsWith("trailers:grpc-status:3\r\n").contains("routed");
  }

  @Test
  void behindATrustedProxyTwoForwardedClientsEachGetAStreamUnderAOnePerAddressLimit() throws Exception {
    CreateSessionResponse s = relay.createSession();
    HttpResponse<InputStream> alice = receiveOverHttp(s.getProverTicket(), s.getSessionId(), "198.51.100.7");
    assertThat(firstFrame(alice)).isEqualTo("message"); // Joined
    HttpResponse<InputStream> bob = receiveOverHttp(s.getVerifierTicket(), s.getSessionId(), "203.0.113.9");
    assertThat(firstFrame(bob)).isEqualTo("message");
    assertThat(relay.server.addressLimiter().trackedAddresses()).isEqualTo(2);
    CreateSessionResponse t = relay.createSession();
    HttpResponse<InputStream> aliceAgain = receiveOverHttp(t.getProverTicket(), null, "198.51.100.7");
    assertThat(firstFrame(aliceAgain)).startsWith("trailers:grpc-status:8\r\n"); // RESOURCE_EXHAUSTED
    alice.body().close();
    bob.body().close();
  }
}
