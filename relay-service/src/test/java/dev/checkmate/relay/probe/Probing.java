package dev.checkmate.relay.probe;

import dev.checkmate.relay.testing.TestRelay;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import picocli.CommandLine;

/** Runs {@code relay.jar probe} in-process, as the command line would, and keeps what it printed. */
public final class Probing {
  /** Exit status and output of one probe run. */
  public record Run(int exit, String out, String err) {
    /** The printed line of a check, e.g. {@code line("Same node gRPC -> WebSocket")}. */
    public String line(String check) {
      for (String l : out.split("\n")) {
        if (l.length() > 6 && l.substring(6).startsWith(check + " ")) {
          return l;
        }
      }
      throw new AssertionError("no check named '" + check + "' in:\n" + out + err);
    }

    /** The status word of a check: PASS, WARN, FAIL or SKIP. */
    public String status(String check) {
      return line(check).substring(0, 4);
    }

    /** The line after a check's line: its fix, if it has one. */
    public String fix(String check) {
      String[] lines = out.split("\n");
      String l = line(check);
      for (int i = 0; i < lines.length - 1; i++) {
        if (lines[i].equals(l)) {
          return lines[i + 1].contains("fix: ") ? lines[i + 1].strip() : "";
        }
      }
      return "";
    }

    @Override
    public String toString() {
      return "exit " + exit + "\n" + out + err;
    }
  }

  private Probing() {}

  public static Run probe(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int exit = new CommandLine(new ProbeCommand()).setOut(new PrintWriter(out)).setErr(new PrintWriter(err)).execute(args);
    return new Run(exit, out.toString(), err.toString());
  }

  /** The plaintext probe of one relay: gRPC on its gRPC port, browsers on its HTTP port. */
  public static Run probeLoopback(TestRelay grpc, TestRelay web, String... more) {
    List<String> args = new ArrayList<>(List.of(
        "--target", "http://127.0.0.1:" + grpc.server.grpcPort(),
        "--web", "http://127.0.0.1:" + web.server.webSocketPort(),
        "--round-trips", "3", "--timeout", "PT5S"));
    args.addAll(Arrays.asList(more));
    return probe(args.toArray(String[]::new));
  }

  /** The names of the pairings the probe runs by default. */
  public static final List<String> PAIRINGS = List.of("gRPC -> WebSocket", "WebSocket -> gRPC-Web", "gRPC-Web -> gRPC");
}
