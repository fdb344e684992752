package dev.checkmate.relay.soak;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code java -jar relay-soak/target/relay-soak.jar [options]}: a soak run on this machine's
 * loopback (3 nats-servers, 3 relays, Java SDK, browser SDK and Chromium participants, faults on a
 * seeded schedule); prints progress and the report, writes it with {@code --out}, exits 0 when
 * every goal was met and 1 otherwise. Run from the repository root (it uses client-web's build).
 */
@Command(name = "relay-soak", mixinStandardHelpOptions = true, sortOptions = false,
    description = "Soak the relay cluster under faults and account for every frame (relay-soak/README.md).")
public final class SoakMain implements Callable<Integer> {
  @Option(names = "--quick", description = "Start from the short run of mvn verify (60 s, 40 sessions, every fault) instead of "
      + "the 10-minute one; the options below change either")
  boolean quick;
  @Option(names = "--duration", description = "Length of the load, ISO-8601 (default PT10M; --quick PT60S)")
  Duration duration;
  @Option(names = "--sessions", description = "Concurrent sessions (default 1000; --quick 40)")
  Integer sessions;
  @Option(names = "--seed", description = "Seed of the fault schedule and the session plans (printed; default: the clock)")
  Long seed;
  @Option(names = "--regions", description = "1, or 2 NATS clusters joined by gateways (default 1)")
  Integer regions;
  @Option(names = "--frames-per-second", description = "Per participant (default 0.2; --quick 2)")
  Double framesPerSecond;
  @Option(names = "--grpc-share", description = "Share of participants on gRPC, the Java SDK (default 0.4)")
  Double grpcShare;
  @Option(names = "--websocket-share", description = "On WebSocket, the browser SDK; the rest use gRPC-Web (default 0.4)")
  Double webSocketShare;
  @Option(names = "--chromium-pages", description = "Real Chromium pages at a time (default 2; --quick 1)")
  Integer chromiumPages;
  @Option(names = "--cross-node-share", description = "Sessions whose peers are on different relays (default 0.5)")
  Double crossNodeShare;
  @Option(names = "--session-seconds", split = ",", description = "Shortest and longest session, e.g. 5,60 (default 20,120; --quick 4,20)")
  List<Integer> sessionSeconds;
  @Option(names = "--faults", split = ",", description = "Fault kinds: ${COMPLETION-CANDIDATES} (default all)")
  List<Fault.Kind> faults;
  @Option(names = "--fault-interval", description = "Mean time between faults (default PT25S; --quick PT7S)")
  Duration faultInterval;
  @Option(names = "--drain-seconds", description = "The relays' --drain-seconds (default 5; --quick 3)")
  Integer drainSeconds;
  @Option(names = "--relay-jvm", description = "JVM options of each relay (default \"-Xms256m -Xmx256m -XX:+UseG1GC\")")
  String relayJvm;
  @Option(names = "--work-dir", description = "Process logs and NATS configuration (default target/soak-<time>)")
  Path workDir;
  @Option(names = "--out", description = "Also write the report here")
  Path out;

  public static void main(String[] args) {
    int code = new CommandLine(new SoakMain()).setCaseInsensitiveEnumValuesAllowed(true).execute(args);
    System.exit(code);
  }

  @Override
  public Integer call() throws Exception {
    SoakConfig c = quick ? SoakConfig.quick() : SoakConfig.full();
    apply(c);
    SoakReport report = new Soak(c, line -> System.out.println(line)).run();
    String text = report.text(machine());
    System.out.println();
    System.out.println(text);
    if (out != null) {
      if (out.getParent() != null) {
        Files.createDirectories(out.getParent());
      }
      Files.writeString(out, text);
      System.out.println("report written to " + out);
    }
    return report.violations().isEmpty() ? 0 : 1;
  }

  private void apply(SoakConfig c) {
    c.seed = seed != null ? seed : System.currentTimeMillis();
    c.duration = duration != null ? duration : c.duration;
    c.sessions = sessions != null ? sessions : c.sessions;
    c.regions = regions != null ? regions : c.regions;
    c.framesPerSecond = framesPerSecond != null ? framesPerSecond : c.framesPerSecond;
    c.grpcShare = grpcShare != null ? grpcShare : c.grpcShare;
    c.webSocketShare = webSocketShare != null ? webSocketShare : c.webSocketShare;
    c.chromiumPages = chromiumPages != null ? chromiumPages : c.chromiumPages;
    c.crossNodeShare = crossNodeShare != null ? crossNodeShare : c.crossNodeShare;
    if (sessionSeconds != null && !sessionSeconds.isEmpty()) {
      c.minSessionSeconds = sessionSeconds.get(0);
      c.maxSessionSeconds = sessionSeconds.get(sessionSeconds.size() - 1);
    }
    c.faults = faults == null || faults.isEmpty() ? c.faults : EnumSet.copyOf(faults);
    c.faultInterval = faultInterval != null ? faultInterval : c.faultInterval;
    c.drainSeconds = drainSeconds != null ? drainSeconds : c.drainSeconds;
    c.relayJvmArgs = relayJvm != null ? List.of(relayJvm.trim().split("\\s+")) : c.relayJvmArgs;
    c.clientWeb = findClientWeb();
    c.workDir = (workDir != null ? workDir : Path.of("target", "soak-" + System.currentTimeMillis())).toAbsolutePath();
  }

  /** client-web of this repository: from the working directory or one of its parents. */
  static Path findClientWeb() {
    for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
      if (Files.exists(p.resolve("client-web/package.json"))) {
        return p.resolve("client-web");
      }
    }
    throw new IllegalStateException("run from the repository (client-web/ not found above " + Path.of("").toAbsolutePath() + ")");
  }

  /** The machine, for the report: CPU model and cores, memory, kernel, JDK, Node.js, nats-server. */
  static String machine() {
    String model = "?";
    try {
      for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
        if (line.startsWith("model name")) {
          model = line.substring(line.indexOf(':') + 1).strip();
          break;
        }
      }
    } catch (IOException e) {
      // not Linux
    }
    long memGiB = -1;
    try {
      for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
        if (line.startsWith("MemTotal:")) {
          memGiB = Long.parseLong(line.replaceAll("\\D", "")) / 1024 / 1024;
        }
      }
    } catch (IOException e) {
      // not Linux
    }
    return String.format(Locale.ROOT, "%s, %d cores, %d GiB, %s %s, Java %s (%s), Node.js %s, %s; load average %.1f at the end "
            + "(the machine is shared with other work)",
        model, Runtime.getRuntime().availableProcessors(), memGiB, System.getProperty("os.name"), System.getProperty("os.version"),
        System.getProperty("java.version"), System.getProperty("java.vm.name"), version("node", "--version"),
        version(dev.checkmate.relay.cluster.NatsServer.binary(), "--version"), Probe.loadAverage());
  }

  private static String version(String... cmd) {
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      String v = new String(p.getInputStream().readAllBytes()).strip();
      p.waitFor(5, TimeUnit.SECONDS);
      return v;
    } catch (IOException | InterruptedException e) {
      return "?";
    }
  }
}
