package dev.checkmate.relay.examples.schnorr;

import dev.checkmate.relay.client.RelayClient;
import dev.checkmate.relay.client.RelayException;
import dev.checkmate.relay.client.RelaySession;
import dev.checkmate.relay.client.SessionInvite;
import java.io.PrintWriter;
import java.math.BigInteger;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** Creates a session, tells the user how to start the prover, and checks the proof. */
@Command(
    name = "verifier",
    mixinStandardHelpOptions = true,
    description = {
      "Create a relay session, print the prover's command line, then verify its Schnorr proof.",
      "Exit status: 0 proof verified, 1 proof rejected, 2 usage error, 3 relay error."
    })
final class VerifierCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Mixin RelayOptions relay;

  @Option(
      names = "--public-key",
      paramLabel = "HEX",
      description = "The prover's public key y = g^x mod p (default: the demo key).")
  String publicKeyHex;

  @Mixin SessionOptions created;

  @Override
  public Integer call() throws InterruptedException {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    BigInteger publicKey =
        publicKeyHex == null ? Schnorr.demoKeyPair().publicKey() : new BigInteger(publicKeyHex, 16);
    Schnorr.Verifier verifier;
    try {
      verifier = new Schnorr.Verifier(publicKey, new SecureRandom());
    } catch (IllegalArgumentException e) {
      err.println("error: --public-key: " + e.getMessage());
      return 2;
    }

    try (RelayClient client = relay.clientBuilder().issuerKey(created.issuerKey).build()) {
      SessionInvite invite = client.createSession(created.ttl());
      out.println("Session " + invite.sessionId() + " created (expires " + invite.expiresAt() + ").");
      out.println("Start the prover in another terminal:");
      out.println();
      out.println("  java -jar " + jarPath() + " prover " + relay.asArguments()
          + " --ticket " + invite.proverTicket());
      out.println();
      out.flush();

      try (RelaySession session = client.join(invite.verifierTicket())) {
        out.println("Joined as verifier; waiting for the prover...");
        out.flush();
        if (!session.awaitPeer(relay.timeout())) {
          err.println("error: no prover joined within " + relay.timeoutSeconds + " s");
          session.terminate("no prover joined");
          return Friendly.RELAY_ERROR;
        }
        boolean verified;
        try {
          verified = runProtocol(session, verifier, out);
        } catch (IllegalArgumentException e) {
          // A malformed or out-of-order message is a failed proof, not a crash.
          out.println("Rejecting: " + e.getMessage() + ".");
          verified = false;
        }
        session.sendBlocking(Messages.result(verified));
        out.println(verified ? "proof verified" : "proof rejected");
        out.flush();
        session.terminate(verified ? "proof verified" : "proof rejected");
        return verified ? 0 : 1;
      }
    } catch (RelayException e) {
      err.println("error: " + Friendly.describe(e, relay.relay));
      return Friendly.RELAY_ERROR;
    } catch (StepTimeoutException e) {
      err.println("error: " + e.getMessage());
      return Friendly.RELAY_ERROR;
    }
  }

  private boolean runProtocol(RelaySession session, Schnorr.Verifier verifier, PrintWriter out)
      throws InterruptedException {
    BigInteger commitment = Messages.readNumber(Messages.COMMITMENT, receive(session));
    out.println("Prover joined; received commitment t.");
    BigInteger challenge;
    try {
      challenge = verifier.challenge(commitment);
    } catch (IllegalArgumentException e) {
      out.println("Rejecting: " + e.getMessage() + ".");
      return false;
    }
    session.sendBlocking(Messages.number(Messages.CHALLENGE, challenge));
    out.println("Sent a " + Schnorr.CHALLENGE_BITS + "-bit random challenge c.");
    BigInteger response = Messages.readNumber(Messages.RESPONSE, receive(session));
    out.println("Received response s; checking g^s == t * y^c (mod p).");
    return verifier.verify(response);
  }

  private byte[] receive(RelaySession session) throws InterruptedException {
    byte[] frame = session.receive(relay.timeout());
    if (frame == null) {
      throw new StepTimeoutException("the prover sent nothing for " + relay.timeoutSeconds + " s");
    }
    return frame;
  }

  /** The path of the running jar, so the printed command works as it is. */
  static String jarPath() {
    try {
      Path p = Path.of(VerifierCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI());
      if (p.toString().endsWith(".jar")) {
        Path cwd = Path.of("").toAbsolutePath();
        return p.startsWith(cwd) ? cwd.relativize(p).toString() : p.toString();
      }
    } catch (Exception e) {
      // Fall through to the documented location.
    }
    return "examples/target/schnorr-demo.jar";
  }
}
