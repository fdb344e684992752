package dev.checkmate.relay.examples.schnorr;

import java.io.PrintWriter;
import java.math.BigInteger;
import picocli.CommandLine.Option;

/** The prover's key options, shared by the commands that run the Java prover (a picocli mixin). */
final class ProverOptions {
  @Option(
      names = "--secret",
      paramLabel = "HEX",
      description = "The secret key x in hex (default: the demo key).")
  String secretHex;

  @Option(
      names = "--lie",
      description = "Use a wrong secret, to watch the verifier reject the proof.")
  boolean lie;

  /** The secret to prove with (says so on {@code out} when lying), or null after a usage error on {@code err}. */
  BigInteger secret(PrintWriter out, PrintWriter err) {
    BigInteger x;
    try {
      x = secretHex == null
          ? Schnorr.demoKeyPair().secret()
          : Schnorr.KeyPair.fromSecret(new BigInteger(secretHex, 16)).secret();
    } catch (IllegalArgumentException e) {
      err.println("error: --secret: " + e.getMessage());
      return null;
    }
    if (lie) {
      // Any other exponent: the response can then only pass with probability 2^-256.
      out.println("Lying: proving with a wrong secret.");
      return x.add(BigInteger.ONE).mod(SchnorrGroup.Q);
    }
    return x;
  }
}
