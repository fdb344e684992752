package dev.checkmate.relay.examples.schnorr;

import dev.checkmate.relay.client.RelayClient;
import dev.checkmate.relay.client.RelayException;
import dev.checkmate.relay.client.RelaySession;
import java.io.PrintWriter;
import java.math.BigInteger;
import java.security.SecureRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** Joins a session with the prover ticket and proves knowledge of the secret key. */
@Command(
    name = "prover",
    mixinStandardHelpOptions = true,
    description = {
      "Join a relay session as the prover and prove knowledge of the secret key x of y = g^x.",
      "Exit status: 0 proof verified, 1 proof rejected, 2 usage error, 3 relay error."
    })
final class ProverCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Mixin RelayOptions relay;

  @Option(
      names = "--ticket",
      required = true,
      paramLabel = "TICKET",
      description = "The prover ticket printed by the verifier.")
  String ticket;

  @Option(
      names = "--secret",
      paramLabel = "HEX",
      description = "The secret key x in hex (default: the demo key).")
  String secretHex;

  @Option(
      names = "--lie",
      description = "Use a wrong secret, to watch the verifier reject the proof.")
  boolean lie;

  @Override
  public Integer call() throws InterruptedException {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    BigInteger secret;
    try {
      secret = secretHex == null
          ? Schnorr.demoKeyPair().secret()
          : Schnorr.KeyPair.fromSecret(new BigInteger(secretHex, 16)).secret();
    } catch (IllegalArgumentException e) {
      err.println("error: --secret: " + e.getMessage());
      return 2;
    }
    if (lie) {
      // Any other exponent: the response can then only pass with probability 2^-256.
      secret = secret.add(BigInteger.ONE).mod(SchnorrGroup.Q);
      out.println("Lying: proving with a wrong secret.");
    }
    Schnorr.Prover prover = new Schnorr.Prover(secret, new SecureRandom());

    try (RelayClient client = relay.clientBuilder().build();
        RelaySession session = client.join(ticket)) {
      out.println("Joined session " + session.sessionId() + " as prover"
          + (session.peerPresent() ? "; the verifier is here." : "; waiting for the verifier."));
      out.flush();

      session.sendBlocking(Messages.number(Messages.COMMITMENT, prover.commit()));
      out.println("Sent commitment t = g^r.");
      BigInteger challenge = Messages.readNumber(Messages.CHALLENGE, receive(session));
      out.println("Received challenge c.");
      session.sendBlocking(Messages.number(Messages.RESPONSE, prover.respond(challenge)));
      out.println("Sent response s = r + c*x mod q.");
      boolean verified = Messages.readResult(receive(session));
      out.println("The verifier says: " + (verified ? "proof verified" : "proof rejected"));
      return verified ? 0 : 1;
    } catch (RelayException e) {
      err.println("error: " + Friendly.describe(e, relay.relay));
      return Friendly.RELAY_ERROR;
    } catch (StepTimeoutException | IllegalArgumentException e) {
      err.println("error: " + e.getMessage());
      return Friendly.RELAY_ERROR;
    }
  }

  private byte[] receive(RelaySession session) throws InterruptedException {
    byte[] frame = session.receive(relay.timeout());
    if (frame == null) {
      throw new StepTimeoutException(
          "the verifier sent nothing for " + relay.timeoutSeconds + " s");
    }
    return frame;
  }
}
