package dev.checkmate.relay;

import java.time.Duration;

/**
 * The one place where the relay's configuration defaults are written. The command line
 * ({@link RelayMain}'s options, and therefore {@code --help}) and {@link RelayConfig.Builder} both
 * read them from here, and {@code ConfigurationDocsTest} checks the README's configuration table
 * against the command line, so a default is changed in exactly one place.
 *
 * <p>Values are strings because Java annotations (picocli's {@code defaultValue}) take only constant
 * expressions; durations are ISO-8601. Two defaults differ on purpose between the command line and
 * embedding code: the HTTP and metrics ports are on for a process started from the command line and
 * off ({@code -1}) for a {@link RelayConfig#builder()} in tests and embedding code, so those never
 * collide on a fixed port.
 */
public final class ConfigDefaults {
  private ConfigDefaults() {}

  public static final String BIND = "127.0.0.1";
  public static final String GRPC_PORT = "9090";
  public static final String INSECURE_PLAINTEXT = "false";
  public static final String AUDIENCE = "checkmate-relay";
  public static final String SESSION_TTL = "PT10M";
  public static final String MAX_SESSION_TTL = "PT1H";
  public static final String JOIN_DEADLINE = "PT30S";
  public static final String IDLE_TIMEOUT = "PT5M";
  public static final String MAX_FRAME_BYTES = "65536";
  public static final String MAX_FRAMES_PER_SECOND = "2000";
  public static final String MAX_BYTES_PER_SECOND = "8388608";
  public static final String MAX_STREAMS_PER_ADDRESS = "100";
  public static final String MAX_CONNECTIONS_PER_ADDRESS = "200";
  /** 0 = the process's file descriptor limit minus a reserve. */
  public static final String MAX_CONNECTIONS = "0";
  public static final String HTTP_REQUEST_TIMEOUT = "PT10S";
  public static final String HTTP_IDLE_TIMEOUT = "PT60S";
  public static final String GRPC_HANDSHAKE_TIMEOUT = "PT10S";
  public static final String GRPC_MAX_CONNECTION_IDLE = "PT60S";
  public static final String MAX_CONCURRENT_CALLS_PER_CONNECTION = "1000";
  public static final String WRITE_STALL_TIMEOUT = "PT60S";
  public static final String MAX_KEEPALIVES_PER_SECOND = "2";
  public static final String RENDEZVOUS_FRAMES = "64";
  public static final String RENDEZVOUS_BYTES = "262144";
  public static final String FLOW_CONTROL_WINDOW = "262144";
  /** 0 = one per two cores, at least one. */
  public static final String EVENT_LOOP_THREADS = "0";
  public static final String MAX_JOIN_ATTEMPTS_PER_SECOND = "100";
  public static final String PRE_STOP_DELAY = "PT0S";
  public static final String DRAIN_SECONDS = "30";
  public static final String WATCHDOG_NOT_SERVING_AFTER = "PT2S";
  public static final String WATCHDOG_EXIT_AFTER = "PT10S";
  /** Command line only; {@link RelayConfig.Builder} keeps metrics off unless asked. */
  public static final String METRICS_PORT = "9464";
  public static final String TELEMETRY = "true";
  public static final String AUDIT_LOG = "sessions";
  public static final String LOG_FORMAT = "text";
  public static final String CLUSTER_LOOKUP_TIMEOUT = "PT0.5S";
  public static final String CLUSTER_CLAIM_SETTLE = "PT0.25S";
  public static final String CLUSTER_BINDS_PER_NODE = "1000";
  /** Command line only; {@link RelayConfig.Builder} keeps the HTTP port off unless asked. */
  public static final String WS_PORT = "8080";

  static int integer(String value) {
    return Integer.parseInt(value);
  }

  static Duration duration(String value) {
    return Duration.parse(value);
  }
}
