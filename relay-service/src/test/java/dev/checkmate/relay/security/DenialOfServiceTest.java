package dev.checkmate.relay.security;

import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.JOINED;
import static org.assertj.core.api.Assertions.assertThat;

import dev.checkmate.relay.RelayConfig;
import dev.checkmate.relay.proto.v1.CreateSessionResponse;
import dev.checkmate.relay.testing.TestPeer;
import dev.checkmate.relay.testing.TestRelay;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.stub.MetadataUtils;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Per-address limits (connections at accept, streams per client address, also behind a trusted
 * proxy) and a bounded flood from one loopback address while honest sessions from another still
 * pair and complete. Loopback only: 127.0.0.2 floods, 127.0.0.1 is honest.
 */
@Timeout(120)
class DenialOfServiceTest {

  @Test
  void joinAttemptsPastThePerAddressRateAreRefusedBeforeTheTicketIsCheckedOtherAddressesAreServed() throws Exception {
    try (TestRelay relay = TestRelay.start(RelayConfig.builder().maxJoinAttemptsPerSecond(5))) {
      ManagedChannel flooder = Flood.channelFrom("127.0.0.2", relay.server.grpcPort());
      try {
        int refused = 0;
        long forgedChecked = relay.server.hub().stats().rejections(dev.checkmate.relay.error.RelayError.BAD_TICKET);
        for (int i = 0; i < 30; i++) {
          try (TestPeer bogus = TestPeer.join(flooder, "forged.ticket.x")) {
            Status st = bogus.awaitClose();
            if (st.getCode() == Status.Code.RESOURCE_EXHAUSTED) {
              assertThat(st.getDescription()).contains("too many join attempts");
              refused++;
            }
          }
        }
        // A burst of 10 (twice the rate) plus refill is let through to the ticket check; the rest is not.
        assertThat(refused).isGreaterThanOrEqualTo(10);
        assertThat(relay.server.hub().stats().rejections(dev.checkmate.relay.error.RelayError.BAD_TICKET) - forgedChecked)
            .isLessThanOrEqualTo(20);
        // Another address still joins at once.
        try (TestPeer fine = relay.join(relay.createSession().getProverTicket())) {
          fine.next(JOINED);
        }
        // And the flooding address is served again after its bucket refills.
        Thread.sleep(1200);
        try (TestPeer again = TestPeer.join(flooder, relay.createSession().getVerifierTicket())) {
          again.next(JOINED);
        }
      } finally {
        flooder.shutdownNow();
      }
    }
  }

  @Test
  void connectionsOverThePerAddressLimitAreClosedAtAcceptOthersAreServed() throws Exception {
    try (TestRelay relay = TestRelay.start(RelayConfig.builder().maxConnectionsPerAddress(2))) {
      int port = relay.server.grpcPort();
      List<ManagedChannel> channels = new ArrayList<>();
      List<TestPeer> peers = new ArrayList<>();
      try {
        for (int i = 0; i < 2; i++) {
          ManagedChannel ch = Flood.channelFrom("127.0.0.2", port);
          channels.add(ch);
          CreateSessionResponse s = relay.createSession();
          TestPeer p = TestPeer.join(ch, s.getProverTicket());
          peers.add(p);
          p.next(JOINED);
        }
        // The third connection from 127.0.0.2 is closed before TLS / HTTP/2: the call fails UNAVAILABLE.
        ManagedChannel third = Flood.channelFrom("127.0.0.2", port);
        channels.add(third);
        try (TestPeer refused = TestPeer.join(third, relay.createSession().getProverTicket())) {
          assertThat(refused.awaitClose().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
        }
        assertThat(relay.server.connectionLimiter().refused()).isPositive();
        assertThat(relay.server.connectionLimiter().openFrom(InetAddress.getByName("127.0.0.2"))).isEqualTo(2);
        // Another address is not affected (the fixture's own channel is 127.0.0.1).
        try (TestPeer fine = relay.join(relay.createSession().getVerifierTicket())) {
          fine.next(JOINED);
        }
      } finally {
        peers.forEach(TestPeer::close);
        for (ManagedChannel ch : channels) {
          ch.shutdownNow();
          ch.awaitTermination(5, TimeUnit.SECONDS);
        }
      }
      TestRelay.await("127.0.0.2 connections released",
          () -> relay.server.connectionLimiter().openFrom(uncheckedAddress("127.0.0.2")) == 0);
    }
  }

  @Test
  void behindATrustedProxyStreamLimitsApplyPerForwardedClientAndSpoofingIsIgnoredOtherwise() throws Exception {
    try (TestRelay relay = TestRelay.start(RelayConfig.builder().maxStreamsPerAddress(2).trustedProxies(List.of("127.0.0.1/32")))) {
      // Two streams for client A, through the "proxy" at 127.0.0.1.
      List<TestPeer> peers = new ArrayList<>();
      for (int i = 0; i < 2; i++) {
        TestPeer p = TestPeer.join(viaProxy(relay.channel, "198.51.100.9, 203.0.113.5"), relay.createSession().getProverTicket());
        peers.add(p);
        p.next(JOINED);
      }
      try (TestPeer third = TestPeer.join(viaProxy(relay.channel, "203.0.113.5"), relay.createSession().getProverTicket())) {
        Status st = third.awaitClose();
        assertThat(st.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
      }
      // Client B behind the same proxy is its own address.
      try (TestPeer other = TestPeer.join(viaProxy(relay.channel, "203.0.113.6"), relay.createSession().getProverTicket())) {
        other.next(JOINED);
      }
      peers.forEach(TestPeer::close);
    }
    // Without trust in 127.0.0.1, x-forwarded-for is just a header: it cannot dodge the limit.
    try (TestRelay relay = TestRelay.start(RelayConfig.builder().maxStreamsPerAddress(1))) {
      try (TestPeer first = TestPeer.join(viaProxy(relay.channel, "203.0.113.1"), relay.createSession().getProverTicket())) {
        first.next(JOINED);
        try (TestPeer spoof = TestPeer.join(viaProxy(relay.channel, "203.0.113.2"), relay.createSession().getProverTicket())) {
          assertThat(spoof.awaitClose().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
        }
      }
    }
  }

  @Test
  void honestSessionsFromAnotherAddressPairAndCompleteDuringAFlood() throws Exception {
    try (TestRelay relay = TestRelay.start(RelayConfig.builder()
        .maxConnectionsPerAddress(8)
        .maxStreamsPerAddress(64)
        .helloTimeout(Duration.ofMillis(500)))) {
      int port = relay.server.grpcPort();
      int completed = 0;
      try (Flood flood = new Flood(port, "127.0.0.2", 2)) {
        Thread.sleep(300); // let it ramp up
        // Bounded: 5 honest sessions (each create, pair, 5 round trips, terminate) under the flood.
        for (int i = 0; i < 5; i++) {
          Flood.honestSession(relay.channel, 5, Duration.ofSeconds(10));
          completed++;
        }
        assertThat(flood.bogusJoins.get()).as("bogus joins sent").isGreaterThan(50);
        System.out.printf("flood: %d bogus joins, %d silent streams, %d connections; %d connections refused at accept%n",
            flood.bogusJoins.get(), flood.silentStreams.get(), flood.connections.get(), relay.server.connectionLimiter().refused());
      }
      assertThat(completed).as("honest sessions completed under flood").isEqualTo(5);
      // Nothing the flood did is left behind.
      TestRelay.await("stream permits released", () -> relay.server.addressLimiter().trackedAddresses() == 0);
      TestRelay.await("connections released",
          () -> relay.server.connectionLimiter().openFrom(uncheckedAddress("127.0.0.2")) == 0);
      assertThat(relay.server.hub().sessionCount()).isZero();
    }
  }

  private static io.grpc.Channel viaProxy(ManagedChannel channel, String forwardedFor) {
    Metadata md = new Metadata();
    md.put(CallerSecurity.X_FORWARDED_FOR, forwardedFor);
    return io.grpc.ClientInterceptors.intercept(channel, MetadataUtils.newAttachHeadersInterceptor(md));
  }

  private static InetAddress uncheckedAddress(String ip) {
    try {
      return InetAddress.getByName(ip);
    } catch (java.net.UnknownHostException e) {
      throw new IllegalStateException(e);
    }
  }
}
