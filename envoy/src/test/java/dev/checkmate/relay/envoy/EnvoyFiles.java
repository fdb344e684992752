package dev.checkmate.relay.envoy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** Locates the module directory (envoy/) holding the *.yaml files under test. */
final class EnvoyFiles {
  private EnvoyFiles() {}

  static Path moduleDir() {
    String configured = System.getProperty("envoy.config.dir");
    Path dir = configured != null ? Path.of(configured) : Path.of("").toAbsolutePath();
    if (!Files.isRegularFile(dir.resolve("envoy.yaml")) && Files.isRegularFile(dir.resolve("envoy/envoy.yaml"))) {
      dir = dir.resolve("envoy"); // run from the repository root
    }
    return dir;
  }

  static Path mainConfig() {
    return moduleDir().resolve("envoy.yaml");
  }

  /** Every envoy/*.yaml (and *.yml). */
  static List<Path> allConfigs() {
    try (Stream<Path> s = Files.list(moduleDir())) {
      return s.filter(p -> p.getFileName().toString().matches(".*\\.ya?ml"))
          .filter(Files::isRegularFile)
          .sorted()
          .toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
