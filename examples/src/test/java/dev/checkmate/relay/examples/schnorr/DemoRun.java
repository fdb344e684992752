package dev.checkmate.relay.examples.schnorr;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine;

/** One in-process run of a demo command, with its own captured stdout and stderr. */
final class DemoRun {
  final StringWriter out = new StringWriter(); // StringBuffer inside: safe to read while written
  final StringWriter err = new StringWriter();
  final CompletableFuture<Integer> exit;

  DemoRun(String... args) {
    CommandLine cmd = SchnorrDemo.commandLine();
    cmd.setOut(new PrintWriter(out, true));
    cmd.setErr(new PrintWriter(err, true));
    exit = CompletableFuture.supplyAsync(() -> cmd.execute(args));
  }

  int exitCode() throws Exception {
    return exit.get(30, TimeUnit.SECONDS);
  }

  /** Waits until the command printed something matching {@code pattern}; fails if it ends first. */
  Matcher await(Pattern pattern) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (System.nanoTime() < deadline) {
      Matcher m = pattern.matcher(out.toString());
      if (m.find()) {
        return m;
      }
      assertThat(exit).as("ended early: %s %s", out, err).isNotDone();
      Thread.sleep(20);
    }
    throw new AssertionError("nothing like " + pattern + " printed: " + out + err);
  }
}
