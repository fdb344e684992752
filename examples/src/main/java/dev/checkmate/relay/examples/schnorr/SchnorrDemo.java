package dev.checkmate.relay.examples.schnorr;

import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * An interactive Schnorr identification proof between two processes that meet only through a
 * CheckMate relay. Run {@code verifier} first; it prints the {@code prover} command to run. Or run
 * {@code browser}: the browser is the verifier, the Java prover runs in the same command.
 */
@Command(
    name = "schnorr-demo",
    mixinStandardHelpOptions = true,
    version = "schnorr-demo 0.1.0",
    description = "Interactive Schnorr identification over a CheckMate relay.",
    subcommands = {VerifierCommand.class, ProverCommand.class, BrowserCommand.class, CommandLine.HelpCommand.class})
public final class SchnorrDemo implements Callable<Integer> {
  @Spec CommandSpec spec;

  /** Without a subcommand there is nothing to do: show the usage, exit like a usage error. */
  @Override
  public Integer call() {
    spec.commandLine().usage(spec.commandLine().getErr());
    return 2;
  }

  /** A fresh command line, so tests can redirect its output and run it in-process. */
  public static CommandLine commandLine() {
    return new CommandLine(new SchnorrDemo());
  }

  /** Entry point of {@code schnorr-demo.jar}. */
  public static void main(String[] args) {
    System.exit(commandLine().execute(args));
  }
}
