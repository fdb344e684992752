package dev.checkmate.relay.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import dev.checkmate.relay.RelayConfig;
import dev.checkmate.relay.ticket.KeyRing;
import dev.checkmate.relay.testing.TestRelay;
import io.jsonwebtoken.security.Jwks;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.function.UnaryOperator;

/** In-process relay nodes sharing one ticket key and a NATS backplane. */
final class ClusterFixture {
  private ClusterFixture() {}

  static Path signingKey(Path dir) throws Exception {
    Path p = dir.resolve("signing.jwk");
    if (!Files.exists(p)) {
      Files.writeString(p, Jwks.UNSAFE_JSON(KeyRing.generate()));
    }
    return p;
  }

  static RelayConfig.Builder nodeConfig(Path dir, String nodeId, List<String> natsUrls) throws Exception {
    return RelayConfig.builder()
        .signingKey(signingKey(dir))
        .nodeId(nodeId)
        .natsUrls(natsUrls)
        .natsCredentials(NatsAccounts.get().nodeCredentials(dir, nodeId))
        .clusterHeartbeat(Duration.ofMillis(300))
        .clusterDeadAfter(Duration.ofSeconds(1))
        .clusterClaimSettle(Duration.ofMillis(150));
  }

  static TestRelay node(Path dir, String nodeId, NatsServer nats) throws Exception {
    return node(dir, nodeId, nats, b -> b);
  }

  static TestRelay node(Path dir, String nodeId, NatsServer nats, UnaryOperator<RelayConfig.Builder> tweak) throws Exception {
    TestRelay r = TestRelay.start(tweak.apply(nodeConfig(dir, nodeId, List.of(nats.url()))));
    awaitUp(r);
    return r;
  }

  static void awaitUp(TestRelay r) throws InterruptedException {
    TestRelay.await("cluster link up", () -> link(r).isUp());
  }

  static ClusterLink link(TestRelay r) {
    return r.server.cluster().orElseThrow();
  }

  static void requireNats() {
    assertThat(NatsServer.available())
        .as("nats-server is needed for cluster tests (apt-get install -y nats-server, or set NATS_SERVER)")
        .isTrue();
  }
}
