package dev.checkmate.relay.examples.schnorr;

import dev.checkmate.relay.client.RelayClient;
import java.nio.file.Path;
import java.time.Duration;
import picocli.CommandLine.Option;

/** Connection options shared by both commands (a picocli mixin). */
final class RelayOptions {
  @Option(
      names = "--relay",
      paramLabel = "HOST:PORT",
      defaultValue = "127.0.0.1:9090",
      description = "Relay address (default: ${DEFAULT-VALUE}).")
  String relay;

  @Option(
      names = "--tls",
      description = "Use TLS with the system trust store (default: plaintext, for a relay on loopback).")
  boolean tls;

  @Option(
      names = "--ca-cert",
      paramLabel = "PEM",
      description = "Use TLS and trust only the certificates in this PEM file.")
  Path caCert;

  @Option(
      names = "--timeout",
      paramLabel = "SECONDS",
      defaultValue = "120",
      description = "How long to wait for the peer and for each message (default: ${DEFAULT-VALUE}).")
  long timeoutSeconds;

  Duration timeout() {
    return Duration.ofSeconds(timeoutSeconds);
  }

  RelayClient.Builder clientBuilder() {
    RelayClient.Builder b = RelayClient.builder().target(relay);
    if (caCert != null) {
      b.trustedCertificates(caCert);
    } else if (!tls) {
      b.usePlaintext();
    }
    return b;
  }

  /** The same connection options, as command-line arguments, for the printed prover command. */
  String asArguments() {
    StringBuilder sb = new StringBuilder("--relay ").append(relay);
    if (caCert != null) {
      sb.append(" --ca-cert ").append(caCert);
    } else if (tls) {
      sb.append(" --tls");
    }
    return sb.toString();
  }
}
