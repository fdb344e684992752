package dev.checkmate.relay.cluster;

import static dev.checkmate.relay.cluster.ClusterFixture.link;
import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.DATA;
import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.JOINED;
import static org.assertj.core.api.Assertions.assertThat;

import dev.checkmate.relay.RelayConfig;
import dev.checkmate.relay.proto.v1.CreateSessionResponse;
import dev.checkmate.relay.testing.TestPeer;
import dev.checkmate.relay.testing.TestRelay;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The NATS permissions the repository tells operators to configure are the ones the relays need and
 * check: deploy/compose's config-file users run on a real nats-server with two relays that pair
 * across nodes and find per-node isolation enforced; the operator-mode template in deploy/k8s and
 * docs/cluster.md is the one the tests' nats-server uses ({@link NatsAccounts}).
 */
@Timeout(60)
class NatsDeployConfigIT {
  static final Path COMPOSE_AUTH = Path.of("..", "deploy", "compose", "nats", "auth.conf");

  @TempDir
  Path dir;

  @Test
  void composeUsersHaveExactlyTheRelayNodePermissions() throws Exception {
    String auth = Files.readString(COMPOSE_AUTH);
    Matcher user = Pattern.compile("\\{\\s*user:\\s*([A-Za-z0-9_-]+),.*?publish:\\s*\\{\\s*allow:\\s*\\[([^]]*)]\\s*}"
        + "\\s*subscribe:\\s*\\{\\s*allow:\\s*\\[([^]]*)]", Pattern.DOTALL).matcher(auth);
    List<String> users = new ArrayList<>();
    while (user.find()) {
      String node = user.group(1);
      users.add(node);
      assertThat(list(user.group(2))).as("%s may publish", node).isEqualTo(Subjects.publishAllow(node));
      assertThat(list(user.group(3))).as("%s may subscribe", node).isEqualTo(Subjects.subscribeAllow(node));
    }
    assertThat(users).containsExactly("relay-0", "relay-1");
  }

  @Test
  void composeUsersPairRelaysAcrossNodesWithIsolationEnforced() throws Exception {
    ClusterFixture.requireNats();
    Files.copy(COMPOSE_AUTH, dir.resolve("auth.conf"));
    try (NatsServer nats = NatsServer.builder(dir, "compose-auth").auth("include auth.conf\n")
            .env("RELAY_0_NATS_PASSWORD", "test-password-0").env("RELAY_1_NATS_PASSWORD", "test-password-1").start();
        TestRelay a = relay(nats, "relay-0", "test-password-0");
        TestRelay b = relay(nats, "relay-1", "test-password-1")) {
      CreateSessionResponse s = a.createSession();
      try (TestPeer p = a.join(s.getProverTicket())) {
        p.next(JOINED);
        try (TestPeer v = b.join(s.getVerifierTicket())) {
          assertThat(v.next(JOINED).getJoined().getPeerPresent()).isTrue();
          p.sendData("through compose's NATS users".getBytes());
          assertThat(ClusterIT.skipTo(v, DATA).getData().getPayload().toStringUtf8()).isEqualTo("through compose's NATS users");
        }
      }
      TestRelay.await("isolation checked", () -> !link(a).natsIsolation().equals("unknown") && !link(b).natsIsolation().equals("unknown"));
      assertThat(link(a).natsIsolation()).isEqualTo("enforced");
      assertThat(link(b).natsIsolation()).isEqualTo("enforced");
    }
  }

  @Test
  void aNatsUserWithoutPerNodePermissionsIsReportedAsNotIsolated() throws Exception {
    ClusterFixture.requireNats();
    try (NatsServer nats = NatsServer.builder(dir, "shared-user")
            .auth("authorization { users: [ { user: shared, password: shared-password-1 } ] }\n").start();
        TestRelay a = TestRelay.start(ClusterFixture.nodeConfig(dir, "shared-a", List.of(nats.url()))
            .natsCredentials(null).natsUser("shared").natsPassword("shared-password-1"))) {
      ClusterFixture.awaitUp(a);
      TestRelay.await("isolation checked", () -> !link(a).natsIsolation().equals("unknown"));
      assertThat(link(a).natsIsolation()).isEqualTo("missing");
    }
  }

  @Test
  void theOperatorModeTemplateInDeployAndDocsIsTheTestedOne() throws Exception {
    for (Path doc : List.of(Path.of("..", "deploy", "k8s", "nats.yaml"), Path.of("..", "docs", "cluster.md"))) {
      String text = Files.readString(doc);
      for (String subject : Subjects.publishAllow("{{name()}}")) {
        assertThat(text).as(doc + " documents publish permission " + subject).contains("--allow-pub '" + subject + "'");
      }
      for (String subject : Subjects.subscribeAllow("{{name()}}")) {
        assertThat(text).as(doc + " documents subscribe permission " + subject).contains("--allow-sub '" + subject + "'");
      }
    }
  }

  private TestRelay relay(NatsServer nats, String node, String password) throws Exception {
    RelayConfig.Builder b = ClusterFixture.nodeConfig(dir, node, List.of(nats.url()))
        .natsCredentials(null).natsUser(node).natsPassword(password);
    TestRelay r = TestRelay.start(b);
    ClusterFixture.awaitUp(r);
    return r;
  }

  private static List<String> list(String quoted) {
    List<String> out = new ArrayList<>();
    Matcher m = Pattern.compile("\"([^\"]+)\"").matcher(quoted);
    while (m.find()) {
      out.add(m.group(1));
    }
    return out;
  }
}
