package dev.checkmate.relay;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

/**
 * A default is written once ({@link ConfigDefaults}); the README's configuration table, the
 * command line ({@code --help}) and {@link RelayConfig#builder()} must all show that one value.
 */
class ConfigurationDocsTest {
  private static final Pattern FLAG = Pattern.compile("`(--[a-z0-9-]+)`");
  private static final Pattern ENV = Pattern.compile("`(RELAY_[A-Z0-9_]+)`");
  private static final Pattern TOKEN = Pattern.compile("`([^`]+)`");
  private static final Pattern ENV_DEFAULT = Pattern.compile("\\$\\{env:([A-Z0-9_]+)(?::-(.*))?}");

  @Test
  void everyFlagEnvironmentVariableAndDefaultInTheReadmeTableIsTheCommandLines() throws Exception {
    CommandLine.Model.CommandSpec spec = RelayMain.commandLine().getCommandSpec();
    List<String> rows = configurationRows();
    assertThat(rows).as("rows of the README's configuration table").hasSizeGreaterThan(20);
    int defaultsChecked = 0;
    for (String row : rows) {
      String[] cells = row.split("\\|", -1);
      List<String> flags = all(FLAG, cells[1]);
      List<String> envs = all(ENV, cells[2]);
      List<String> defaults = all(TOKEN, cells[3]);
      assertThat(flags).as("flags in row %s", row).isNotEmpty();
      for (int i = 0; i < flags.size(); i++) {
        String flag = flags.get(i);
        OptionSpec option = spec.findOption(flag);
        assertThat(option).as("README names %s, which the command line does not have", flag).isNotNull();
        Matcher declared = ENV_DEFAULT.matcher(declaredDefault(flag));
        assertThat(declared.matches()).as("%s reads a RELAY_* variable", flag).isTrue();
        if (envs.size() == flags.size()) {
          assertThat(envs.get(i)).as("README's environment variable for %s", flag).isEqualTo(declared.group(1));
        }
        if (defaults.size() >= flags.size()) {
          assertThat(declared.group(2)).as("%s has a default in the code", flag).isNotNull();
          assertSameValue(flag, defaults.get(i), declared.group(2));
          defaultsChecked++;
        }
      }
    }
    assertThat(defaultsChecked).as("defaults compared").isGreaterThan(25);
  }

  @Test
  void theBuilderAndTheCommandLineStartFromTheSameDefaults() throws Exception {
    CommandLine cli = RelayMain.commandLine();
    cli.parseArgs();
    RelayConfig fromCommandLine = ((RelayMain) cli.getCommand()).toConfig();
    RelayConfig fromBuilder = RelayConfig.builder().build();
    // The two ports that are on for a process and off for embedding code (ConfigDefaults says why),
    // a node id drawn at random when none is given, and objects that are not settings.
    Set<String> differOnPurpose = Set.of("webSocketPort", "metricsPort", "clock", "clusterHooks", "nodeId");
    int compared = 0;
    for (Field field : RelayConfig.class.getDeclaredFields()) {
      if (Modifier.isStatic(field.getModifiers()) || differOnPurpose.contains(field.getName())) {
        continue;
      }
      field.setAccessible(true);
      assertThat(field.get(fromBuilder)).as("default of %s", field.getName()).isEqualTo(field.get(fromCommandLine));
      compared++;
    }
    assertThat(compared).isGreaterThan(40);
    assertThat(fromCommandLine.webSocketPort()).isEqualTo(Integer.parseInt(ConfigDefaults.WS_PORT));
  }

  /** The {@code defaultValue} written on the option, before picocli interpolates it. */
  private static String declaredDefault(String flag) {
    for (Field field : RelayMain.class.getDeclaredFields()) {
      CommandLine.Option option = field.getAnnotation(CommandLine.Option.class);
      if (option != null && List.of(option.names()).contains(flag)) {
        return option.defaultValue();
      }
    }
    throw new AssertionError("no field for " + flag);
  }

  private static void assertSameValue(String flag, String documented, String code) {
    String doc = documented.strip();
    if (code.startsWith("PT")) {
      assertThat(Duration.parse(doc)).as("README default of %s", flag).isEqualTo(Duration.parse(code));
    } else if (code.matches("-?\\d+")) {
      assertThat(bytes(doc)).as("README default of %s", flag).isEqualTo(Long.parseLong(code));
    } else {
      assertThat(doc).as("README default of %s", flag).isEqualTo(code);
    }
  }

  /** "65536", "256 KiB", "8 MiB". */
  private static long bytes(String value) {
    Matcher m = Pattern.compile("(-?\\d+)\\s*(KiB|MiB)?").matcher(value);
    assertThat(m.matches()).as("a number: %s", value).isTrue();
    long n = Long.parseLong(m.group(1));
    return m.group(2) == null ? n : n * ("KiB".equals(m.group(2)) ? 1024 : 1024 * 1024);
  }

  private static List<String> all(Pattern pattern, String cell) {
    List<String> found = new ArrayList<>();
    Matcher m = pattern.matcher(cell);
    while (m.find()) {
      found.add(m.group(1));
    }
    return found;
  }

  private static List<String> configurationRows() throws Exception {
    Path dir = Path.of("").toAbsolutePath();
    while (!Files.exists(dir.resolve("README.md")) || !Files.readString(dir.resolve("README.md")).contains("## Configuration")) {
      dir = dir.getParent();
      assertThat(dir).as("the repository's README.md above the working directory").isNotNull();
    }
    List<String> rows = new ArrayList<>();
    boolean inSection = false;
    for (String line : Files.readAllLines(dir.resolve("README.md"))) {
      if (line.startsWith("## ")) {
        inSection = line.equals("## Configuration");
      } else if (inSection && line.startsWith("| `--")) {
        rows.add(line);
      }
    }
    return rows;
  }
}
