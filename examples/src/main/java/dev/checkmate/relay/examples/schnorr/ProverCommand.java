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

  @Mixin ProverOptions secret;

  @Override
  public Integer call() throws InterruptedException {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    BigInteger x = secret.secret(out, err);
    if (x == null) {
      return 2;
    }
    try (RelayClient client = relay.clientBuilder().build()) {
      return prove(client, ticket, x, relay, out, err);
    }
  }

  /**
   * The prover's side of one proof over a session joined with {@code ticket}; the exit status: 0
   * verified, 1 rejected, {@link Friendly#RELAY_ERROR} for relay errors.
   */
  static int prove(RelayClient client, String ticket, BigInteger secret, RelayOptions relay, PrintWriter out, PrintWriter err)
      throws InterruptedException {
    Schnorr.Prover prover = new Schnorr.Prover(secret, new SecureRandom());
    try (RelaySession session = client.join(ticket)) {
      out.println("Joined session " + session.sessionId() + " as prover"
          + (session.peerPresent() ? "; the verifier is here." : "; waiting for the verifier."));
      out.flush();

      session.sendBlocking(Messages.number(Messages.COMMITMENT, prover.commit()));
      out.println("Sent commitment t = g^r.");
      BigInteger challenge = Messages.readNumber(Messages.CHALLENGE, receive(session, relay));
      out.println("Received challenge c.");
      session.sendBlocking(Messages.number(Messages.RESPONSE, prover.respond(challenge)));
      out.println("Sent response s = r + c*x mod q.");
      boolean verified = Messages.readResult(receive(session, relay));
      out.println("The verifier says: " + (verified ? "proof verified" : "proof rejected"));
      out.flush();
      return verified ? 0 : 1;
    } catch (RelayException e) {
      err.println("error: " + Friendly.describe(e, relay.relay));
      return Friendly.RELAY_ERROR;
    } catch (StepTimeoutException | IllegalArgumentException e) {
      err.println("error: " + e.getMessage());
      return Friendly.RELAY_ERROR;
    }
  }

  private static byte[] receive(RelaySession session, RelayOptions relay) throws InterruptedException {
    byte[] frame = session.receive(relay.timeout());
    if (frame == null) {
      throw new StepTimeoutException(
          "the verifier sent nothing for " + relay.timeoutSeconds + " s");
    }
    return frame;
  }
}
