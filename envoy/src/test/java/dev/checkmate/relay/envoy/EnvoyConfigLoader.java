package dev.checkmate.relay.envoy;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.google.protobuf.Descriptors;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import java.io.File;
import java.nio.file.Path;
import java.util.Enumeration;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;

/**
 * Strict loading of an Envoy bootstrap YAML into {@link Bootstrap}.
 *
 * <ul>
 *   <li>YAML duplicate keys are rejected (Jackson {@code STRICT_DUPLICATE_DETECTION});
 *   <li>the JSON is merged with {@link JsonFormat#parser()} and a type registry that covers every
 *       message of the Envoy API jar, so every {@code typed_config} {@code @type} must resolve;
 *   <li>unknown fields are never ignored, enum names must be spelled exactly (UPPERCASE).
 * </ul>
 */
final class EnvoyConfigLoader {

  /** A config that does not parse; the message says where and why. */
  static final class ConfigException extends Exception {
    ConfigException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  private static final ObjectMapper YAML =
      new ObjectMapper(
          YAMLFactory.builder().enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build());
  private static final ObjectMapper JSON = new ObjectMapper();

  private static volatile JsonFormat.TypeRegistry registry;

  private EnvoyConfigLoader() {}

  /** A type registry with every message type of the io.envoyproxy.controlplane:api jar. */
  static JsonFormat.TypeRegistry registry() {
    JsonFormat.TypeRegistry r = registry;
    if (r == null) {
      synchronized (EnvoyConfigLoader.class) {
        r = registry;
        if (r == null) {
          registry = r = buildRegistry();
        }
      }
    }
    return r;
  }

  private static JsonFormat.TypeRegistry buildRegistry() {
    JsonFormat.TypeRegistry.Builder builder = JsonFormat.TypeRegistry.newBuilder();
    int files = 0;
    try {
      File jar = new File(Bootstrap.class.getProtectionDomain().getCodeSource().getLocation().toURI());
      try (JarFile jf = new JarFile(jar)) {
        for (Enumeration<JarEntry> e = jf.entries(); e.hasMoreElements(); ) {
          String name = e.nextElement().getName();
          if (!name.endsWith("Proto.class") || name.contains("$")) {
            continue;
          }
          String className = name.substring(0, name.length() - ".class".length()).replace('/', '.');
          Class<?> outer = Class.forName(className, false, EnvoyConfigLoader.class.getClassLoader());
          Object fd;
          try {
            fd = outer.getMethod("getDescriptor").invoke(null);
          } catch (NoSuchMethodException notAFileClass) {
            continue;
          }
          if (fd instanceof Descriptors.FileDescriptor f && !f.getMessageTypes().isEmpty()) {
            builder.add(f.getMessageTypes());
            files++;
          }
        }
      }
    } catch (Exception e) {
      throw new IllegalStateException("cannot index the Envoy API jar", e);
    }
    if (files < 100) {
      throw new IllegalStateException("Envoy API jar indexed only " + files + " proto files");
    }
    return builder.build();
  }

  /**
   * Unquoted scalars whose type depends on the YAML version: {@code on/off/yes/no/y/n} (booleans in
   * YAML 1.1, strings in 1.2) and numbers with a leading zero (octal in 1.1). Jackson reads
   * {@code on} as {@code true} and {@code 0755} as 493; Envoy's yaml-cpp has its own rules. Such a
   * value could mean one thing to this check and another to Envoy, so it must be quoted.
   */
  private static final java.util.regex.Pattern AMBIGUOUS_SCALAR = java.util.regex.Pattern.compile(
      "(?:^|[:\\[{,]|^\\s*-)\\s+((?i:yes|no|on|off|y|n)|0[0-9]+)\\s*(?:[,}\\]]|$)");

  private static void lintScalars(String yaml, String source) throws ConfigException {
    String[] lines = yaml.split("\n", -1);
    for (int i = 0; i < lines.length; i++) {
      String line = lines[i];
      if (line.stripLeading().startsWith("#")) {
        continue;
      }
      int hash = line.indexOf(" #");
      if (hash >= 0) {
        line = line.substring(0, hash);
      }
      java.util.regex.Matcher m = AMBIGUOUS_SCALAR.matcher(line);
      if (m.find()) {
        throw new ConfigException(source + ":" + (i + 1) + ": ambiguous unquoted YAML scalar '" + m.group(1)
            + "' (YAML 1.1 reads it as a boolean or octal number, YAML 1.2 does not); quote it, or write "
            + "true/false or a plain number", null);
      }
    }
  }

  /** Reads YAML strictly into a tree (duplicate keys and ambiguous scalars fail). */
  static JsonNode readYaml(String yaml, String source) throws ConfigException {
    lintScalars(yaml, source);
    try {
      JsonNode tree = YAML.readTree(yaml);
      if (tree == null || !tree.isObject()) {
        throw new ConfigException(source + ": the YAML document is not a mapping", null);
      }
      return tree;
    } catch (JacksonException e) {
      String at = e.getLocation() == null ? ""
          : " (line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr() + ")";
      throw new ConfigException(source + ": invalid YAML: " + e.getOriginalMessage() + at, e);
    }
  }

  /** Merges a YAML/JSON tree into a Bootstrap, strictly. */
  static Bootstrap toBootstrap(JsonNode tree, String source) throws ConfigException {
    String json;
    try {
      json = JSON.writeValueAsString(tree);
    } catch (JacksonException e) {
      throw new ConfigException(source + ": cannot serialise the YAML tree: " + e.getMessage(), e);
    }
    Bootstrap.Builder builder = Bootstrap.newBuilder();
    try {
      JsonFormat.parser().usingTypeRegistry(registry()).merge(json, builder); // never ignoringUnknownFields()
    } catch (InvalidProtocolBufferException e) {
      throw new ConfigException(source + ": not a valid Envoy v3 Bootstrap: " + e.getMessage(), e);
    }
    return builder.build();
  }

  static Bootstrap load(String yaml, String source) throws ConfigException {
    return toBootstrap(readYaml(yaml, source), source);
  }

  static Bootstrap load(Path file) throws ConfigException {
    try {
      return load(java.nio.file.Files.readString(file), file.toString());
    } catch (java.io.IOException e) {
      throw new ConfigException(file + ": cannot read: " + e.getMessage(), e);
    }
  }
}
