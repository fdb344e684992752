package dev.checkmate.relay.transport.http.websocket;

import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.JOINED;
import static org.assertj.core.api.Assertions.assertThat;

import dev.checkmate.relay.RelayConfig;
import dev.checkmate.relay.proto.v1.ClientMessage;
import dev.checkmate.relay.proto.v1.CreateSessionResponse;
import dev.checkmate.relay.proto.v1.Join;
import dev.checkmate.relay.proto.v1.Role;
import dev.checkmate.relay.testing.TestRelay;
import dev.checkmate.relay.testing.WsPeer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/**
 * The WebSocket port checks a Join like gRPC does (routed session, expected role) and holds
 * clients behind a trusted proxy to their x-forwarded-for address, like gRPC's CallerSecurity.
 */
class WebSocketCallerSecurityTest {

  private static TestRelay relay(UnaryOperator<RelayConfig.Builder> settings) throws Exception {
    return TestRelay.start(settings.apply(RelayConfig.builder().webSocketPort(0)));
  }

  private static ClientMessage join(String ticket, Role expected) {
    return ClientMessage.newBuilder().setJoin(Join.newBuilder().setTicket(ticket).setExpectedRole(expected)).build();
  }

  @Test
  void aJoinExpectingTheOtherRoleIsRefusedWith4400AndTheRightRoleJoins() throws Exception {
    try (TestRelay relay = relay(b -> b)) {
      CreateSessionResponse s = relay.createSession();
      int port = relay.server.webSocketPort();
      try (WsPeer swapped = WsPeer.connect(port, "session=" + s.getSessionId(), null, true)) {
        swapped.send(join(s.getProverTicket(), Role.VERIFIER));
        WsPeer.Close close = swapped.awaitClose();
        assertThat(close.code()).isEqualTo(4400);
        assertThat(close.reason()).contains("tickets swapped");
      }
      try (WsPeer ok = WsPeer.connect(port, "session=" + s.getSessionId(), null, true)) {
        ok.send(join(s.getProverTicket(), Role.PROVER));
        assertThat(ok.next(JOINED).getJoined().getRole()).isEqualTo(Role.PROVER);
      }
    }
  }

  @Test
  void aTicketForAnotherSessionThanTheRoutedOneIsRefusedEvenWithTheRightRole() throws Exception {
    try (TestRelay relay = relay(b -> b)) {
      CreateSessionResponse a = relay.createSession();
      CreateSessionResponse b = relay.createSession();
      try (WsPeer p = WsPeer.connect(relay.server.webSocketPort(), "session=" + b.getSessionId(), null, true)) {
        p.send(join(a.getVerifierTicket(), Role.VERIFIER));
        WsPeer.Close close = p.awaitClose();
        assertThat(close.code()).isEqualTo(4400);
        assertThat(close.reason()).contains("routed session id");
      }
    }
  }

  @Test
  void behindATrustedProxyEachForwardedClientHasItsOwnStreamLimit() throws Exception {
    try (TestRelay relay = relay(b -> b.maxStreamsPerAddress(1).trustedProxies(List.of("127.0.0.1/32")))) {
      int port = relay.server.webSocketPort();
      List<AutoCloseable> open = new ArrayList<>();
      try {
        CreateSessionResponse s = relay.createSession();
        // Two clients behind the same proxy (the TCP peer is 127.0.0.1 for both): each may join.
        WsPeer alice = WsPeer.connect(port, null, null, true, Map.of("X-Forwarded-For", "198.51.100.7"));
        open.add(alice);
        alice.sendJoin(s.getProverTicket());
        alice.next(JOINED);
        // The rightmost untrusted entry counts: a spoofed left entry changes nothing.
        WsPeer bob = WsPeer.connect(port, null, null, true, Map.of("X-Forwarded-For", "10.6.6.6, 203.0.113.9"));
        open.add(bob);
        bob.sendJoin(s.getVerifierTicket());
        bob.next(JOINED);
        assertThat(relay.server.addressLimiter().trackedAddresses()).isEqualTo(2);
        // A second stream from alice's address is over her limit.
        WsPeer again = WsPeer.connect(port, null, null, true, Map.of("X-Forwarded-For", "198.51.100.7"));
        open.add(again);
        WsPeer.Close close = again.awaitClose();
        assertThat(close.code()).isEqualTo(4429);
        assertThat(close.reason()).contains("too many open streams");
      } finally {
        for (AutoCloseable c : open) {
          c.close();
        }
      }
      TestRelay.await("permits released", () -> relay.server.addressLimiter().trackedAddresses() == 0);
    }
  }

  @Test
  void withoutTrustedProxiesXForwardedForIsIgnored() throws Exception {
    try (TestRelay relay = relay(b -> b.maxStreamsPerAddress(1))) {
      int port = relay.server.webSocketPort();
      CreateSessionResponse s = relay.createSession();
      try (WsPeer first = WsPeer.connect(port, null, null, true, Map.of("X-Forwarded-For", "198.51.100.7"))) {
        first.sendJoin(s.getProverTicket());
        first.next(JOINED);
        try (WsPeer second = WsPeer.connect(port, null, null, true, Map.of("X-Forwarded-For", "203.0.113.9"))) {
          // Both come from 127.0.0.1, whatever they claim: the second is over the limit.
          WsPeer.Close close = second.awaitClose();
          assertThat(close.code()).isEqualTo(4429);
        }
      }
    }
  }
}
