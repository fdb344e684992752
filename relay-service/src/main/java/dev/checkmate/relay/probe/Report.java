package dev.checkmate.relay.probe;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** The checklist as it grows; printed as text (people) or JSON lines (pipelines). */
final class Report {
  private final List<Check> checks = new ArrayList<>();
  private final PrintWriter out;
  private final boolean json;

  Report(PrintWriter out, boolean json) {
    this.out = out;
    this.json = json;
  }

  /** Records a check and prints it at once, so a slow step never hides the ones before it. */
  Check add(Check c) {
    checks.add(c);
    if (json) {
      out.println("{\"check\":" + quote(c.name()) + ",\"status\":\"" + c.status() + "\",\"found\":" + quote(c.found())
          + ",\"fix\":" + quote(c.fix()) + "}");
    } else {
      out.println(String.format(Locale.ROOT, "%-4s  %-34s %s", c.status(), c.name(), c.found()));
      if (!c.fix().isEmpty()) {
        out.println(String.format(Locale.ROOT, "      %-34s fix: %s", "", c.fix()));
      }
    }
    out.flush();
    return c;
  }

  List<Check> checks() {
    return List.copyOf(checks);
  }

  long count(Check.Status status) {
    return checks.stream().filter(c -> c.status() == status).count();
  }

  /** 0 when nothing failed (warnings and skips included), 1 otherwise. */
  int exitCode() {
    return count(Check.Status.FAIL) == 0 ? 0 : 1;
  }

  void summary() {
    String line = count(Check.Status.PASS) + " passed, " + count(Check.Status.WARN) + " warnings, "
        + count(Check.Status.FAIL) + " failed, " + count(Check.Status.SKIP) + " skipped";
    if (json) {
      out.println("{\"summary\":" + quote(line) + ",\"exit\":" + exitCode() + "}");
    } else {
      out.println();
      out.println((exitCode() == 0 ? "OK: " : "FAILED: ") + line);
    }
    out.flush();
  }

  static String quote(String s) {
    StringBuilder sb = new StringBuilder("\"");
    for (char ch : s.toCharArray()) {
      switch (ch) {
        case '"' -> sb.append("\\\"");
        case '\\' -> sb.append("\\\\");
        case '\n' -> sb.append("\\n");
        case '\r' -> sb.append("\\r");
        case '\t' -> sb.append("\\t");
        default -> {
          if (ch < 0x20) {
            sb.append(String.format(Locale.ROOT, "\\u%04x", (int) ch));
          } else {
            sb.append(ch);
          }
        }
      }
    }
    return sb.append('"').toString();
  }
}
