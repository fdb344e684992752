package dev.checkmate.relay.client;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.checkmate.relay.RelayConfig;
import dev.checkmate.relay.RelayServer;
import dev.checkmate.relay.testing.TestCertificates;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** TLS between SDK and relay with a self-signed test certificate. */
@Timeout(60)
class RelayTlsTest {
  @TempDir Path dir;
  private TestCertificates.Pem pem;
  private RelayServer relay;

  @BeforeEach
  void start() throws Exception {
    pem = TestCertificates.create(dir.resolve("relay"));
    relay = RelayServer.start(RelayConfig.builder()
        .grpcPort(0)
        .tlsCertificate(pem.certificate())
        .tlsPrivateKey(pem.privateKey())
        .drainTimeout(Duration.ZERO)
        .build());
  }

  @AfterEach
  void stop() {
    relay.close();
  }

  @Test
  void trustedCertificateWorksEndToEnd() throws Exception {
    try (RelayClient client = RelayClient.builder()
        .target("localhost:" + relay.grpcPort())
        .trustedCertificates(pem.certificate())
        .build()) {
      SessionInvite invite = client.createSession(Duration.ofMinutes(1));
      try (RelaySession verifier = client.join(invite.verifierTicket());
          RelaySession prover = client.join(invite.proverTicket())) {
        prover.sendBlocking("over tls".getBytes(UTF_8));
        assertThat(new String(verifier.receive(Duration.ofSeconds(10)), UTF_8)).isEqualTo("over tls");
      }
    }
  }

  @Test
  void theIpAddressInTheCertificateWorksToo() throws Exception {
    try (RelayClient client = RelayClient.builder()
        .target("127.0.0.1:" + relay.grpcPort())
        .trustedCertificates(pem.certificate())
        .build()) {
      assertThat(client.createSession().sessionId()).isNotEmpty();
    }
  }

  @Test
  void anotherCertificateInTheTrustStoreIsRefused() throws Exception {
    TestCertificates.Pem stranger = TestCertificates.create(dir.resolve("stranger"), "stranger");
    try (RelayClient client = RelayClient.builder()
        .target("localhost:" + relay.grpcPort())
        .trustedCertificates(stranger.certificate())
        .build()) {
      assertThatThrownBy(client::createSession).isInstanceOf(RelayUnavailableException.class);
      assertThatThrownBy(() -> client.join("a.b.c")).isInstanceOf(RelayUnavailableException.class);
    }
  }

  @Test
  void theSystemTrustStoreDoesNotTrustASelfSignedRelay() {
    try (RelayClient client = RelayClient.builder().target("localhost:" + relay.grpcPort()).build()) {
      assertThatThrownBy(client::createSession)
          .isInstanceOfSatisfying(RelayUnavailableException.class,
              e -> assertThat(e.getMessage()).isNotEmpty());
    }
  }

  @Test
  void plaintextAgainstATlsRelayFails() {
    try (RelayClient client = RelayClient.builder()
        .target("localhost:" + relay.grpcPort())
        .usePlaintext()
        .callTimeout(Duration.ofSeconds(5))
        .build()) {
      assertThatThrownBy(client::createSession).isInstanceOf(RelayException.class);
    }
  }
}
