package dev.checkmate.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The command line's decisions that need no running relay. */
class RelayMainTest {

  @Test
  void onlyTheServerIsRelaunchedNotTheSubcommandsHelpOrABadCommandLine() {
    assertThat(RelayMain.startsServer(new String[0])).isTrue();
    assertThat(RelayMain.startsServer(new String[] {"--grpc-port", "0", "--ws-port", "-1"})).isTrue();
    // The container's HEALTHCHECK runs "health" every 10 s: it must stay one small JVM.
    assertThat(RelayMain.startsServer(new String[] {"health", "--target", "127.0.0.1:9090"})).isFalse();
    assertThat(RelayMain.startsServer(new String[] {"keygen", "--signing-key-out", "a", "--verify-keys", "b"})).isFalse();
    assertThat(RelayMain.startsServer(new String[] {"--help"})).isFalse();
    assertThat(RelayMain.startsServer(new String[] {"--version"})).isFalse();
    assertThat(RelayMain.startsServer(new String[] {"--no-such-flag"})).isFalse();
  }

  @Test
  void watchdogThresholdsComeFromTheFlagsAndAreValidated() throws Exception {
    RelayConfig defaults = parse();
    assertThat(defaults.watchdogNotServingAfter()).isEqualTo(Duration.ofSeconds(2));
    assertThat(defaults.watchdogExitAfter()).isEqualTo(Duration.ofSeconds(10));
    RelayConfig never = parse("--watchdog-not-serving-after", "PT1S", "--watchdog-exit-after", "PT0S");
    assertThat(never.watchdogNotServingAfter()).isEqualTo(Duration.ofSeconds(1));
    assertThat(never.watchdogExitAfter()).isZero();
    assertThatThrownBy(() -> parse("--watchdog-not-serving-after", "PT5S", "--watchdog-exit-after", "PT2S"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("watchdog exit-after");
    assertThatThrownBy(() -> parse("--watchdog-not-serving-after", "PT0S"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not-serving-after must be positive");
  }

  @Test
  void keygenWritesTheSigningKeyReadableByItsOwnerOnlyAlsoOverAWorldReadableFile(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
      throws Exception {
    java.nio.file.Path fresh = dir.resolve("fresh.jwk");
    java.nio.file.Path existing = java.nio.file.Files.writeString(dir.resolve("existing.jwk"), "old");
    java.nio.file.Files.setPosixFilePermissions(existing, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
    for (java.nio.file.Path key : java.util.List.of(fresh, existing)) {
      int exit = RelayMain.commandLine().execute("keygen", "--signing-key-out", key.toString(),
          "--verify-keys", dir.resolve("verify.jwks").toString());
      assertThat(exit).isZero();
      assertThat(java.nio.file.attribute.PosixFilePermissions.toString(java.nio.file.Files.getPosixFilePermissions(key)))
          .as(key.getFileName().toString()).isEqualTo("rw-------");
      assertThat(java.nio.file.Files.readString(key)).contains("\"d\"");
    }
  }

  private static RelayConfig parse(String... args) throws Exception {
    picocli.CommandLine cli = RelayMain.commandLine();
    cli.parseArgs(args);
    return ((RelayMain) cli.getCommand()).toConfig();
  }
}
