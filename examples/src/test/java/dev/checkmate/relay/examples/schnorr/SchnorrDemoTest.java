package dev.checkmate.relay.examples.schnorr;

import static org.assertj.core.api.Assertions.assertThat;

import dev.checkmate.relay.RelayConfig;
import dev.checkmate.relay.RelayServer;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import picocli.CommandLine;

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

  /** One run of a command with its own captured stdout and stderr. */
  private static final class Run {
    final StringWriter out = new StringWriter(); // StringBuffer inside: safe to read while written
    final StringWriter err = new StringWriter();
    final CompletableFuture<Integer> exit;

    Run(String... args) {
      CommandLine cmd = SchnorrDemo.commandLine();
      cmd.setOut(new PrintWriter(out, true));
      cmd.setErr(new PrintWriter(err, true));
      exit = CompletableFuture.supplyAsync(() -> cmd.execute(args));
    }

    int exitCode() throws Exception {
      return exit.get(30, TimeUnit.SECONDS);
    }
  }

  private String relayAddress() {
    return "127.0.0.1:" + relay.grpcPort();
  }

  /** Starts the verifier and returns it with the prover command it printed. */
  private Matcher startVerifier(Run verifier) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (System.nanoTime() < deadline) {
      Matcher m = PROVER_COMMAND.matcher(verifier.out.toString());
      if (m.find()) {
        return m;
      }
      assertThat(verifier.exit).as("verifier ended early: %s %s", verifier.out, verifier.err)
          .isNotDone();
      Thread.sleep(20);
    }
    throw new AssertionError("no prover command printed: " + verifier.out + verifier.err);
  }

  @Test
  void anHonestProverConvincesTheVerifier() throws Exception {
    Run verifier = new Run("verifier", "--relay", relayAddress());
    Matcher command = startVerifier(verifier);
    assertThat(command.group(1)).isEqualTo(relayAddress());

    Run prover = new Run("prover", "--relay", command.group(1), "--ticket", command.group(2));

    assertThat(verifier.exitCode()).as(verifier.err.toString()).isZero();
    assertThat(verifier.out.toString()).contains("proof verified").doesNotContain("proof rejected");
    assertThat(prover.exitCode()).as(prover.err.toString()).isZero();
    assertThat(prover.out.toString()).contains("The verifier says: proof verified");
    awaitNoSessions(); // the verifier terminated the session
  }

  @Test
  void aLyingProverIsRejected() throws Exception {
    Run verifier = new Run("verifier", "--relay", relayAddress());
    Matcher command = startVerifier(verifier);

    Run prover = new Run("prover", "--relay", command.group(1), "--ticket", command.group(2), "--lie");

    assertThat(verifier.exitCode()).isEqualTo(1);
    assertThat(verifier.out.toString()).contains("proof rejected").doesNotContain("proof verified");
    assertThat(prover.exitCode()).isEqualTo(1);
    assertThat(prover.out.toString()).contains("Lying", "The verifier says: proof rejected");
    awaitNoSessions();
  }

  @Test
  void aBadTicketGivesAFriendlyError() throws Exception {
    Run prover = new Run("prover", "--relay", relayAddress(), "--ticket", "a.b.c");
    assertThat(prover.exitCode()).isEqualTo(Friendly.RELAY_ERROR);
    assertThat(prover.err.toString()).contains("error: the relay rejected the ticket");
  }

  @Test
  void anUnreachableRelayGivesAFriendlyError() throws Exception {
    int port;
    try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
      port = s.getLocalPort();
    }
    Run verifier = new Run("verifier", "--relay", "127.0.0.1:" + port);
    assertThat(verifier.exitCode()).isEqualTo(Friendly.RELAY_ERROR);
    assertThat(verifier.err.toString()).contains("cannot reach the relay at 127.0.0.1:" + port);
  }

  @Test
  void helpAndUsageErrors() throws Exception {
    Run help = new Run("--help");
    assertThat(help.exitCode()).isZero();
    assertThat(help.out.toString()).contains("verifier", "prover");
    Run proverHelp = new Run("prover", "--help");
    assertThat(proverHelp.exitCode()).isZero();
    assertThat(proverHelp.out.toString()).contains("--ticket", "--lie", "--relay");
    Run missingTicket = new Run("prover");
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
