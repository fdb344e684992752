package dev.checkmate.relay.examples.schnorr;

import static org.assertj.core.api.Assertions.assertThat;

import dev.checkmate.relay.RelayConfig;
import dev.checkmate.relay.RelayServer;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Both picocli commands, in-process, against a real relay on loopback. */
@Timeout(60)
class SchnorrDemoTest {
  private static final Pattern PROVER_COMMAND =
      Pattern.compile("java -jar \\S+ prover --relay (\\S+) --ticket (\\S+)");

  private RelayServer relay;

  @BeforeEach
  void start() throws Exception {
    relay = RelayServer.start(
        RelayConfig.builder().grpcPort(0).drainTimeout(Duration.ZERO).build());
  }

  @AfterEach
  void stop() {
    relay.close();
  }

  private String relayAddress() {
    return "127.0.0.1:" + relay.grpcPort();
  }

  /** Starts the verifier and returns it with the prover command it printed. */
  private static Matcher startVerifier(DemoRun verifier) throws Exception {
    return verifier.await(PROVER_COMMAND);
  }

  @Test
  void anHonestProverConvincesTheVerifier() throws Exception {
    DemoRun verifier = new DemoRun("verifier", "--relay", relayAddress());
    Matcher command = startVerifier(verifier);
    assertThat(command.group(1)).isEqualTo(relayAddress());

    DemoRun prover = new DemoRun("prover", "--relay", command.group(1), "--ticket", command.group(2));

    assertThat(verifier.exitCode()).as(verifier.err.toString()).isZero();
    assertThat(verifier.out.toString()).contains("proof verified").doesNotContain("proof rejected");
    assertThat(prover.exitCode()).as(prover.err.toString()).isZero();
    assertThat(prover.out.toString()).contains("The verifier says: proof verified");
    awaitNoSessions(); // the verifier terminated the session
  }

  @Test
  void aLyingProverIsRejected() throws Exception {
    DemoRun verifier = new DemoRun("verifier", "--relay", relayAddress());
    Matcher command = startVerifier(verifier);

    DemoRun prover = new DemoRun("prover", "--relay", command.group(1), "--ticket", command.group(2), "--lie");

    assertThat(verifier.exitCode()).isEqualTo(1);
    assertThat(verifier.out.toString()).contains("proof rejected").doesNotContain("proof verified");
    assertThat(prover.exitCode()).isEqualTo(1);
    assertThat(prover.out.toString()).contains("Lying", "The verifier says: proof rejected");
    awaitNoSessions();
  }

  @Test
  void aBadTicketGivesAFriendlyError() throws Exception {
    DemoRun prover = new DemoRun("prover", "--relay", relayAddress(), "--ticket", "a.b.c");
    assertThat(prover.exitCode()).isEqualTo(Friendly.RELAY_ERROR);
    assertThat(prover.err.toString()).contains("error: the relay rejected the ticket");
  }

  @Test
  void anUnreachableRelayGivesAFriendlyError() throws Exception {
    int port;
    try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
      port = s.getLocalPort();
    }
    DemoRun verifier = new DemoRun("verifier", "--relay", "127.0.0.1:" + port);
    assertThat(verifier.exitCode()).isEqualTo(Friendly.RELAY_ERROR);
    assertThat(verifier.err.toString()).contains("cannot reach the relay at 127.0.0.1:" + port);
  }

  @Test
  void helpAndUsageErrors() throws Exception {
    DemoRun help = new DemoRun("--help");
    assertThat(help.exitCode()).isZero();
    assertThat(help.out.toString()).contains("verifier", "prover");
    DemoRun proverHelp = new DemoRun("prover", "--help");
    assertThat(proverHelp.exitCode()).isZero();
    assertThat(proverHelp.out.toString()).contains("--ticket", "--lie", "--relay");
    DemoRun missingTicket = new DemoRun("prover");
    assertThat(missingTicket.exitCode()).isEqualTo(2);
    assertThat(missingTicket.err.toString()).contains("--ticket");
  }

  private void awaitNoSessions() throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (relay.hub().sessionCount() > 0 && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    assertThat(relay.hub().sessionCount()).isZero();
  }
}
