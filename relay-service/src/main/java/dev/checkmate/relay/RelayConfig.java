package dev.checkmate.relay;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Everything a relay node is configured with, validated once at startup and immutable afterwards.
 * Built from CLI flags and {@code RELAY_*} environment variables by {@link RelayMain}, or directly
 * with {@link #builder()} in tests and embedding code.
 */
public final class RelayConfig {
  private final String bindAddress;
  private final int grpcPort;
  private final Path tlsCertificate;
  private final Path tlsPrivateKey;
  private final boolean insecurePlaintext;
  private final Path signingKey;
  private final Path verifyKeys;
  private final List<String> issuerKeys;
  private final String audience;
  private final List<String> publicEndpoints;
  private final Duration defaultSessionTtl;
  private final Duration maxSessionTtl;
  private final Duration joinDeadline;
  private final Duration idleTimeout;
  private final Duration helloTimeout;
  private final int rendezvousMaxFrames;
  private final int rendezvousMaxBytes;
  private final int maxFrameBytes;
  private final int maxFramesPerSecond;
  private final long maxBytesPerSecond;
  private final int maxStreamsPerAddress;
  private final int flowControlWindow;
  private final int eventLoopThreads;
  private final int maxJoinAttemptsPerSecond;
  private final Duration preStopDelay;
  private final Duration drainTimeout;
  private final Duration sweepInterval;
  private final Duration watchdogNotServingAfter;
  private final Duration watchdogExitAfter;
  private final Duration clockSkew;
  private final int webSocketPort;
  private final List<String> allowedOrigins;
  private final Path devStaticDir;
  private final Duration webSocketPingInterval;
  private final Duration sendWait;
  private final boolean telemetryEnabled;
  private final dev.checkmate.relay.telemetry.AuditLevel auditLog;
  private final int metricsPort;
  private final java.util.Map<String, String> telemetryProperties;
  private final List<String> natsUrls;
  private final Path natsCredentials;
  private final String natsUser;
  private final String natsPassword;
  private final String natsToken;
  private final Path natsCaCertificate;
  private final String nodeId;
  private final int clusterWindowFrames;
  private final int clusterWindowBytes;
  private final Duration clusterHeartbeat;
  private final Duration clusterDeadAfter;
  private final Duration clusterClaimSettle;
  private final Duration clusterLookupTimeout;
  private final int clusterBindsPerNodePerSecond;
  private final dev.checkmate.relay.cluster.ClusterHooks clusterHooks;
  private final java.time.Clock clock;
  private final Path tlsClientCa;
  private final List<String> issuerIdentities;
  private final List<String> trustedProxies;
  private final int maxConnectionsPerAddress;
  private final int maxConnections;
  private final Duration httpRequestTimeout;
  private final Duration httpIdleTimeout;
  private final Duration grpcHandshakeTimeout;
  private final Duration grpcMaxConnectionIdle;
  private final int maxConcurrentCallsPerConnection;
  private final Duration writeStallTimeout;
  private final int maxKeepAlivesPerSecond;

  private RelayConfig(Builder b) {
    this.bindAddress = b.bindAddress;
    this.grpcPort = b.grpcPort;
    this.tlsCertificate = b.tlsCertificate;
    this.tlsPrivateKey = b.tlsPrivateKey;
    this.insecurePlaintext = b.insecurePlaintext;
    this.signingKey = b.signingKey;
    this.verifyKeys = b.verifyKeys;
    this.issuerKeys = List.copyOf(b.issuerKeys);
    this.audience = b.audience;
    this.publicEndpoints = List.copyOf(b.publicEndpoints);
    this.defaultSessionTtl = b.defaultSessionTtl;
    this.maxSessionTtl = b.maxSessionTtl;
    this.joinDeadline = b.joinDeadline;
    this.idleTimeout = b.idleTimeout;
    this.helloTimeout = b.helloTimeout;
    this.rendezvousMaxFrames = b.rendezvousMaxFrames;
    this.rendezvousMaxBytes = b.rendezvousMaxBytes;
    this.maxFrameBytes = b.maxFrameBytes;
    this.maxFramesPerSecond = b.maxFramesPerSecond;
    this.maxBytesPerSecond = b.maxBytesPerSecond;
    this.maxStreamsPerAddress = b.maxStreamsPerAddress;
    this.flowControlWindow = b.flowControlWindow;
    this.eventLoopThreads = b.eventLoopThreads;
    this.maxJoinAttemptsPerSecond = b.maxJoinAttemptsPerSecond;
    this.preStopDelay = b.preStopDelay;
    this.drainTimeout = b.drainTimeout;
    this.sweepInterval = b.sweepInterval;
    this.watchdogNotServingAfter = b.watchdogNotServingAfter;
    this.watchdogExitAfter = b.watchdogExitAfter;
    this.clockSkew = b.clockSkew;
    this.webSocketPort = b.webSocketPort;
    this.allowedOrigins = List.copyOf(b.allowedOrigins);
    this.devStaticDir = b.devStaticDir;
    this.webSocketPingInterval = b.webSocketPingInterval;
    this.sendWait = b.sendWait;
    this.telemetryEnabled = b.telemetryEnabled;
    this.auditLog = b.auditLog;
    this.metricsPort = b.metricsPort;
    this.telemetryProperties = java.util.Map.copyOf(b.telemetryProperties);
    this.natsUrls = List.copyOf(b.natsUrls);
    this.natsCredentials = b.natsCredentials;
    this.natsUser = b.natsUser;
    this.natsPassword = b.natsPassword;
    this.natsToken = b.natsToken;
    this.natsCaCertificate = b.natsCaCertificate;
    this.nodeId = b.nodeId != null ? b.nodeId : randomNodeId();
    this.clusterWindowFrames = b.clusterWindowFrames;
    this.clusterWindowBytes = Math.max(b.clusterWindowBytes, 2 * b.maxFrameBytes);
    this.clusterHeartbeat = b.clusterHeartbeat;
    this.clusterDeadAfter = b.clusterDeadAfter;
    this.clusterClaimSettle = b.clusterClaimSettle;
    this.clusterLookupTimeout = b.clusterLookupTimeout;
    this.clusterBindsPerNodePerSecond = b.clusterBindsPerNodePerSecond;
    this.clusterHooks = b.clusterHooks;
    this.clock = b.clock;
    this.tlsClientCa = b.tlsClientCa;
    this.issuerIdentities = List.copyOf(b.issuerIdentities);
    this.trustedProxies = List.copyOf(b.trustedProxies);
    this.maxConnectionsPerAddress = b.maxConnectionsPerAddress;
    this.maxConnections = b.maxConnections;
    this.httpRequestTimeout = b.httpRequestTimeout;
    this.httpIdleTimeout = b.httpIdleTimeout;
    this.grpcHandshakeTimeout = b.grpcHandshakeTimeout;
    this.grpcMaxConnectionIdle = b.grpcMaxConnectionIdle;
    this.maxConcurrentCallsPerConnection = b.maxConcurrentCallsPerConnection;
    this.writeStallTimeout = b.writeStallTimeout;
    this.maxKeepAlivesPerSecond = b.maxKeepAlivesPerSecond;
  }

  private static String randomNodeId() {
    byte[] b = new byte[6];
    new java.security.SecureRandom().nextBytes(b);
    return "node-" + java.util.HexFormat.of().formatHex(b);
  }

  public static Builder builder() {
    return new Builder();
  }

  public Builder newBuilder() {
    return new Builder(this);
  }

  public String bindAddress() { return bindAddress; }
  public int grpcPort() { return grpcPort; }
  public Optional<Path> tlsCertificate() { return Optional.ofNullable(tlsCertificate); }
  public Optional<Path> tlsPrivateKey() { return Optional.ofNullable(tlsPrivateKey); }
  public boolean tlsEnabled() { return tlsCertificate != null; }
  public boolean insecurePlaintext() { return insecurePlaintext; }
  public Optional<Path> signingKey() { return Optional.ofNullable(signingKey); }
  public Optional<Path> verifyKeys() { return Optional.ofNullable(verifyKeys); }
  public List<String> issuerKeys() { return issuerKeys; }
  public String audience() { return audience; }
  public List<String> publicEndpoints() { return publicEndpoints; }
  public Duration defaultSessionTtl() { return defaultSessionTtl; }
  public Duration maxSessionTtl() { return maxSessionTtl; }
  public Duration joinDeadline() { return joinDeadline; }
  public Duration idleTimeout() { return idleTimeout; }
  public Duration helloTimeout() { return helloTimeout; }
  public int rendezvousMaxFrames() { return rendezvousMaxFrames; }
  public int rendezvousMaxBytes() { return rendezvousMaxBytes; }
  public int maxFrameBytes() { return maxFrameBytes; }
  public int maxFramesPerSecond() { return maxFramesPerSecond; }
  public long maxBytesPerSecond() { return maxBytesPerSecond; }
  public int maxStreamsPerAddress() { return maxStreamsPerAddress; }
  public int flowControlWindow() { return flowControlWindow; }
  /**
   * gRPC network threads. 0 (the default) = one per two cores, at least one: the two connections of
   * a session then usually share a thread, which saves a cross-thread hand-off per frame
   * (relay-bench W3: about twice the frames/s per CPU on 2 cores compared with grpc-java's default
   * of two threads per core).
   */
  public int eventLoopThreads() { return eventLoopThreads; }

  /** Join attempts (ticket checks) per client address and second, burst twice that; 0 = unlimited. */
  public int maxJoinAttemptsPerSecond() { return maxJoinAttemptsPerSecond; }

  /** The number of network threads actually used. */
  public int effectiveEventLoopThreads() {
    return eventLoopThreads > 0 ? eventLoopThreads : Math.max(1, Runtime.getRuntime().availableProcessors() / 2);
  }
  public Duration preStopDelay() { return preStopDelay; }
  public Duration drainTimeout() { return drainTimeout; }
  public Duration sweepInterval() { return sweepInterval; }
  /** An event loop, the timer thread or the sweep that makes no progress this long turns health NOT_SERVING. */
  public Duration watchdogNotServingAfter() { return watchdogNotServingAfter; }
  /** ... and this long ends the relay process (exit code 70); zero = never (health only). */
  public Duration watchdogExitAfter() { return watchdogExitAfter; }
  public Duration clockSkew() { return clockSkew; }
  /** HTTP/1.1 port for WebSocket, dev gRPC-Web and /healthz; 0 = any free port, -1 = disabled. */
  public int webSocketPort() { return webSocketPort; }
  public boolean webSocketEnabled() { return webSocketPort >= 0; }
  /** Browser origins allowed on the HTTP port ("*" = any); loopback origins too while bound to loopback. */
  public List<String> allowedOrigins() { return allowedOrigins; }
  /** Development only: a folder served as static files on the HTTP port (the browser demo). */
  public Optional<Path> devStaticDir() { return Optional.ofNullable(devStaticDir); }
  /** How often the relay pings an idle WebSocket; one without any traffic for two intervals is closed. */
  public Duration webSocketPingInterval() { return webSocketPingInterval; }
  /** How long a gRPC-Web Send waits for a stalled peer before answering with a partial ack. */
  public Duration sendWait() { return sendWait; }
  /** Metrics, traces and audit hooks (telemetry package); false = no OpenTelemetry at all (benchmarks compare). */
  public boolean telemetryEnabled() { return telemetryEnabled; }
  /** How much the audit log says (part of telemetry: nothing without it). */
  public dev.checkmate.relay.telemetry.AuditLevel auditLog() { return auditLog; }
  /** Prometheus scrape port on the bind address; 0 = any free port, -1 = disabled. */
  public int metricsPort() { return metricsPort; }
  /** OpenTelemetry SDK properties ({@code otel.*}) that override environment and system properties (tests, embedding). */
  public java.util.Map<String, String> telemetryProperties() { return telemetryProperties; }
  /** NATS servers of the cluster backplane (nats:// or tls://); empty = single node, no cluster. */
  public List<String> natsUrls() { return natsUrls; }
  public boolean clusterEnabled() { return !natsUrls.isEmpty(); }
  /** NATS .creds file (JWT + NKey seed) for this relay's NATS user. */
  public Optional<Path> natsCredentials() { return Optional.ofNullable(natsCredentials); }
  public Optional<String> natsUser() { return Optional.ofNullable(natsUser); }
  public Optional<String> natsPassword() { return Optional.ofNullable(natsPassword); }
  public Optional<String> natsToken() { return Optional.ofNullable(natsToken); }
  /** PEM CA certificate(s) to trust for tls:// NATS servers (default: the JVM's trust store). */
  public Optional<Path> natsCaCertificate() { return Optional.ofNullable(natsCaCertificate); }
  /** This node's name in the cluster (claims, logs); random unless configured. */
  public String nodeId() { return nodeId; }
  /** Cross-node flow control: frames one direction of a cross-node binding may have in flight. */
  public int clusterWindowFrames() { return clusterWindowFrames; }
  /** Cross-node flow control: payload bytes in flight per direction (at least 2 × max frame). */
  public int clusterWindowBytes() { return clusterWindowBytes; }
  /** How often a quiet cross-node binding is pinged. */
  public Duration clusterHeartbeat() { return clusterHeartbeat; }
  /** A cross-node binding that heard nothing for this long is dead (its node or link is lost). */
  public Duration clusterDeadAfter() { return clusterDeadAfter; }
  /** How long after claiming home a node re-announces its claim (covers NATS interest propagation). */
  public Duration clusterClaimSettle() { return clusterClaimSettle; }
  /**
   * How long a node waits for the session's home to answer a lookup before it claims home itself.
   * Only matters when something subscribes to the home subjects without answering (NATS then
   * cannot say "no responders") or when the home is slow; a wrong claim is resolved by the claim
   * rule (docs/cluster.md).
   */
  public Duration clusterLookupTimeout() { return clusterLookupTimeout; }
  /** Ticket checks the home runs per second for binds and terminates from one other node (burst: one second's worth). */
  public int clusterBindsPerNodePerSecond() { return clusterBindsPerNodePerSecond; }
  /** Test and benchmark hooks of cluster mode; {@link dev.checkmate.relay.cluster.ClusterHooks#NONE} in production. */
  public dev.checkmate.relay.cluster.ClusterHooks clusterHooks() { return clusterHooks; }
  /** The wall clock: ticket expiry, session lifetime. Tests inject skewed clocks. */
  public java.time.Clock clock() { return clock; }

  /** PEM CA certificate(s): with it the gRPC port requires client certificates that chain to it (mutual TLS). */
  public Optional<Path> tlsClientCa() { return Optional.ofNullable(tlsClientCa); }
  /** Client-certificate identities (subject CN or SAN) allowed to call CreateSession, besides issuer API keys. */
  public List<String> issuerIdentities() { return issuerIdentities; }
  /** IPs / CIDR blocks of proxies whose x-forwarded-for is believed (see security.TrustedProxies). */
  public List<String> trustedProxies() { return trustedProxies; }
  /** Open TCP connections per client address on both ports, refused at accept; 0 = unlimited. Trusted proxies are exempt. */
  public int maxConnectionsPerAddress() { return maxConnectionsPerAddress; }
  /** Total client connections on both ports; 0 = derived from the descriptor limit (security.DescriptorBudget). */
  public int maxConnections() { return maxConnections; }
  /** HTTP port: a whole request (line, headers, body) must arrive within this, from its first byte or from accept. */
  public Duration httpRequestTimeout() { return httpRequestTimeout; }
  /** HTTP port: a kept-alive connection waiting for its next request is closed after this. */
  public Duration httpIdleTimeout() { return httpIdleTimeout; }
  /** gRPC port: TLS and the HTTP/2 preface must complete within this after accept. */
  public Duration grpcHandshakeTimeout() { return grpcHandshakeTimeout; }
  /** gRPC port: a connection with no open stream is closed (GOAWAY) after this. */
  public Duration grpcMaxConnectionIdle() { return grpcMaxConnectionIdle; }
  /** gRPC port: concurrent streams per HTTP/2 connection (SETTINGS_MAX_CONCURRENT_STREAMS). */
  public int maxConcurrentCallsPerConnection() { return maxConcurrentCallsPerConnection; }
  /** A participant that leaves what the relay wrote to it unread for this long is closed (NOT_READING). */
  public Duration writeStallTimeout() { return writeStallTimeout; }
  /** Heartbeats and WebSocket pings per stream and second (burst ten times that). */
  public int maxKeepAlivesPerSecond() { return maxKeepAlivesPerSecond; }
  /**
   * Bytes the relay may write to a stream that is not reading before closing it (NOT_READING):
   * one frame plus 64 KiB for control messages. With the transport's 32 KiB ready threshold this
   * bounds the relay's outbound memory per participant stream.
   */
  public long maxUnreadBytes() { return maxFrameBytes + 64L * 1024; }

  /** True when the bind address only accepts connections from this machine. */
  public boolean loopbackOnly() {
    try {
      return InetAddress.getByName(bindAddress).isLoopbackAddress();
    } catch (UnknownHostException e) {
      return false;
    }
  }

  /** What the cluster link needs, and nothing else. */
  public dev.checkmate.relay.cluster.ClusterSettings clusterSettings() {
    return new dev.checkmate.relay.cluster.ClusterSettings(nodeId, natsUrls, natsCredentials(), natsUser(), natsPassword(),
        natsToken(), natsCaCertificate(), clusterHeartbeat, clusterDeadAfter, clusterClaimSettle, clusterLookupTimeout,
        clusterWindowFrames, clusterWindowBytes, joinDeadline, writeStallTimeout, maxFrameBytes, clusterHooks);
  }

  /** What the HTTP/1.1 port needs, and nothing else. */
  public dev.checkmate.relay.transport.http.HttpPortSettings httpPortSettings() {
    return new dev.checkmate.relay.transport.http.HttpPortSettings(bindAddress, webSocketPort, tlsCertificate(),
        tlsPrivateKey(), allowedOrigins, loopbackOnly(), devStaticDir(), effectiveEventLoopThreads(), httpRequestTimeout,
        httpIdleTimeout, trustedProxies, webSocketPingInterval, maxFrameBytes);
  }

  /** What telemetry needs, and nothing else. */
  public dev.checkmate.relay.telemetry.TelemetrySettings telemetrySettings() {
    return new dev.checkmate.relay.telemetry.TelemetrySettings(auditLog, bindAddress, metricsPort, telemetryProperties);
  }

  /** What the session hub needs, and nothing else. */
  public dev.checkmate.relay.session.SessionSettings sessionSettings() {
    return new dev.checkmate.relay.session.SessionSettings(joinDeadline, idleTimeout, writeStallTimeout, clockSkew,
        maxFrameBytes, maxFramesPerSecond, maxBytesPerSecond, rendezvousMaxFrames, rendezvousMaxBytes);
  }

  public static final class Builder {
    private String bindAddress = ConfigDefaults.BIND;
    private int grpcPort = ConfigDefaults.integer(ConfigDefaults.GRPC_PORT);
    private Path tlsCertificate;
    private Path tlsPrivateKey;
    private boolean insecurePlaintext = Boolean.parseBoolean(ConfigDefaults.INSECURE_PLAINTEXT);
    private Path signingKey;
    private Path verifyKeys;
    private List<String> issuerKeys = List.of();
    private String audience = ConfigDefaults.AUDIENCE;
    private List<String> publicEndpoints = List.of();
    private Duration defaultSessionTtl = ConfigDefaults.duration(ConfigDefaults.SESSION_TTL);
    private Duration maxSessionTtl = ConfigDefaults.duration(ConfigDefaults.MAX_SESSION_TTL);
    private Duration joinDeadline = ConfigDefaults.duration(ConfigDefaults.JOIN_DEADLINE);
    private Duration idleTimeout = ConfigDefaults.duration(ConfigDefaults.IDLE_TIMEOUT);
    private Duration helloTimeout = Duration.ofSeconds(10);
    private int rendezvousMaxFrames = ConfigDefaults.integer(ConfigDefaults.RENDEZVOUS_FRAMES);
    private int rendezvousMaxBytes = ConfigDefaults.integer(ConfigDefaults.RENDEZVOUS_BYTES);
    private int maxFrameBytes = ConfigDefaults.integer(ConfigDefaults.MAX_FRAME_BYTES);
    private int maxFramesPerSecond = ConfigDefaults.integer(ConfigDefaults.MAX_FRAMES_PER_SECOND);
    private long maxBytesPerSecond = Long.parseLong(ConfigDefaults.MAX_BYTES_PER_SECOND);
    private int maxStreamsPerAddress = ConfigDefaults.integer(ConfigDefaults.MAX_STREAMS_PER_ADDRESS);
    private int flowControlWindow = ConfigDefaults.integer(ConfigDefaults.FLOW_CONTROL_WINDOW);
    private int eventLoopThreads = ConfigDefaults.integer(ConfigDefaults.EVENT_LOOP_THREADS);
    private int maxJoinAttemptsPerSecond = ConfigDefaults.integer(ConfigDefaults.MAX_JOIN_ATTEMPTS_PER_SECOND);
    private Duration preStopDelay = ConfigDefaults.duration(ConfigDefaults.PRE_STOP_DELAY);
    private Duration drainTimeout = Duration.ofSeconds(ConfigDefaults.integer(ConfigDefaults.DRAIN_SECONDS));
    private Duration sweepInterval = Duration.ofMillis(250);
    private Duration watchdogNotServingAfter = ConfigDefaults.duration(ConfigDefaults.WATCHDOG_NOT_SERVING_AFTER);
    private Duration watchdogExitAfter = ConfigDefaults.duration(ConfigDefaults.WATCHDOG_EXIT_AFTER);
    private Duration clockSkew = Duration.ofSeconds(30);
    // Off unless asked for, so embedding code and tests never collide on a fixed port; the CLI and
    // the container default to ConfigDefaults.WS_PORT.
    private int webSocketPort = -1;
    private List<String> allowedOrigins = List.of();
    private Path devStaticDir;
    private Duration webSocketPingInterval = Duration.ofSeconds(30);
    private Duration sendWait = Duration.ofSeconds(10);
    private boolean telemetryEnabled = Boolean.parseBoolean(ConfigDefaults.TELEMETRY);
    private dev.checkmate.relay.telemetry.AuditLevel auditLog = dev.checkmate.relay.telemetry.AuditLevel.valueOf(ConfigDefaults.AUDIT_LOG.toUpperCase(java.util.Locale.ROOT));
    // Off unless asked for (like the WebSocket port); the CLI and the container default to
    // ConfigDefaults.METRICS_PORT.
    private int metricsPort = -1;
    private java.util.Map<String, String> telemetryProperties = java.util.Map.of();
    private List<String> natsUrls = List.of();
    private Path natsCredentials;
    private String natsUser;
    private String natsPassword;
    private String natsToken;
    private Path natsCaCertificate;
    private String nodeId;
    private int clusterWindowFrames = 64;
    private int clusterWindowBytes = 256 * 1024;
    private Duration clusterHeartbeat = Duration.ofSeconds(1);
    private Duration clusterDeadAfter = Duration.ofSeconds(3);
    private Duration clusterClaimSettle = ConfigDefaults.duration(ConfigDefaults.CLUSTER_CLAIM_SETTLE);
    private Duration clusterLookupTimeout = ConfigDefaults.duration(ConfigDefaults.CLUSTER_LOOKUP_TIMEOUT);
    private int clusterBindsPerNodePerSecond = ConfigDefaults.integer(ConfigDefaults.CLUSTER_BINDS_PER_NODE);
    private dev.checkmate.relay.cluster.ClusterHooks clusterHooks = dev.checkmate.relay.cluster.ClusterHooks.NONE;
    private java.time.Clock clock = java.time.Clock.systemUTC();
    private Path tlsClientCa;
    private List<String> issuerIdentities = List.of();
    private List<String> trustedProxies = List.of();
    private int maxConnectionsPerAddress = ConfigDefaults.integer(ConfigDefaults.MAX_CONNECTIONS_PER_ADDRESS);
    private int maxConnections = ConfigDefaults.integer(ConfigDefaults.MAX_CONNECTIONS);
    private Duration httpRequestTimeout = ConfigDefaults.duration(ConfigDefaults.HTTP_REQUEST_TIMEOUT);
    private Duration httpIdleTimeout = ConfigDefaults.duration(ConfigDefaults.HTTP_IDLE_TIMEOUT);
    private Duration grpcHandshakeTimeout = ConfigDefaults.duration(ConfigDefaults.GRPC_HANDSHAKE_TIMEOUT);
    private Duration grpcMaxConnectionIdle = ConfigDefaults.duration(ConfigDefaults.GRPC_MAX_CONNECTION_IDLE);
    private int maxConcurrentCallsPerConnection = ConfigDefaults.integer(ConfigDefaults.MAX_CONCURRENT_CALLS_PER_CONNECTION);
    private Duration writeStallTimeout = ConfigDefaults.duration(ConfigDefaults.WRITE_STALL_TIMEOUT);
    private int maxKeepAlivesPerSecond = ConfigDefaults.integer(ConfigDefaults.MAX_KEEPALIVES_PER_SECOND);

    private Builder() {}

    private Builder(RelayConfig c) {
      bindAddress = c.bindAddress;
      grpcPort = c.grpcPort;
      tlsCertificate = c.tlsCertificate;
      tlsPrivateKey = c.tlsPrivateKey;
      insecurePlaintext = c.insecurePlaintext;
      signingKey = c.signingKey;
      verifyKeys = c.verifyKeys;
      issuerKeys = c.issuerKeys;
      audience = c.audience;
      publicEndpoints = c.publicEndpoints;
      defaultSessionTtl = c.defaultSessionTtl;
      maxSessionTtl = c.maxSessionTtl;
      joinDeadline = c.joinDeadline;
      idleTimeout = c.idleTimeout;
      helloTimeout = c.helloTimeout;
      rendezvousMaxFrames = c.rendezvousMaxFrames;
      rendezvousMaxBytes = c.rendezvousMaxBytes;
      maxFrameBytes = c.maxFrameBytes;
      maxFramesPerSecond = c.maxFramesPerSecond;
      maxBytesPerSecond = c.maxBytesPerSecond;
      maxStreamsPerAddress = c.maxStreamsPerAddress;
      flowControlWindow = c.flowControlWindow;
      eventLoopThreads = c.eventLoopThreads;
      maxJoinAttemptsPerSecond = c.maxJoinAttemptsPerSecond;
      preStopDelay = c.preStopDelay;
      drainTimeout = c.drainTimeout;
      sweepInterval = c.sweepInterval;
      watchdogNotServingAfter = c.watchdogNotServingAfter;
      watchdogExitAfter = c.watchdogExitAfter;
      clockSkew = c.clockSkew;
      webSocketPort = c.webSocketPort;
      allowedOrigins = c.allowedOrigins;
      devStaticDir = c.devStaticDir;
      webSocketPingInterval = c.webSocketPingInterval;
      sendWait = c.sendWait;
      telemetryEnabled = c.telemetryEnabled;
      auditLog = c.auditLog;
      metricsPort = c.metricsPort;
      telemetryProperties = c.telemetryProperties;
      natsUrls = c.natsUrls;
      natsCredentials = c.natsCredentials;
      natsUser = c.natsUser;
      natsPassword = c.natsPassword;
      natsToken = c.natsToken;
      natsCaCertificate = c.natsCaCertificate;
      nodeId = c.nodeId;
      clusterWindowFrames = c.clusterWindowFrames;
      clusterWindowBytes = c.clusterWindowBytes;
      clusterHeartbeat = c.clusterHeartbeat;
      clusterDeadAfter = c.clusterDeadAfter;
      clusterClaimSettle = c.clusterClaimSettle;
      clusterLookupTimeout = c.clusterLookupTimeout;
      clusterBindsPerNodePerSecond = c.clusterBindsPerNodePerSecond;
      clusterHooks = c.clusterHooks;
      clock = c.clock;
      tlsClientCa = c.tlsClientCa;
      issuerIdentities = c.issuerIdentities;
      trustedProxies = c.trustedProxies;
      maxConnectionsPerAddress = c.maxConnectionsPerAddress;
      maxConnections = c.maxConnections;
      httpRequestTimeout = c.httpRequestTimeout;
      httpIdleTimeout = c.httpIdleTimeout;
      grpcHandshakeTimeout = c.grpcHandshakeTimeout;
      grpcMaxConnectionIdle = c.grpcMaxConnectionIdle;
      maxConcurrentCallsPerConnection = c.maxConcurrentCallsPerConnection;
      writeStallTimeout = c.writeStallTimeout;
      maxKeepAlivesPerSecond = c.maxKeepAlivesPerSecond;
    }

    public Builder bindAddress(String v) { bindAddress = Objects.requireNonNull(v); return this; }
    public Builder grpcPort(int v) { grpcPort = v; return this; }
    public Builder tlsCertificate(Path v) { tlsCertificate = v; return this; }
    public Builder tlsPrivateKey(Path v) { tlsPrivateKey = v; return this; }
    public Builder insecurePlaintext(boolean v) { insecurePlaintext = v; return this; }
    public Builder signingKey(Path v) { signingKey = v; return this; }
    public Builder verifyKeys(Path v) { verifyKeys = v; return this; }
    public Builder issuerKeys(List<String> v) { issuerKeys = List.copyOf(v); return this; }
    public Builder audience(String v) { audience = Objects.requireNonNull(v); return this; }
    public Builder publicEndpoints(List<String> v) { publicEndpoints = List.copyOf(v); return this; }
    public Builder defaultSessionTtl(Duration v) { defaultSessionTtl = v; return this; }
    public Builder maxSessionTtl(Duration v) { maxSessionTtl = v; return this; }
    public Builder joinDeadline(Duration v) { joinDeadline = v; return this; }
    public Builder idleTimeout(Duration v) { idleTimeout = v; return this; }
    public Builder helloTimeout(Duration v) { helloTimeout = v; return this; }
    public Builder rendezvousMaxFrames(int v) { rendezvousMaxFrames = v; return this; }
    public Builder rendezvousMaxBytes(int v) { rendezvousMaxBytes = v; return this; }
    public Builder maxFrameBytes(int v) { maxFrameBytes = v; return this; }
    public Builder maxFramesPerSecond(int v) { maxFramesPerSecond = v; return this; }
    public Builder maxBytesPerSecond(long v) { maxBytesPerSecond = v; return this; }
    public Builder maxStreamsPerAddress(int v) { maxStreamsPerAddress = v; return this; }
    public Builder flowControlWindow(int v) { flowControlWindow = v; return this; }
    public Builder eventLoopThreads(int v) { eventLoopThreads = v; return this; }
    public Builder maxJoinAttemptsPerSecond(int v) { maxJoinAttemptsPerSecond = v; return this; }
    public Builder preStopDelay(Duration v) { preStopDelay = v; return this; }
    public Builder drainTimeout(Duration v) { drainTimeout = v; return this; }
    public Builder sweepInterval(Duration v) { sweepInterval = v; return this; }
    public Builder watchdogNotServingAfter(Duration v) { watchdogNotServingAfter = v; return this; }
    public Builder watchdogExitAfter(Duration v) { watchdogExitAfter = v; return this; }
    public Builder clockSkew(Duration v) { clockSkew = v; return this; }
    public Builder webSocketPort(int v) { webSocketPort = v; return this; }
    public Builder allowedOrigins(List<String> v) { allowedOrigins = v; return this; }
    public Builder devStaticDir(Path v) { devStaticDir = v; return this; }
    public Builder webSocketPingInterval(Duration v) { webSocketPingInterval = v; return this; }
    public Builder sendWait(Duration v) { sendWait = v; return this; }
    public Builder telemetryEnabled(boolean v) { telemetryEnabled = v; return this; }
    public Builder auditLog(dev.checkmate.relay.telemetry.AuditLevel v) { auditLog = java.util.Objects.requireNonNull(v, "auditLog"); return this; }
    public Builder metricsPort(int v) { metricsPort = v; return this; }
    public Builder telemetryProperties(java.util.Map<String, String> v) { telemetryProperties = java.util.Map.copyOf(v); return this; }
    public Builder natsUrls(List<String> v) { natsUrls = List.copyOf(v); return this; }
    public Builder natsCredentials(Path v) { natsCredentials = v; return this; }
    public Builder natsUser(String v) { natsUser = v; return this; }
    public Builder natsPassword(String v) { natsPassword = v; return this; }
    public Builder natsToken(String v) { natsToken = v; return this; }
    public Builder natsCaCertificate(Path v) { natsCaCertificate = v; return this; }
    public Builder nodeId(String v) { nodeId = v; return this; }
    public Builder clusterWindowFrames(int v) { clusterWindowFrames = v; return this; }
    public Builder clusterWindowBytes(int v) { clusterWindowBytes = v; return this; }
    public Builder clusterHeartbeat(Duration v) { clusterHeartbeat = v; return this; }
    public Builder clusterDeadAfter(Duration v) { clusterDeadAfter = v; return this; }
    public Builder clusterClaimSettle(Duration v) { clusterClaimSettle = v; return this; }
    public Builder clusterLookupTimeout(Duration v) { clusterLookupTimeout = v; return this; }
    public Builder clusterBindsPerNodePerSecond(int v) { clusterBindsPerNodePerSecond = v; return this; }
    public Builder clusterHooks(dev.checkmate.relay.cluster.ClusterHooks v) { clusterHooks = Objects.requireNonNull(v); return this; }
    public Builder clock(java.time.Clock v) { clock = Objects.requireNonNull(v); return this; }
    public Builder tlsClientCa(Path v) { tlsClientCa = v; return this; }
    public Builder issuerIdentities(List<String> v) { issuerIdentities = List.copyOf(v); return this; }
    public Builder trustedProxies(List<String> v) { trustedProxies = List.copyOf(v); return this; }
    public Builder maxConnectionsPerAddress(int v) { maxConnectionsPerAddress = v; return this; }
    public Builder maxConnections(int v) { maxConnections = v; return this; }
    public Builder httpRequestTimeout(Duration v) { httpRequestTimeout = Objects.requireNonNull(v); return this; }
    public Builder httpIdleTimeout(Duration v) { httpIdleTimeout = Objects.requireNonNull(v); return this; }
    public Builder grpcHandshakeTimeout(Duration v) { grpcHandshakeTimeout = Objects.requireNonNull(v); return this; }
    public Builder grpcMaxConnectionIdle(Duration v) { grpcMaxConnectionIdle = Objects.requireNonNull(v); return this; }
    public Builder maxConcurrentCallsPerConnection(int v) { maxConcurrentCallsPerConnection = v; return this; }
    public Builder writeStallTimeout(Duration v) { writeStallTimeout = Objects.requireNonNull(v); return this; }
    public Builder maxKeepAlivesPerSecond(int v) { maxKeepAlivesPerSecond = v; return this; }

    /** Validates and freezes the configuration; a bad value fails here, at startup, with a clear message. */
    public RelayConfig build() {
      require(grpcPort >= 0 && grpcPort <= 65535, "grpc port must be 0..65535, got " + grpcPort);
      require((tlsCertificate == null) == (tlsPrivateKey == null),
          "TLS needs both a certificate (--tls-cert) and a private key (--tls-key)");
      require(positive(defaultSessionTtl) && positive(maxSessionTtl) && defaultSessionTtl.compareTo(maxSessionTtl) <= 0,
          "session ttl: default must be positive and at most the maximum");
      require(positive(joinDeadline), "join deadline must be positive");
      require(positive(idleTimeout), "idle timeout must be positive");
      require(positive(helloTimeout), "hello timeout must be positive");
      require(rendezvousMaxFrames >= 1, "rendezvous buffer must hold at least one frame");
      require(rendezvousMaxBytes >= maxFrameBytes, "rendezvous buffer bytes must be at least the max frame size");
      require(maxFrameBytes >= 1 && maxFrameBytes <= 16 * 1024 * 1024, "max frame size must be 1 B..16 MiB");
      require(maxFramesPerSecond >= 1, "frames per second limit must be at least 1");
      require(maxBytesPerSecond >= maxFrameBytes, "bytes per second limit must be at least the max frame size");
      require(maxStreamsPerAddress >= 1, "streams per address limit must be at least 1");
      require(flowControlWindow >= 16 * 1024, "flow-control window must be at least 16 KiB");
      require(eventLoopThreads >= 0 && eventLoopThreads <= 1024, "event loop threads must be 0 (default) .. 1024");
      require(maxJoinAttemptsPerSecond >= 0, "join attempts per second must be 0 (unlimited) or more");
      require(!drainTimeout.isNegative() && !preStopDelay.isNegative(), "drain durations must not be negative");
      require(positive(sweepInterval), "sweep interval must be positive");
      require(positive(watchdogNotServingAfter), "watchdog not-serving-after must be positive");
      require(watchdogExitAfter != null && (watchdogExitAfter.isZero() || watchdogExitAfter.compareTo(watchdogNotServingAfter) >= 0),
          "watchdog exit-after must be zero (never) or at least the not-serving-after threshold");
      require(issuerKeys.stream().allMatch(k -> k.length() >= 16), "issuer API keys must be at least 16 characters");
      require(webSocketPort >= -1 && webSocketPort <= 65535, "websocket port must be 0..65535 or -1 (disabled), got " + webSocketPort);
      require(allowedOrigins.stream().allMatch(o -> o.equals("*") || o.matches("https?://[^/\\s]+")),
          "allowed origins must look like https://app.example.com (scheme://host[:port], no path) or be *");
      require(positive(webSocketPingInterval), "websocket ping interval must be positive");
      require(positive(sendWait), "send wait must be positive");
      require(metricsPort >= -1 && metricsPort <= 65535, "metrics port must be 0..65535 or -1 (disabled), got " + metricsPort);
      require(natsUrls.stream().allMatch(u -> u.matches("(nats|tls)://[^\\s,]+")),
          "NATS URLs must look like nats://host:4222 or tls://host:4222, got " + natsUrls);
      require(natsUser == null || natsPassword != null, "--nats-user needs --nats-password");
      require(nodeId == null || nodeId.matches("[A-Za-z0-9_-]{1,64}"), "node id must be 1-64 of [A-Za-z0-9_-]");
      require(clusterWindowFrames >= 1, "cluster window must allow at least one frame");
      require(positive(clusterHeartbeat) && positive(clusterDeadAfter) && clusterDeadAfter.compareTo(clusterHeartbeat) > 0,
          "cluster dead-after must be longer than the cluster heartbeat");
      require(positive(clusterClaimSettle), "cluster claim settle must be positive");
      require(positive(clusterLookupTimeout), "cluster lookup timeout must be positive");
      require(clusterBindsPerNodePerSecond >= 1, "cluster binds per node and second must be at least 1");
      require(tlsClientCa == null || tlsCertificate != null, "--tls-client-ca needs TLS (--tls-cert/--tls-key)");
      require(issuerIdentities.isEmpty() || tlsClientCa != null,
          "--issuer-identity needs mutual TLS (--tls-client-ca): identities come from client certificates");
      require(issuerIdentities.stream().allMatch(i -> !i.isBlank() && i.length() <= 256), "issuer identities must be 1-256 characters");
      require(maxConnectionsPerAddress >= 0, "connections per address limit must be 0 (unlimited) or more");
      require(maxConnections >= 0, "total connection limit must be 0 (derived from the descriptor limit) or more");
      require(positive(httpRequestTimeout) && positive(httpIdleTimeout), "HTTP request and idle timeouts must be positive");
      require(positive(grpcHandshakeTimeout) && positive(grpcMaxConnectionIdle), "gRPC handshake and idle timeouts must be positive");
      require(maxConcurrentCallsPerConnection >= 1, "concurrent calls per connection must be at least 1");
      require(positive(writeStallTimeout), "write-stall timeout must be positive");
      require(maxKeepAlivesPerSecond >= 1, "keep-alives per second must be at least 1");
      dev.checkmate.relay.security.TrustedProxies.parse(trustedProxies); // throws on a bad entry
      return new RelayConfig(this);
    }

    private static boolean positive(Duration d) {
      return d != null && !d.isNegative() && !d.isZero();
    }

    private static void require(boolean ok, String message) {
      if (!ok) {
        throw new IllegalArgumentException(message);
      }
    }
  }
}
