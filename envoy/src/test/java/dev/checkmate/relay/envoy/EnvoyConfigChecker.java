package dev.checkmate.relay.envoy;

import com.fasterxml.jackson.databind.JsonNode;
import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The one checker that runs on the real envoy.yaml (must report nothing) and on the broken copies
 * built by the tests (must report the breakage). Stages, each prefixed in the report:
 *
 * <ol>
 *   <li>{@code [parse]} strict YAML + strict proto JSON parse (typos, unknown @type, enum spelling);
 *   <li>{@code [pgv]} the protoc-gen-validate rules Envoy enforces at load time;
 *   <li>{@code [deprecated]} deprecated fields / enum values in use;
 *   <li>{@code [relay]} relay-specific semantics ({@link RelayEdgeRules}).
 * </ol>
 */
final class EnvoyConfigChecker {

  record Report(String source, Bootstrap bootstrap, List<String> problems) {
    boolean ok() {
      return problems.isEmpty();
    }

    @Override
    public String toString() {
      return source + (ok() ? ": OK" : ": " + problems.size() + " problem(s):" + RelayEdgeRules.describe(problems));
    }
  }

  private EnvoyConfigChecker() {}

  static Report check(Path file) {
    try {
      return check(Files.readString(file), file.toString());
    } catch (IOException e) {
      return new Report(file.toString(), null, List.of("[parse] cannot read " + file + ": " + e.getMessage()));
    }
  }

  static Report check(String yaml, String source) {
    try {
      return check(EnvoyConfigLoader.readYaml(yaml, source), source);
    } catch (EnvoyConfigLoader.ConfigException e) {
      return new Report(source, null, List.of("[parse] " + e.getMessage()));
    }
  }

  static Report check(JsonNode tree, String source) {
    Bootstrap bootstrap;
    try {
      bootstrap = EnvoyConfigLoader.toBootstrap(tree, source);
    } catch (EnvoyConfigLoader.ConfigException e) {
      return new Report(source, null, List.of("[parse] " + e.getMessage()));
    }
    return check(bootstrap, source);
  }

  static Report check(Bootstrap bootstrap, String source) {
    List<String> problems = new ArrayList<>();
    ProtoRuleChecker rules = new ProtoRuleChecker(EnvoyConfigLoader.registry());
    rules.validate(bootstrap).forEach(p -> problems.add("[pgv] " + p));
    rules.deprecations(bootstrap).forEach(p -> problems.add("[deprecated] " + p));
    RelayEdgeRules.check(bootstrap).forEach(p -> problems.add("[relay] " + p));
    return new Report(source, bootstrap, List.copyOf(problems));
  }
}
