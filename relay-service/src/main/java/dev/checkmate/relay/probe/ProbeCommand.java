package dev.checkmate.relay.probe;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code relay.jar probe}: checks a live deployment from outside and prints a checklist. */
@Command(name = "probe", mixinStandardHelpOptions = true, sortOptions = false,
    description = {
      "Check a live relay deployment from outside, the way clients meet it: TLS 1.3 and the certificate (and pins), ALPN h2,"
          + " gRPC health, /healthz, server reflection, CreateSession, and one full session per pairing of transports"
          + " (prover on one, verifier on another: gRPC -> WebSocket, WebSocket -> gRPC-Web, gRPC-Web -> gRPC) with round-trip"
          + " times and whether both participants were served by the same relay node.",
      "Each line says what was found and, if anything is wrong, what to fix.",
      "Exit status: 0 nothing failed (warnings allowed), 1 a check failed, 2 usage error.",
      "Examples:",
      "  RELAY_ISSUER_KEY=... java -jar relay.jar probe --target https://edge.example.com",
      "  java -jar relay.jar probe --target http://127.0.0.1:9090 --web http://127.0.0.1:8080"})
public final class ProbeCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--target", required = true, paramLabel = "URL",
      description = "The endpoint gRPC clients use: https://host[:port] (TLS, port 443 by default) or http://host:port (plaintext, e.g. a relay on loopback)")
  String target;
  @Option(names = "--web", paramLabel = "URL",
      description = "The endpoint browsers use for WebSocket (/ws) and gRPC-Web, if not --target (a relay's own --ws-port, e.g. http://127.0.0.1:8080)")
  String web;
  @Option(names = "--issuer-key", defaultValue = "${env:RELAY_ISSUER_KEY}", paramLabel = "KEY",
      description = "Issuer API key for CreateSession (env RELAY_ISSUER_KEY, which keeps it out of the process list); not needed for a relay on loopback")
  String issuerKey;
  @Option(names = "--tickets", paramLabel = "PROVER,VERIFIER",
      description = "Instead of CreateSession: the prover and verifier tickets of one session, once per pairing (repeatable, used in order)")
  List<String> tickets = new ArrayList<>();
  @Option(names = "--ca-cert", paramLabel = "PEM", description = "Trust only the CA certificate(s) in this PEM file (default: the JVM's trust store)")
  Path caCert;
  @Option(names = "--pin", paramLabel = "sha256/BASE64", description = "Expected SPKI pin of a certificate in the chain, as the SDKs take it (repeatable: any one must match)")
  List<String> pins = new ArrayList<>();
  @Option(names = "--expect-reflection", paramLabel = "on|off|any",
      description = "Whether server reflection should answer (default: off for https targets, any for http)")
  String expectReflection;
  @Option(names = "--transports", split = ",", defaultValue = "grpc,websocket,grpc-web", paramLabel = "LIST",
      description = "Transports to pair, in order: each is the prover once and the verifier once. Default: ${DEFAULT-VALUE}")
  List<String> transports;
  @Option(names = "--origin", paramLabel = "URL", description = "Origin header for the browser transports, e.g. https://app.example.com (default: none, like a native client)")
  String origin;
  @Option(names = "--round-trips", defaultValue = "10", description = "Round trips per session. Default: ${DEFAULT-VALUE}")
  int roundTrips;
  @Option(names = "--payload-bytes", defaultValue = "256", description = "Payload of each frame. Default: ${DEFAULT-VALUE}")
  int payloadBytes;
  @Option(names = "--timeout", defaultValue = "PT10S", description = "Longest wait for any one step (ISO-8601). Default: ${DEFAULT-VALUE}")
  Duration timeout;
  @Option(names = "--json", description = "One JSON object per check (and a summary) instead of text")
  boolean json;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    Probe.Settings settings;
    try {
      settings = settings();
    } catch (IllegalArgumentException e) {
      err.println("probe: " + e.getMessage());
      err.flush();
      return 2;
    }
    Report report = new Report(out, json);
    if (!json) {
      out.println("CheckMate relay probe: gRPC " + settings.target() + (settings.web().equals(settings.target()) ? "" : ", browsers " + settings.web())
          + "; transports " + settings.transports());
      out.println();
    }
    new Probe(settings, report).run();
    report.summary();
    return report.exitCode();
  }

  Probe.Settings settings() throws Exception {
    Target t = Target.parse(target);
    Target w = web == null ? t : Target.parse(web);
    List<Transport> ts = new ArrayList<>();
    for (String name : transports) {
      Transport tr = Transport.parse(name);
      if (ts.contains(tr)) {
        throw new IllegalArgumentException("--transports lists " + tr + " twice");
      }
      ts.add(tr);
    }
    if (ts.isEmpty()) {
      throw new IllegalArgumentException("--transports is empty");
    }
    List<String[]> pairs = new ArrayList<>();
    for (String pair : tickets) {
      String[] p = pair.split(",");
      if (p.length != 2 || p[0].isBlank() || p[1].isBlank()) {
        throw new IllegalArgumentException("--tickets takes PROVER_TICKET,VERIFIER_TICKET");
      }
      String sid = Probe.sessionIdOf(p[0].strip());
      if (!sid.equals(Probe.sessionIdOf(p[1].strip()))) {
        throw new IllegalArgumentException("the two tickets of a --tickets pair are for different sessions");
      }
      pairs.add(new String[] {p[0].strip(), p[1].strip()});
    }
    for (String pin : pins) {
      if (!pin.matches("sha256/[A-Za-z0-9+/]{43}=")) {
        throw new IllegalArgumentException("a pin looks like sha256/<44 base64 characters of the SPKI SHA-256>, got " + pin);
      }
    }
    Probe.Reflection reflection = expectReflection == null
        ? (t.tls() ? Probe.Reflection.OFF : Probe.Reflection.ANY)
        : switch (expectReflection.toLowerCase(Locale.ROOT)) {
          case "on" -> Probe.Reflection.ON;
          case "off" -> Probe.Reflection.OFF;
          case "any" -> Probe.Reflection.ANY;
          default -> throw new IllegalArgumentException("--expect-reflection takes on, off or any");
        };
    if (roundTrips < 1 || roundTrips > 10_000 || payloadBytes < 1 || payloadBytes > 65_536) {
      throw new IllegalArgumentException("--round-trips 1..10000 and --payload-bytes 1..65536");
    }
    if (timeout.isNegative() || timeout.isZero()) {
      throw new IllegalArgumentException("--timeout must be positive");
    }
    String key = issuerKey == null || issuerKey.isBlank() ? null : issuerKey.strip();
    return new Probe.Settings(t, w, Trust.of(caCert), List.copyOf(pins), key, pairs, List.copyOf(ts), reflection, origin,
        timeout, roundTrips, payloadBytes);
  }
}
