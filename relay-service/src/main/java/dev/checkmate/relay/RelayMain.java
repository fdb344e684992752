package dev.checkmate.relay;

import dev.checkmate.relay.lifecycle.FailFast;
import dev.checkmate.relay.lifecycle.Relauncher;
import dev.checkmate.relay.probe.ProbeCommand;
import dev.checkmate.relay.ticket.KeyRing;
import io.grpc.ManagedChannel;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.jsonwebtoken.security.Jwks;
import io.jsonwebtoken.security.OctetPrivateJwk;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The relay's command line. Every option also reads a {@code RELAY_*} environment variable; with
 * no options at all it runs the embedded single-node default: loopback, plaintext, in-memory
 * sessions and an ephemeral signing key.
 */
@Command(name = "relay", mixinStandardHelpOptions = true, version = "checkmate-relay 0.1.0",
    description = "CheckMate Relay: pairs a prover and a verifier by session id and forwards their end-to-end-encrypted frames.",
    subcommands = {RelayMain.Keygen.class, RelayMain.Health.class, ProbeCommand.class},
    sortOptions = false)
public final class RelayMain implements Callable<Integer> {
  @Option(names = "--bind", defaultValue = "${env:RELAY_BIND:-" + ConfigDefaults.BIND + "}", description = "Address to listen on (env RELAY_BIND). Default: ${DEFAULT-VALUE}")
  String bind;
  @Option(names = "--grpc-port", defaultValue = "${env:RELAY_GRPC_PORT:-" + ConfigDefaults.GRPC_PORT + "}", description = "gRPC port, 0 = any (env RELAY_GRPC_PORT). Default: ${DEFAULT-VALUE}")
  int grpcPort;
  @Option(names = "--tls-cert", defaultValue = "${env:RELAY_TLS_CERT}", description = "PEM certificate chain; enables TLS 1.3 (env RELAY_TLS_CERT)")
  Path tlsCert;
  @Option(names = "--tls-key", defaultValue = "${env:RELAY_TLS_KEY}", description = "PEM PKCS#8 private key (env RELAY_TLS_KEY)")
  Path tlsKey;
  @Option(names = "--tls-client-ca", defaultValue = "${env:RELAY_TLS_CLIENT_CA}", description = "PEM CA certificate(s): require client certificates chaining to it on the gRPC port (mutual TLS; not applied to the browser HTTP port) (env RELAY_TLS_CLIENT_CA)")
  Path tlsClientCa;
  @Option(names = "--issuer-identity", split = ",", defaultValue = "${env:RELAY_ISSUER_IDENTITIES}", description = "Client-certificate identity (subject CN or SAN) allowed to create sessions, repeatable; needs --tls-client-ca (env RELAY_ISSUER_IDENTITIES, comma-separated)")
  List<String> issuerIdentities;
  @Option(names = "--insecure-plaintext", defaultValue = "${env:RELAY_INSECURE_PLAINTEXT:-" + ConfigDefaults.INSECURE_PLAINTEXT + "}", description = "Allow plaintext on a non-loopback address, e.g. behind Envoy on a private network (env RELAY_INSECURE_PLAINTEXT)")
  boolean insecurePlaintext;
  @Option(names = "--signing-key", defaultValue = "${env:RELAY_SIGNING_KEY}", description = "Private Ed25519 JWK file: this node issues tickets (env RELAY_SIGNING_KEY). Without it and --verify-keys: ephemeral key")
  Path signingKey;
  @Option(names = "--verify-keys", defaultValue = "${env:RELAY_VERIFY_KEYS}", description = "Public JWK Set file of trusted ticket keys, two or more during rotation (env RELAY_VERIFY_KEYS)")
  Path verifyKeys;
  @Option(names = "--issuer-keys-file", defaultValue = "${env:RELAY_ISSUER_KEYS_FILE}", description = "File with one issuer API key per line; callers of CreateSession must present one (env RELAY_ISSUER_KEYS_FILE). Without it only loopback callers may create sessions")
  Path issuerKeysFile;
  @Option(names = "--audience", defaultValue = "${env:RELAY_AUDIENCE:-" + ConfigDefaults.AUDIENCE + "}", description = "Ticket audience (env RELAY_AUDIENCE). Default: ${DEFAULT-VALUE}")
  String audience;
  @Option(names = "--public-endpoint", split = ",", defaultValue = "${env:RELAY_PUBLIC_ENDPOINTS}", description = "host:port advertised in CreateSession, repeatable (env RELAY_PUBLIC_ENDPOINTS, comma-separated)")
  List<String> publicEndpoints;
  @Option(names = "--session-ttl", defaultValue = "${env:RELAY_SESSION_TTL:-" + ConfigDefaults.SESSION_TTL + "}", description = "Default session lifetime, ISO-8601 (env RELAY_SESSION_TTL). Default: ${DEFAULT-VALUE}")
  Duration sessionTtl;
  @Option(names = "--max-session-ttl", defaultValue = "${env:RELAY_MAX_SESSION_TTL:-" + ConfigDefaults.MAX_SESSION_TTL + "}", description = "Maximum session lifetime (env RELAY_MAX_SESSION_TTL). Default: ${DEFAULT-VALUE}")
  Duration maxSessionTtl;
  @Option(names = "--join-deadline", defaultValue = "${env:RELAY_JOIN_DEADLINE:-" + ConfigDefaults.JOIN_DEADLINE + "}", description = "How long a participant waits for its peer (env RELAY_JOIN_DEADLINE). Default: ${DEFAULT-VALUE}")
  Duration joinDeadline;
  @Option(names = "--idle-timeout", defaultValue = "${env:RELAY_IDLE_TIMEOUT:-" + ConfigDefaults.IDLE_TIMEOUT + "}", description = "End a paired session after no frames for this long (env RELAY_IDLE_TIMEOUT). Default: ${DEFAULT-VALUE}")
  Duration idleTimeout;
  @Option(names = "--max-frame-bytes", defaultValue = "${env:RELAY_MAX_FRAME_BYTES:-" + ConfigDefaults.MAX_FRAME_BYTES + "}", description = "Largest frame payload (env RELAY_MAX_FRAME_BYTES). Default: ${DEFAULT-VALUE}")
  int maxFrameBytes;
  @Option(names = "--max-frames-per-second", defaultValue = "${env:RELAY_MAX_FRAMES_PER_SECOND:-" + ConfigDefaults.MAX_FRAMES_PER_SECOND + "}", description = "Per participant (env RELAY_MAX_FRAMES_PER_SECOND). Default: ${DEFAULT-VALUE}")
  int maxFramesPerSecond;
  @Option(names = "--max-bytes-per-second", defaultValue = "${env:RELAY_MAX_BYTES_PER_SECOND:-" + ConfigDefaults.MAX_BYTES_PER_SECOND + "}", description = "Payload bytes per participant (env RELAY_MAX_BYTES_PER_SECOND). Default: ${DEFAULT-VALUE}")
  long maxBytesPerSecond;
  @Option(names = "--max-streams-per-address", defaultValue = "${env:RELAY_MAX_STREAMS_PER_ADDRESS:-" + ConfigDefaults.MAX_STREAMS_PER_ADDRESS + "}", description = "Open streams per client address (env RELAY_MAX_STREAMS_PER_ADDRESS). Default: ${DEFAULT-VALUE}")
  int maxStreamsPerAddress;
  @Option(names = "--max-connections-per-address", defaultValue = "${env:RELAY_MAX_CONNECTIONS_PER_ADDRESS:-" + ConfigDefaults.MAX_CONNECTIONS_PER_ADDRESS + "}", description = "Open TCP connections per client address (IPv6: per /64) on both ports together, refused at accept; 0 = unlimited; trusted proxies exempt (env RELAY_MAX_CONNECTIONS_PER_ADDRESS). Default: ${DEFAULT-VALUE}")
  int maxConnectionsPerAddress;
  @Option(names = "--max-connections", defaultValue = "${env:RELAY_MAX_CONNECTIONS:-" + ConfigDefaults.MAX_CONNECTIONS + "}", description = "Total client connections on both ports; 0 = the process's file descriptor limit minus a reserve, logged at startup (env RELAY_MAX_CONNECTIONS). Default: ${DEFAULT-VALUE}")
  int maxConnections;
  @Option(names = "--http-request-timeout", defaultValue = "${env:RELAY_HTTP_REQUEST_TIMEOUT:-" + ConfigDefaults.HTTP_REQUEST_TIMEOUT + "}", description = "HTTP port: a whole request must arrive within this from its first byte (or from accept) (env RELAY_HTTP_REQUEST_TIMEOUT). Default: ${DEFAULT-VALUE}")
  Duration httpRequestTimeout;
  @Option(names = "--http-idle-timeout", defaultValue = "${env:RELAY_HTTP_IDLE_TIMEOUT:-" + ConfigDefaults.HTTP_IDLE_TIMEOUT + "}", description = "HTTP port: close a kept-alive connection idle this long between requests (env RELAY_HTTP_IDLE_TIMEOUT). Default: ${DEFAULT-VALUE}")
  Duration httpIdleTimeout;
  @Option(names = "--grpc-handshake-timeout", defaultValue = "${env:RELAY_GRPC_HANDSHAKE_TIMEOUT:-" + ConfigDefaults.GRPC_HANDSHAKE_TIMEOUT + "}", description = "gRPC port: TLS and the HTTP/2 preface must complete within this after accept (env RELAY_GRPC_HANDSHAKE_TIMEOUT). Default: ${DEFAULT-VALUE}")
  Duration grpcHandshakeTimeout;
  @Option(names = "--grpc-max-connection-idle", defaultValue = "${env:RELAY_GRPC_MAX_CONNECTION_IDLE:-" + ConfigDefaults.GRPC_MAX_CONNECTION_IDLE + "}", description = "gRPC port: close (GOAWAY) a connection without open streams after this (env RELAY_GRPC_MAX_CONNECTION_IDLE). Default: ${DEFAULT-VALUE}")
  Duration grpcMaxConnectionIdle;
  @Option(names = "--max-concurrent-calls-per-connection", defaultValue = "${env:RELAY_MAX_CONCURRENT_CALLS_PER_CONNECTION:-" + ConfigDefaults.MAX_CONCURRENT_CALLS_PER_CONNECTION + "}", description = "gRPC port: concurrent streams per HTTP/2 connection (env RELAY_MAX_CONCURRENT_CALLS_PER_CONNECTION). Default: ${DEFAULT-VALUE}")
  int maxConcurrentCallsPerConnection;
  @Option(names = "--write-stall-timeout", defaultValue = "${env:RELAY_WRITE_STALL_TIMEOUT:-" + ConfigDefaults.WRITE_STALL_TIMEOUT + "}", description = "Close a participant that leaves what the relay sends it unread this long (env RELAY_WRITE_STALL_TIMEOUT). Default: ${DEFAULT-VALUE}")
  Duration writeStallTimeout;
  @Option(names = "--max-keepalives-per-second", defaultValue = "${env:RELAY_MAX_KEEPALIVES_PER_SECOND:-" + ConfigDefaults.MAX_KEEPALIVES_PER_SECOND + "}", description = "Heartbeats and WebSocket pings per stream and second, burst ten times that (env RELAY_MAX_KEEPALIVES_PER_SECOND). Default: ${DEFAULT-VALUE}")
  int maxKeepAlivesPerSecond;
  @Option(names = "--trusted-proxy", split = ",", defaultValue = "${env:RELAY_TRUSTED_PROXIES}", description = "IP or CIDR of a proxy (e.g. Envoy) whose x-forwarded-for is believed for per-client limits, repeatable (env RELAY_TRUSTED_PROXIES, comma-separated)")
  List<String> trustedProxies;
  @Option(names = "--rendezvous-frames", defaultValue = "${env:RELAY_RENDEZVOUS_FRAMES:-" + ConfigDefaults.RENDEZVOUS_FRAMES + "}", description = "Frames held per sender until the peer joins (env RELAY_RENDEZVOUS_FRAMES). Default: ${DEFAULT-VALUE}")
  int rendezvousFrames;
  @Option(names = "--rendezvous-bytes", defaultValue = "${env:RELAY_RENDEZVOUS_BYTES:-" + ConfigDefaults.RENDEZVOUS_BYTES + "}", description = "Bytes held per sender until the peer joins (env RELAY_RENDEZVOUS_BYTES). Default: ${DEFAULT-VALUE}")
  int rendezvousBytes;
  @Option(names = "--flow-control-window", defaultValue = "${env:RELAY_FLOW_CONTROL_WINDOW:-" + ConfigDefaults.FLOW_CONTROL_WINDOW + "}", description = "HTTP/2 flow-control window per stream, bytes (env RELAY_FLOW_CONTROL_WINDOW). Default: ${DEFAULT-VALUE}")
  int flowControlWindow;
  @Option(names = "--event-loop-threads", defaultValue = "${env:RELAY_EVENT_LOOP_THREADS:-" + ConfigDefaults.EVENT_LOOP_THREADS + "}", description = "gRPC network threads; 0 = one per two cores, at least one (env RELAY_EVENT_LOOP_THREADS). Default: ${DEFAULT-VALUE}")
  int eventLoopThreads;
  @Option(names = "--max-join-attempts-per-second", defaultValue = "${env:RELAY_MAX_JOIN_ATTEMPTS_PER_SECOND:-" + ConfigDefaults.MAX_JOIN_ATTEMPTS_PER_SECOND + "}", description = "Join attempts (ticket checks) per client address and second, burst twice that; 0 = unlimited (env RELAY_MAX_JOIN_ATTEMPTS_PER_SECOND). Default: ${DEFAULT-VALUE}")
  int maxJoinAttemptsPerSecond;
  @Option(names = "--pre-stop-delay", defaultValue = "${env:RELAY_PRE_STOP_DELAY:-" + ConfigDefaults.PRE_STOP_DELAY + "}", description = "On shutdown, report NOT_SERVING this long before refusing new streams (env RELAY_PRE_STOP_DELAY). Default: ${DEFAULT-VALUE}")
  Duration preStopDelay;
  @Option(names = "--drain-seconds", defaultValue = "${env:RELAY_DRAIN_SECONDS:-" + ConfigDefaults.DRAIN_SECONDS + "}", description = "On shutdown, let open sessions finish for up to this long (env RELAY_DRAIN_SECONDS). Default: ${DEFAULT-VALUE}")
  int drainSeconds;
  @Option(names = "--watchdog-not-serving-after", defaultValue = "${env:RELAY_WATCHDOG_NOT_SERVING_AFTER:-" + ConfigDefaults.WATCHDOG_NOT_SERVING_AFTER + "}", description = "Health turns NOT_SERVING when an event loop, the timer thread or the session sweep makes no progress this long (env RELAY_WATCHDOG_NOT_SERVING_AFTER). Default: ${DEFAULT-VALUE}")
  Duration watchdogNotServingAfter;
  @Option(names = "--watchdog-exit-after", defaultValue = "${env:RELAY_WATCHDOG_EXIT_AFTER:-" + ConfigDefaults.WATCHDOG_EXIT_AFTER + "}", description = "... and the process exits with code 70 after this long; PT0S = never (env RELAY_WATCHDOG_EXIT_AFTER). Default: ${DEFAULT-VALUE}")
  Duration watchdogExitAfter;
  @Option(names = "--metrics-port", defaultValue = "${env:RELAY_METRICS_PORT:-" + ConfigDefaults.METRICS_PORT + "}", description = "Prometheus /metrics port on the bind address; 0 = any, -1 = off (env RELAY_METRICS_PORT). Default: ${DEFAULT-VALUE}")
  int metricsPort;
  @Option(names = "--telemetry", negatable = true, defaultValue = "${env:RELAY_TELEMETRY:-" + ConfigDefaults.TELEMETRY + "}", fallbackValue = "true", description = "Metrics, traces and audit hooks; --no-telemetry turns OpenTelemetry off entirely, e.g. to measure its overhead (env RELAY_TELEMETRY). OTLP export follows the OTEL_* variables. Default: ${DEFAULT-VALUE}")
  boolean telemetry;
  @Option(names = "--audit-log", defaultValue = "${env:RELAY_AUDIT_LOG:-" + ConfigDefaults.AUDIT_LOG + "}", description = "Audit lines (logger relay.audit): sessions = one line per session end plus throttled refusals; verbose = also every stream, join and created session; off (env RELAY_AUDIT_LOG). Default: ${DEFAULT-VALUE}")
  dev.checkmate.relay.telemetry.AuditLevel auditLog;
  @Option(names = "--log-format", defaultValue = "${env:RELAY_LOG_FORMAT:-" + ConfigDefaults.LOG_FORMAT + "}", description = "Log lines on stderr: text or json (one JSON object per line with trace_id/span_id) (env RELAY_LOG_FORMAT). Default: ${DEFAULT-VALUE}")
  String logFormat;
  @Option(names = "--nats", split = ",", defaultValue = "${env:RELAY_NATS_URL}", description = "NATS servers of the cluster backplane, comma-separated nats:// or tls:// URLs (env RELAY_NATS_URL). Without it: single node")
  List<String> natsUrls;
  @Option(names = "--nats-creds", defaultValue = "${env:RELAY_NATS_CREDS}", description = "NATS credentials file (JWT + NKey seed) of this relay's NATS user (env RELAY_NATS_CREDS)")
  Path natsCreds;
  @Option(names = "--nats-user", defaultValue = "${env:RELAY_NATS_USER}", description = "NATS user name (env RELAY_NATS_USER); prefer --nats-creds in production")
  String natsUser;
  @Option(names = "--nats-password", defaultValue = "${env:RELAY_NATS_PASSWORD}", description = "NATS password (env RELAY_NATS_PASSWORD)")
  String natsPassword;
  @Option(names = "--nats-token", defaultValue = "${env:RELAY_NATS_TOKEN}", description = "NATS token (env RELAY_NATS_TOKEN)")
  String natsToken;
  @Option(names = "--nats-ca", defaultValue = "${env:RELAY_NATS_CA}", description = "PEM CA certificate to trust for tls:// NATS servers (env RELAY_NATS_CA). Default: the JVM trust store")
  Path natsCa;
  @Option(names = "--node-id", defaultValue = "${env:RELAY_NODE_ID}", description = "This node's name in the cluster, [A-Za-z0-9_-]; must equal its NATS user's name (env RELAY_NODE_ID). Default: random")
  String nodeId;
  @Option(names = "--cluster-lookup-timeout", defaultValue = "${env:RELAY_CLUSTER_LOOKUP_TIMEOUT:-" + ConfigDefaults.CLUSTER_LOOKUP_TIMEOUT + "}", description = "How long a node waits for a session's home to answer a lookup before claiming home itself; above the cross-region round trip (env RELAY_CLUSTER_LOOKUP_TIMEOUT). Default: ${DEFAULT-VALUE}")
  Duration clusterLookupTimeout;
  @Option(names = "--cluster-claim-settle", defaultValue = "${env:RELAY_CLUSTER_CLAIM_SETTLE:-" + ConfigDefaults.CLUSTER_CLAIM_SETTLE + "}", description = "Home claims are re-announced after this and final after twice this; above NATS interest propagation, e.g. PT1S across continents (env RELAY_CLUSTER_CLAIM_SETTLE). Default: ${DEFAULT-VALUE}")
  Duration clusterClaimSettle;
  @Option(names = "--cluster-binds-per-node", defaultValue = "${env:RELAY_CLUSTER_BINDS_PER_NODE:-" + ConfigDefaults.CLUSTER_BINDS_PER_NODE + "}", description = "Ticket checks per second a home runs for binds and terminates from one other node, before the signature check (env RELAY_CLUSTER_BINDS_PER_NODE). Default: ${DEFAULT-VALUE}")
  int clusterBindsPerNode;
  @Option(names = "--ws-port", defaultValue = "${env:RELAY_WS_PORT:-" + ConfigDefaults.WS_PORT + "}", description = "HTTP/1.1 port for browsers: WebSocket /ws, gRPC-Web, /healthz; 0 = any, -1 = off (env RELAY_WS_PORT). Default: ${DEFAULT-VALUE}")
  int wsPort;
  @Option(names = "--allowed-origin", split = ",", defaultValue = "${env:RELAY_ALLOWED_ORIGINS}", description = "Browser origin allowed on the HTTP port, e.g. https://app.example.com, or *; repeatable (env RELAY_ALLOWED_ORIGINS, comma-separated). Clients without Origin are always allowed; loopback origins too while bound to loopback")
  List<String> allowedOrigins;
  @Option(names = "--dev-static-dir", defaultValue = "${env:RELAY_DEV_STATIC_DIR}", description = "Development only: serve this folder on the HTTP port, e.g. client-web/dist (env RELAY_DEV_STATIC_DIR)")
  Path devStaticDir;

  public static void main(String[] args) {
    if (startsServer(args)) {
      // Returns in a JVM that exits on OutOfMemoryError (relaunching one if needed).
      Relauncher.ensureExitOnOutOfMemoryError(RelayMain.class, args);
    }
    System.exit(commandLine().execute(args));
  }

  /** True unless the arguments ask for a subcommand, help, the version, or do not parse. */
  static boolean startsServer(String[] args) {
    try {
      CommandLine.ParseResult parsed = commandLine().parseArgs(args);
      return !parsed.hasSubcommand() && !parsed.isUsageHelpRequested() && !parsed.isVersionHelpRequested();
    } catch (CommandLine.ParameterException e) {
      return false;
    }
  }

  static CommandLine commandLine() {
    return new CommandLine(new RelayMain()).setCaseInsensitiveEnumValuesAllowed(true);
  }

  /** Builds the one immutable configuration object from the parsed flags and environment. */
  RelayConfig toConfig() throws java.io.IOException {
    List<String> issuerKeys = new ArrayList<>();
    if (issuerKeysFile != null) {
      for (String line : Files.readAllLines(issuerKeysFile)) {
        String key = line.strip();
        if (!key.isEmpty() && !key.startsWith("#")) {
          issuerKeys.add(key);
        }
      }
    }
    return RelayConfig.builder()
        .bindAddress(bind)
        .grpcPort(grpcPort)
        .tlsCertificate(tlsCert)
        .tlsPrivateKey(tlsKey)
        .insecurePlaintext(insecurePlaintext)
        .signingKey(signingKey)
        .verifyKeys(verifyKeys)
        .issuerKeys(issuerKeys)
        .audience(audience)
        .publicEndpoints(publicEndpoints == null ? List.of() : publicEndpoints)
        .defaultSessionTtl(sessionTtl)
        .maxSessionTtl(maxSessionTtl)
        .joinDeadline(joinDeadline)
        .idleTimeout(idleTimeout)
        .maxFrameBytes(maxFrameBytes)
        .maxFramesPerSecond(maxFramesPerSecond)
        .maxBytesPerSecond(maxBytesPerSecond)
        .maxStreamsPerAddress(maxStreamsPerAddress)
        .maxConnectionsPerAddress(maxConnectionsPerAddress)
        .maxConnections(maxConnections)
        .httpRequestTimeout(httpRequestTimeout)
        .httpIdleTimeout(httpIdleTimeout)
        .grpcHandshakeTimeout(grpcHandshakeTimeout)
        .grpcMaxConnectionIdle(grpcMaxConnectionIdle)
        .maxConcurrentCallsPerConnection(maxConcurrentCallsPerConnection)
        .writeStallTimeout(writeStallTimeout)
        .maxKeepAlivesPerSecond(maxKeepAlivesPerSecond)
        .trustedProxies(trustedProxies == null ? List.of() : trustedProxies.stream().map(String::strip).filter(x -> !x.isEmpty()).toList())
        .tlsClientCa(tlsClientCa)
        .issuerIdentities(issuerIdentities == null ? List.of() : issuerIdentities.stream().map(String::strip).filter(x -> !x.isEmpty()).toList())
        .rendezvousMaxFrames(rendezvousFrames)
        .rendezvousMaxBytes(rendezvousBytes)
        .flowControlWindow(flowControlWindow)
        .eventLoopThreads(eventLoopThreads)
        .maxJoinAttemptsPerSecond(maxJoinAttemptsPerSecond)
        .watchdogNotServingAfter(watchdogNotServingAfter)
        .watchdogExitAfter(watchdogExitAfter)
        .preStopDelay(preStopDelay)
        .drainTimeout(Duration.ofSeconds(drainSeconds))
        .metricsPort(metricsPort)
        .telemetryEnabled(telemetry)
        .auditLog(auditLog)
        .natsUrls(natsUrls == null ? List.of() : natsUrls.stream().map(String::strip).filter(u -> !u.isEmpty()).toList())
        .natsCredentials(natsCreds)
        .natsUser(natsUser)
        .natsPassword(natsPassword)
        .natsToken(natsToken)
        .natsCaCertificate(natsCa)
        .nodeId(nodeId)
        .clusterLookupTimeout(clusterLookupTimeout)
        .clusterClaimSettle(clusterClaimSettle)
        .clusterBindsPerNodePerSecond(clusterBindsPerNode)
        .webSocketPort(wsPort)
        .allowedOrigins(allowedOrigins == null ? List.of() : allowedOrigins)
        .devStaticDir(devStaticDir)
        .build();
  }

  /**
   * grpc-java logs through java.util.logging, which would bypass logback (its levels, its format,
   * its JSON): route JUL into SLF4J. logback.xml keeps JUL's levels in step and silences grpc's
   * per-stream "Stream Error" warnings.
   */
  static void routeJavaUtilLogging() {
    org.slf4j.bridge.SLF4JBridgeHandler.removeHandlersForRootLogger();
    org.slf4j.bridge.SLF4JBridgeHandler.install();
  }

  @Override
  public Integer call() throws Exception {
    return run(relay -> { });
  }

  /** Runs the relay process until it stops; {@code started} sees the server once it serves (tests). */
  Integer run(java.util.function.Consumer<RelayServer> started) throws Exception {
    if (!"text".equals(logFormat) && !"json".equals(logFormat)) {
      System.err.println("relay: invalid configuration: --log-format must be text or json, got " + logFormat);
      return 2;
    }
    // Read by logback.xml; logback initializes on the first logger, after this point.
    System.setProperty("RELAY_LOG_FORMAT", logFormat);
    routeJavaUtilLogging();
    RelayConfig config;
    try {
      config = toConfig();
    } catch (IllegalArgumentException e) {
      System.err.println("relay: invalid configuration: " + e.getMessage());
      return 2;
    }
    // From here on an OOM or a stalled relay thread ends the process (lifecycle package).
    FailFast.install();
    RelayServer relay;
    try {
      relay = RelayServer.start(config);
    } catch (IllegalArgumentException e) {
      System.err.println("relay: " + e.getMessage());
      return 2;
    }
    Runtime.getRuntime().addShutdownHook(new Thread(relay::close, "relay-shutdown"));
    System.out.println("CheckMate Relay listening on " + config.bindAddress() + ":" + relay.grpcPort()
        + (config.tlsEnabled() ? " (TLS 1.3)" : " (plaintext)")
        + (relay.webSocketPort() >= 0 ? ", WebSocket/HTTP on port " + relay.webSocketPort() : "") + (relay.metricsPort() >= 0 ? ", metrics on port " + relay.metricsPort() : "") + "; Ctrl-C to stop");
    started.accept(relay);
    relay.awaitTermination();
    return 0;
  }

  /** Writes a new Ed25519 signing key and the public key set nodes verify with (rotation-friendly). */
  @Command(name = "keygen", mixinStandardHelpOptions = true,
      description = "Generate an Ed25519 ticket-signing key (private JWK) and add its public half to a JWK Set.")
  static final class Keygen implements Callable<Integer> {
    @Option(names = "--signing-key-out", required = true, description = "Where to write the private JWK (mode 0600)")
    Path signingOut;
    @Option(names = "--verify-keys", required = true, description = "Public JWK Set to create or extend (keeps existing keys, for rotation)")
    Path verifyKeys;

    @Override
    public Integer call() throws Exception {
      OctetPrivateJwk<PrivateKey, PublicKey> jwk = KeyRing.generate();
      writePrivate(signingOut, Jwks.UNSAFE_JSON(jwk));
      List<io.jsonwebtoken.security.Jwk<?>> keys = new ArrayList<>();
      if (Files.exists(verifyKeys)) {
        keys.addAll(Jwks.setParser().build().parse(Files.readString(verifyKeys)).getKeys());
      }
      keys.add(jwk.toPublicJwk());
      Files.writeString(verifyKeys, jwkSetJson(keys));
      System.out.println("wrote signing key " + jwk.getId() + " to " + signingOut + "; " + keys.size()
          + " verification key(s) in " + verifyKeys);
      return 0;
    }

    /**
     * Writes a private key readable by its owner only: on a POSIX file system the file is made 0600
     * before the key is written into it; elsewhere (no POSIX permissions) keygen says so.
     */
    static void writePrivate(Path file, String content) throws java.io.IOException {
      if (file.toAbsolutePath().getFileSystem().supportedFileAttributeViews().contains("posix")) {
        java.util.Set<java.nio.file.attribute.PosixFilePermission> ownerOnly = PosixFilePermissions.fromString("rw-------");
        if (Files.exists(file)) {
          Files.setPosixFilePermissions(file, ownerOnly);
        } else {
          Files.createFile(file, PosixFilePermissions.asFileAttribute(ownerOnly));
        }
      } else {
        System.err.println("keygen: this file system has no POSIX permissions; make " + file
            + " readable by the relay's user only");
      }
      Files.writeString(file, content);
    }

    private static String jwkSetJson(List<io.jsonwebtoken.security.Jwk<?>> keys) {
      StringBuilder sb = new StringBuilder("{\"keys\":[");
      for (int i = 0; i < keys.size(); i++) {
        if (i > 0) {
          sb.append(',');
        }
        sb.append(Jwks.json((io.jsonwebtoken.security.PublicJwk<?>) keys.get(i)));
      }
      return sb.append("]}").toString();
    }
  }

  /** Asks a relay's gRPC health service; exit 0 only when SERVING (container health checks). */
  @Command(name = "health", mixinStandardHelpOptions = true, description = "Exit 0 if the relay at --target reports SERVING.")
  static final class Health implements Callable<Integer> {
    @Option(names = "--target", defaultValue = "127.0.0.1:9090", description = "host:port. Default: ${DEFAULT-VALUE}")
    String target;
    @Option(names = "--tls", description = "Use TLS (trusting the system store)")
    boolean tls;
    @Option(names = "--service", defaultValue = "", description = "Health service name (empty = whole server)")
    String service;

    @Override
    public Integer call() throws Exception {
      NettyChannelBuilder builder = NettyChannelBuilder.forTarget(target);
      if (!tls) {
        builder.usePlaintext();
      }
      ManagedChannel channel = builder.build();
      try {
        HealthCheckResponse response = HealthGrpc.newBlockingStub(channel).withDeadlineAfter(3, TimeUnit.SECONDS)
            .check(HealthCheckRequest.newBuilder().setService(service).build());
        System.out.println(response.getStatus());
        return response.getStatus() == HealthCheckResponse.ServingStatus.SERVING ? 0 : 1;
      } catch (io.grpc.StatusRuntimeException e) {
        System.out.println("UNREACHABLE: " + e.getStatus().getCode() + " " + e.getStatus().getDescription());
        return 1;
      } finally {
        channel.shutdownNow();
      }
    }
  }
}
