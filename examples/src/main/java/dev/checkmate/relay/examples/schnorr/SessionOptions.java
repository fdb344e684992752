package dev.checkmate.relay.examples.schnorr;

import java.time.Duration;
import picocli.CommandLine.Option;

/** Options of the commands that create the session (a picocli mixin). */
final class SessionOptions {
  @Option(
      names = "--issuer-key",
      paramLabel = "KEY",
      defaultValue = "${env:RELAY_ISSUER_KEY}",
      description = "Issuer API key for CreateSession (default: $RELAY_ISSUER_KEY; not needed on loopback).")
  String issuerKey;

  @Option(
      names = "--ttl",
      paramLabel = "SECONDS",
      defaultValue = "600",
      description = "Session lifetime (default: ${DEFAULT-VALUE}).")
  long ttlSeconds;

  Duration ttl() {
    return Duration.ofSeconds(ttlSeconds);
  }
}
