package dev.checkmate.relay.cluster;

import static dev.checkmate.relay.cluster.ClusterFixture.node;
import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.DATA;
import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.JOINED;
import static org.assertj.core.api.Assertions.assertThat;

import dev.checkmate.relay.proto.v1.CreateSessionResponse;
import dev.checkmate.relay.testing.TestPeer;
import dev.checkmate.relay.testing.TestRelay;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two regions: two NATS clusters joined by gateways, one relay in each. A session whose peers are
 * in different regions pairs and exchanges frames; sessions within a region never leave it.
 */
@Timeout(60)
class ClusterGatewayIT {
  @TempDir
  Path dir;

  @Test
  void peersInDifferentRegionsMeetThroughNatsGateways() throws Exception {
    ClusterFixture.requireNats();
    int eastGw = NatsServer.freePort();
    int westGw = NatsServer.freePort();
    Map<String, Integer> gateways = new LinkedHashMap<>();
    gateways.put("east", eastGw);
    gateways.put("west", westGw);
    try (NatsServer east = NatsServer.builder(dir, "east-1").cluster("east", NatsServer.freePort(), List.of())
            .gateway("east", eastGw, gateways).start();
        NatsServer west = NatsServer.builder(dir, "west-1").cluster("west", NatsServer.freePort(), List.of())
            .gateway("west", westGw, gateways).start()) {
      NatsServer.await("gateways connected", () -> east.monitor("/gatewayz").contains("\"west\"")
          && west.monitor("/gatewayz").contains("\"east\"") && west.monitor("/gatewayz").contains("inbound_gateways"),
          java.time.Duration.ofSeconds(15));
      try (TestRelay e = node(dir, "relay-east", east); TestRelay w = node(dir, "relay-west", west)) {
        CreateSessionResponse s = e.createSession();
        long deadline = System.nanoTime() + java.time.Duration.ofSeconds(20).toNanos();
        // Gateway connections may need a moment after the monitor reports them.
        while (true) {
          try (TestPeer p = e.join(s.getProverTicket())) {
            p.next(JOINED);
            try (TestPeer v = w.join(s.getVerifierTicket())) {
              assertThat(v.next(JOINED).getJoined().getPeerPresent()).isTrue();
              for (int i = 1; i <= 20; i++) {
                p.sendData(("east " + i).getBytes());
                v.sendData(("west " + i).getBytes());
              }
              for (int i = 1; i <= 20; i++) {
                assertThat(ClusterIT.skipTo(v, DATA).getData().getPayload().toStringUtf8()).isEqualTo("east " + i);
                assertThat(ClusterIT.skipTo(p, DATA).getData().getPayload().toStringUtf8()).isEqualTo("west " + i);
              }
              break;
            }
          } catch (AssertionError retry) {
            if (System.nanoTime() > deadline) {
              throw retry;
            }
            Thread.sleep(300);
            s = e.createSession();
          }
        }
        // The lookup for a brand-new session is answered at once (no-responders), not by a timeout.
        CreateSessionResponse fresh = w.createSession();
        long t0 = System.nanoTime();
        try (TestPeer p = w.join(fresh.getProverTicket())) {
          p.next(JOINED);
          long ms = (System.nanoTime() - t0) / 1_000_000;
          System.out.println("first join of a new session with a gateway: " + ms + " ms");
          assertThat(ms).isLessThan(1500);
        }
      }
    }
  }
}
