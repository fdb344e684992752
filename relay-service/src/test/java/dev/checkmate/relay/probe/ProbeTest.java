package dev.checkmate.relay.probe;

import static dev.checkmate.relay.probe.Probing.PAIRINGS;
import static dev.checkmate.relay.probe.Probing.probe;
import static dev.checkmate.relay.probe.Probing.probeLoopback;
import static org.assertj.core.api.Assertions.assertThat;

import dev.checkmate.relay.RelayConfig;
import dev.checkmate.relay.proto.v1.CreateSessionResponse;
import dev.checkmate.relay.testing.TestCertificates;
import dev.checkmate.relay.testing.TestRelay;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The probe against real relays on loopback: plaintext, TLS 1.3, issuer keys, and relays that are not there. */
@Timeout(120)
class ProbeTest {
  @TempDir
  static Path dir;
  @AutoClose
  static TestRelay plain;
  @AutoClose
  static TestRelay tls;
  static TestCertificates.Pem cert;

  @BeforeAll
  static void start() throws Exception {
    plain = TestRelay.start(RelayConfig.builder().webSocketPort(0));
    cert = TestCertificates.create(dir.resolve("tls"));
    tls = TestRelay.start(RelayConfig.builder().webSocketPort(0).tlsCertificate(cert.certificate()).tlsPrivateKey(cert.privateKey()));
  }

  @Test
  void aHealthyRelayPassesEveryCheckAndEveryPairingOfTransports() {
    Probing.Run r = probeLoopback(plain, plain);
    assertThat(r.exit()).as(r.toString()).isZero();
    assertThat(r.status("gRPC health")).isEqualTo("PASS");
    assertThat(r.status("HTTP /healthz")).isEqualTo("PASS");
    assertThat(r.status("CreateSession")).isEqualTo("PASS");
    for (String p : PAIRINGS) {
      assertThat(r.status("Session " + p)).as(r.toString()).isEqualTo("PASS");
      assertThat(r.line("Session " + p)).contains("3 round trips").containsPattern("RTT p50 \\d+\\.\\d\\d ms");
      assertThat(r.status("Same node " + p)).isEqualTo("PASS");
    }
    assertThat(r.out()).doesNotContain("FAIL").contains("OK: ");
  }

  @Test
  void tlsOneThreeWithATrustedCertificateTheRightPinAndAlpnH2Passes() {
    String pin = Trust.pinOf(cert.x509());
    Probing.Run r = probe("--target", "https://localhost:" + tls.server.grpcPort(), "--web", "https://localhost:" + tls.server.webSocketPort(),
        "--ca-cert", cert.certificate().toString(), "--pin", pin, "--expect-reflection", "on", "--round-trips", "2");
    assertThat(r.exit()).as(r.toString()).isZero();
    assertThat(r.line("TLS version")).contains("PASS", "TLSv1.3", "TLS 1.2-only client is refused");
    // The test certificate is valid for a day: trusted, but close enough to expiry for a warning (exit stays 0).
    assertThat(r.line("Certificate")).contains("WARN", "CN=localhost", "trusted, name matches localhost", "0 days left");
    assertThat(r.fix("Certificate")).contains("renew");
    assertThat(r.line("Certificate pin")).contains("PASS", pin);
    assertThat(r.line("ALPN")).contains("PASS", "h2");
    assertThat(r.status("TLS version (web)")).isEqualTo("PASS");
    for (String p : PAIRINGS) {
      assertThat(r.status("Session " + p)).as(r.toString()).isEqualTo("PASS");
    }
  }

  @Test
  void aWrongPinAnUntrustedCertificateAndReflectionOnAPublicEdgeFailWithAFix() {
    String otherPin = "sha256/" + java.util.Base64.getEncoder().encodeToString(new byte[32]);
    Probing.Run r = probe("--target", "https://localhost:" + tls.server.grpcPort(), "--web", "https://localhost:" + tls.server.webSocketPort(),
        "--pin", otherPin, "--round-trips", "1", "--timeout", "PT3S");
    assertThat(r.exit()).as(r.toString()).isEqualTo(1);
    assertThat(r.status("TLS version")).as("the version is checked even when the chain is not trusted").isEqualTo("PASS");
    assertThat(r.line("Certificate")).contains("FAIL", "not accepted");
    assertThat(r.fix("Certificate")).contains("--ca-cert");
    assertThat(r.line("Certificate pin")).contains("FAIL", "leaf key's pin is " + Trust.pinOf(cert.x509()));
    // Without trust in the certificate nothing on the gRPC port answers; the later checks say so once.
    assertThat(r.line("gRPC health")).startsWith("FAIL").contains("UNAVAILABLE");
    assertThat(r.line("Reflection")).startsWith("SKIP").contains("see gRPC health");
    assertThat(r.line("CreateSession")).startsWith("SKIP");
    assertThat(r.out()).contains("FAILED: ");
  }

  @Test
  void anHttpsTargetIsAPublicEdgeWhereReflectionMustBeOff() {
    Probing.Run r = probe("--target", "https://localhost:" + tls.server.grpcPort(), "--ca-cert", cert.certificate().toString(),
        "--transports", "grpc", "--round-trips", "1");
    assertThat(r.exit()).isEqualTo(1);
    assertThat(r.line("Reflection")).startsWith("FAIL").contains("expected off");
    assertThat(r.status("Session gRPC -> gRPC")).isEqualTo("PASS");
  }

  @Test
  void reflectionIsCheckedAgainstTheExpectation() {
    assertThat(probeLoopback(plain, plain, "--transports", "grpc", "--expect-reflection", "on").line("Reflection")).startsWith("PASS");
    Probing.Run off = probeLoopback(plain, plain, "--transports", "grpc", "--expect-reflection", "off");
    assertThat(off.exit()).isEqualTo(1);
    assertThat(off.line("Reflection")).startsWith("FAIL").contains("expected off");
    assertThat(off.fix("Reflection")).contains("/relay.v1.RelayService/");
  }

  @Test
  void ticketsFromTheCommandLineReplaceCreateSession() {
    List<String> args = new ArrayList<>(List.of("--transports", "websocket,grpc"));
    for (int i = 0; i < 2; i++) {
      CreateSessionResponse s = plain.createSession();
      args.addAll(List.of("--tickets", s.getProverTicket() + "," + s.getVerifierTicket()));
    }
    Probing.Run r = probeLoopback(plain, plain, args.toArray(String[]::new));
    assertThat(r.exit()).as(r.toString()).isZero();
    assertThat(r.line("CreateSession")).startsWith("SKIP").contains("2 ticket pair(s)");
    assertThat(r.status("Session WebSocket -> gRPC")).isEqualTo("PASS");
    assertThat(r.status("Session gRPC -> WebSocket")).isEqualTo("PASS");
  }

  @Test
  void anEndedSessionsTicketsFailTheSessionAndSayWhy() {
    CreateSessionResponse s = plain.createSession();
    String pair = s.getProverTicket() + "," + s.getVerifierTicket();
    assertThat(probeLoopback(plain, plain, "--transports", "grpc", "--tickets", pair).exit()).isZero();
    Probing.Run again = probeLoopback(plain, plain, "--transports", "grpc", "--tickets", pair);
    assertThat(again.exit()).isEqualTo(1);
    assertThat(again.line("Session gRPC -> gRPC")).startsWith("FAIL").contains("FAILED_PRECONDITION");
    assertThat(again.status("Same node gRPC -> gRPC")).isEqualTo("SKIP");
  }

  @Test
  void withIssuerKeysCreateSessionNeedsOneAndTheProbeSaysSo() throws Exception {
    try (TestRelay guarded = TestRelay.start(RelayConfig.builder().webSocketPort(0).issuerKeys(List.of("probe-issuer-key-1")))) {
      Probing.Run refused = probeLoopback(guarded, guarded, "--transports", "grpc");
      assertThat(refused.exit()).isEqualTo(1);
      assertThat(refused.line("CreateSession")).startsWith("FAIL").contains("PERMISSION_DENIED");
      assertThat(refused.fix("CreateSession")).contains("--issuer-key");
      assertThat(refused.status("Session gRPC -> gRPC")).isEqualTo("SKIP");
      Probing.Run ok = probeLoopback(guarded, guarded, "--transports", "grpc", "--issuer-key", "probe-issuer-key-1");
      assertThat(ok.exit()).as(ok.toString()).isZero();
      assertThat(ok.line("CreateSession")).contains("with the issuer key");
    }
  }

  @Test
  void aRelayThatIsNotThereFailsQuickly() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    Probing.Run r = probe("--target", "http://127.0.0.1:" + port, "--timeout", "PT2S");
    assertThat(r.exit()).isEqualTo(1);
    assertThat(r.line("gRPC health")).startsWith("FAIL").contains("UNAVAILABLE");
    assertThat(r.line("HTTP /healthz")).startsWith("FAIL");
  }

  @Test
  void theRelayJarRunsItAsASubcommand() {
    assertThat(new picocli.CommandLine(new dev.checkmate.relay.RelayMain()).getSubcommands()).containsKey("probe");
  }

  @Test
  void badArgumentsAreUsageErrors() {
    assertThat(probe("--target", "127.0.0.1:9090").exit()).isEqualTo(2);
    assertThat(probe("--target", "ftp://x").err()).contains("expected https://host[:port] or http://host:port");
    assertThat(probe("--target", "https://x", "--pin", "abc").exit()).isEqualTo(2);
    assertThat(probe("--target", "https://x", "--transports", "grpc,carrier-pigeon").err()).contains("unknown transport");
    assertThat(probe("--target", "https://x", "--tickets", "only-one").exit()).isEqualTo(2);
  }
}
