package dev.checkmate.relay;

import dev.checkmate.relay.cluster.ClusterLink;
import dev.checkmate.relay.error.RelayError;
import dev.checkmate.relay.lifecycle.FailFast;
import dev.checkmate.relay.lifecycle.TimerThread;
import dev.checkmate.relay.lifecycle.Watchdog;
import dev.checkmate.relay.proto.v1.EndReason;
import dev.checkmate.relay.proto.v1.RelayServiceGrpc;
import dev.checkmate.relay.session.SessionHub;
import dev.checkmate.relay.telemetry.RelayTelemetry;
import dev.checkmate.relay.ticket.IssuerPolicy;
import dev.checkmate.relay.ticket.KeyRing;
import dev.checkmate.relay.ticket.TicketIssuer;
import dev.checkmate.relay.ticket.TicketVerifier;
import dev.checkmate.relay.security.AddressLimits;
import dev.checkmate.relay.security.ConnectionLimiter;
import dev.checkmate.relay.security.DescriptorBudget;
import dev.checkmate.relay.admission.Admission;
import dev.checkmate.relay.transport.ParticipantStream;
import dev.checkmate.relay.transport.grpc.RelayGrpcService;
import dev.checkmate.relay.transport.http.grpcweb.SplitStreams;
import dev.checkmate.relay.transport.http.HttpFrontend;
import io.grpc.Server;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.util.List;
import java.util.function.Supplier;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running relay node: the gRPC server, the session hub and its sweeper. Start one with
 * {@link #start(RelayConfig)}; {@link #close()} drains it gracefully.
 */
public final class RelayServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(RelayServer.class);
  public static final String SERVICE_NAME = RelayServiceGrpc.SERVICE_NAME;

  private final RelayConfig config;
  private final SessionHub hub;
  private final KeyRing keys;
  private final TicketVerifier verifier;
  private final Admission admission;
  private final HealthStatusManager health = new HealthStatusManager();
  private final ScheduledExecutorService scheduler;
  private final Server server;
  private final AddressLimits limiter;
  private final dev.checkmate.relay.transport.grpc.NetworkThreads networkThreads;
  private final ConnectionLimiter connections;
  private final DescriptorBudget descriptors;
  private final HttpFrontend http; // null when the HTTP port is disabled
  private volatile ClusterLink cluster; // null without NATS (single node)
  /** SERVING vs draining or stalled, for the HTTP port's /healthz; the gRPC health service mirrors it. */
  private volatile boolean serving;
  private boolean started; // guarded by health
  private boolean stalled; // guarded by health
  private final Watchdog watchdog;
  private final Watchdog.Heartbeat sweepHeartbeat;
  /** What the watchdog probes, by name (package-private: process tests inject stalls into them). */
  final java.util.Map<String, java.util.concurrent.Executor> watched = new java.util.LinkedHashMap<>();
  private boolean closed;
  private final RelayTelemetry telemetry; // null when telemetry is off (RelayConfig.telemetryEnabled)

  private RelayServer(RelayConfig config) throws IOException {
    this.config = config;
    Clock clock = config.clock();
    this.keys = KeyRing.load(config.signingKey(), config.verifyKeys());
    this.hub = new SessionHub(config.sessionSettings(), clock);
    this.limiter = new AddressLimits(config.maxStreamsPerAddress(), config.maxJoinAttemptsPerSecond());
    this.scheduler = TimerThread.start("relay-timers");

    TicketIssuer issuer = keys.signingKey().map(k -> new TicketIssuer(k, config.audience(), clock)).orElse(null);
    this.verifier = new TicketVerifier(keys, config.audience(), config.clockSkew(), clock);

    NettyServerBuilder builder = NettyServerBuilder
        .forAddress(new InetSocketAddress(config.bindAddress(), config.grpcPort()))
        // Relay work per message is tiny and never blocks: run it on the event loops.
        .directExecutor()
        .flowControlWindow(config.flowControlWindow())
        // Well above the frame limit so the hub reports ordinary oversize frames with a clear message;
        // only absurd ones (which would cost memory to read) are reset by the transport itself.
        .maxInboundMessageSize(transportMessageCap(config))
        .permitKeepAliveTime(10, TimeUnit.SECONDS)
        .permitKeepAliveWithoutCalls(true)
        .keepAliveTime(60, TimeUnit.SECONDS)
        .keepAliveTimeout(20, TimeUnit.SECONDS)
        // Every connection state has a deadline: TLS + HTTP/2 preface, then no stream for long.
        .handshakeTimeout(config.grpcHandshakeTimeout().toMillis(), TimeUnit.MILLISECONDS)
        .maxConnectionIdle(config.grpcMaxConnectionIdle().toMillis(), TimeUnit.MILLISECONDS)
        .maxConcurrentCallsPerConnection(config.maxConcurrentCallsPerConnection());
    // Connection caps at accept, shared by both ports: per client address (trusted proxies exempt)
    // and in total, below the process's descriptor limit.
    dev.checkmate.relay.security.TrustedProxies trustedProxies =
        dev.checkmate.relay.security.TrustedProxies.parse(config.trustedProxies());
    this.descriptors = DescriptorBudget.of(DescriptorBudget.processDescriptorLimit(), config.maxConnections());
    this.connections = new ConnectionLimiter(config.maxConnectionsPerAddress(), descriptors.connectionCap(), trustedProxies);
    log.info("connections: {}; per client address {}", descriptors.describe(),
        config.maxConnectionsPerAddress() > 0 ? config.maxConnectionsPerAddress() : "unlimited");
    this.networkThreads = dev.checkmate.relay.transport.grpc.NetworkThreads.install(builder, config.effectiveEventLoopThreads(),
        dev.checkmate.relay.security.ConnectionGate.handler(connections, () -> hub.stats().rejected(RelayError.TOO_MANY_CONNECTIONS)));
    if (config.tlsEnabled()) {
      builder.sslContext(serverTls(config));
    } else if (!config.loopbackOnly()) {
      if (!config.insecurePlaintext()) {
        throw new IllegalArgumentException("refusing plaintext on non-loopback address " + config.bindAddress()
            + ": give --tls-cert/--tls-key, or --insecure-plaintext behind a TLS-terminating proxy");
      }
      log.warn("!!! PLAINTEXT on non-loopback address {}: tickets and frames cross the network unencrypted. "
          + "Only acceptable behind a TLS-terminating proxy on a private network. !!!", config.bindAddress());
      if (config.trustedProxies().isEmpty()) {
        log.warn("plaintext behind a proxy without --trusted-proxy: every client behind it shares the proxy's "
            + "per-address budgets (streams, join attempts); set --trusted-proxy to the proxy's addresses");
      }
    }
    // Without configured public endpoints, advertise where this node actually listens.
    Supplier<List<String>> endpoints = () -> config.publicEndpoints().isEmpty()
        ? List.of(config.bindAddress() + ":" + grpcPort()) : config.publicEndpoints();
    // One admission path for every transport, TerminateSession and the cluster home: admission.Admission.
    this.admission = new Admission(hub, verifier, limiter, scheduler, config.clusterBindsPerNodePerSecond());
    ParticipantStream.Limits streamLimits = new ParticipantStream.Limits(config.helloTimeout(), config.maxUnreadBytes(),
        config.maxKeepAlivesPerSecond(), 10 * config.maxKeepAlivesPerSecond());
    SplitStreams splitStreams = new SplitStreams(config.webSocketPingInterval(), config.sendWait(), admission, streamLimits);
    RelayGrpcService service = new RelayGrpcService(config.defaultSessionTtl(), config.maxSessionTtl(), hub, issuer, new IssuerPolicy(config.issuerKeys(), config.issuerIdentities()),
        this.admission, streamLimits, splitStreams, clock, endpoints);
    // Telemetry when enabled: the Prometheus endpoint, gRPC server spans and metrics, and the hub's hooks.
    this.telemetry = config.telemetryEnabled() ? RelayTelemetry.start(config.telemetrySettings(), hub) : null;
    if (telemetry != null) {
      telemetry.configureServer(builder);
    }
    this.server = builder
        // CallerSecurity runs first: client address (trusted proxies), mTLS identities, x-session-id.
        .addService(io.grpc.ServerInterceptors.intercept(service.intercepted(),
            new dev.checkmate.relay.security.CallerSecurity(trustedProxies)))
        .addService(health.getHealthService())
        .addService(ProtoReflectionServiceV1.newInstance())
        .build();
    this.http = config.webSocketEnabled()
        ? new HttpFrontend(config.httpPortSettings(), admission, streamLimits, connections, splitStreams, () -> serving)
        : null;
    this.watchdog = new Watchdog(config.watchdogNotServingAfter(), config.watchdogExitAfter(), this::setStalled,
        message -> FailFast.fatal(FailFast.WATCHDOG, message));
    watched.put("timers", scheduler);
    watchLoops("grpc-accept", networkThreads.acceptLoops());
    watchLoops("grpc", networkThreads.networkLoops());
    if (http != null) {
      watchLoops("http", http.eventLoops());
    }
    watched.forEach(watchdog::watch);
    this.sweepHeartbeat = watchdog.heartbeat("session sweep", config.sweepInterval());
  }

  private void watchLoops(String prefix, Iterable<? extends java.util.concurrent.Executor> loops) {
    int i = 0;
    for (java.util.concurrent.Executor loop : loops) {
      watched.put(prefix + "-" + i++, loop);
    }
  }

  /** The largest message the transport reads at all: 4 × the frame limit, at least frame + 64 KiB. */
  static int transportMessageCap(RelayConfig config) {
    return (int) Math.min(Integer.MAX_VALUE, Math.max(4L * config.maxFrameBytes(), config.maxFrameBytes() + 65536L));
  }

  private static SslContext serverTls(RelayConfig config) {
    try {
      return GrpcSslContexts.forServer(config.tlsCertificate().orElseThrow().toFile(), config.tlsPrivateKey().orElseThrow().toFile())
          .protocols("TLSv1.3")
          // Mutual TLS (--tls-client-ca): only clients with a certificate chaining to this CA get in.
          .trustManager(config.tlsClientCa().map(java.nio.file.Path::toFile).orElse(null))
          .clientAuth(config.tlsClientCa().isPresent()
              ? io.grpc.netty.shaded.io.netty.handler.ssl.ClientAuth.REQUIRE
              : io.grpc.netty.shaded.io.netty.handler.ssl.ClientAuth.NONE)
          .build();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot load TLS certificate/key: " + e.getMessage(), e);
    }
  }

  /** Starts a relay; returns once it accepts connections and reports SERVING. */
  public static RelayServer start(RelayConfig config) throws IOException {
    RelayServer relay = new RelayServer(config);
    try {
      relay.server.start();
    } catch (IOException | RuntimeException e) {
      relay.closeTelemetry();
      throw e;
    }
    if (config.clusterEnabled()) {
      // Connects in the background; node-local sessions are served meanwhile (docs/cluster.md).
      // The home checks other nodes' tickets through the same admission as local joins.
      relay.cluster = ClusterLink.start(config.clusterSettings(), relay.hub, relay.admission);
      if (relay.telemetry != null) {
        relay.cluster.setListener(relay.telemetry.cluster());
      }
    }
    if (relay.http != null) {
      try {
        relay.http.start();
      } catch (IOException | RuntimeException e) {
        relay.server.shutdownNow();
        relay.scheduler.shutdownNow();
        relay.closeTelemetry();
        throw e;
      }
    }
    long sweepMs = config.sweepInterval().toMillis();
    relay.scheduler.scheduleWithFixedDelay(relay::sweepSafely, sweepMs, sweepMs, TimeUnit.MILLISECONDS);
    relay.setServing(true);
    relay.watchdog.start();
    log.info("relay listening on {}:{} ({}), {} verification key(s){}", config.bindAddress(), relay.grpcPort(),
        config.tlsEnabled() ? "TLS 1.3" : "plaintext", relay.keys.verificationKeyIds().size(),
        relay.keys.signingKey().isPresent() ? ", issuing tickets" : ", verify-only");
    return relay;
  }

  private void sweepSafely() {
    try {
      hub.sweep();
    } catch (RuntimeException e) {
      log.error("session sweep failed", e);
    }
    sweepHeartbeat.beat();
  }

  /**
   * gRPC health and the HTTP port's /healthz change together, here and only here: SERVING once
   * started unless the watchdog sees a stall; NOT_SERVING for good once closing.
   */
  private void setServing(boolean on) {
    synchronized (health) {
      started = on;
      serving = on && !stalled;
      if (!on) {
        health.enterTerminalState();
        return;
      }
      ServingStatus status = serving ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
      health.setStatus("", status);
      health.setStatus(SERVICE_NAME, status);
    }
  }

  private void setStalled(boolean on) {
    synchronized (health) {
      stalled = on;
      if (started) {
        setServing(true);
      }
    }
  }

  /** The HTTP port (WebSocket, gRPC-Web, /healthz), or -1 when disabled. */
  public int webSocketPort() {
    return http == null ? -1 : http.port();
  }

  public int grpcPort() {
    return ((InetSocketAddress) server.getListenSockets().get(0)).getPort();
  }

  /** The cluster link (NATS), when configured with --nats. */
  public java.util.Optional<ClusterLink> cluster() {
    return java.util.Optional.ofNullable(cluster);
  }

  public SessionHub hub() {
    return hub;
  }

  public KeyRing keys() {
    return keys;
  }

  /** TCP connection counts on both client ports (--max-connections-per-address, --max-connections). */
  public ConnectionLimiter connectionLimiter() {
    return connections;
  }

  /** The descriptor limit and the total connection cap derived from it. */
  public DescriptorBudget descriptorBudget() {
    return descriptors;
  }

  public AddressLimits addressLimiter() {
    return limiter;
  }

  public RelayConfig config() {
    return config;
  }

  /**
   * Graceful shutdown: health goes NOT_SERVING first (so load balancers move new sessions away),
   * then after the pre-stop delay the server stops accepting streams, open sessions get up to the
   * drain timeout to finish, and whatever is left is ended with RELAY_SHUTDOWN (UNAVAILABLE).
   */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    watchdog.close();
    setServing(false);
    sleep(config.preStopDelay().toMillis());
    server.shutdown();
    long deadline = System.nanoTime() + config.drainTimeout().toNanos();
    while (hub.sessionCount() > 0 && System.nanoTime() < deadline) {
      sleep(50);
    }
    if (hub.sessionCount() > 0) {
      log.info("drain deadline reached; ending {} open session(s)", hub.sessionCount());
    }
    hub.endAll(EndReason.RELAY_SHUTDOWN, "relay is shutting down; reconnect (to another relay) with the same ticket");
    ClusterLink link = cluster;
    if (link != null) {
      // After endAll, so bridges of sessions homed here got their SessionEnded; bridges held here
      // end with UNAVAILABLE (reconnect) — their sessions live on at their homes.
      link.close();
    }
    try {
      if (!server.awaitTermination(2, TimeUnit.SECONDS)) {
        server.shutdownNow();
        server.awaitTermination(2, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      server.shutdownNow();
    }
    if (http != null) {
      http.close();
    }
    if (networkThreads != null) {
      networkThreads.close();
    }
    scheduler.shutdownNow();
    closeTelemetry();
    log.info("relay stopped");
  }

  private void closeTelemetry() {
    if (telemetry != null) {
      telemetry.close();
    }
  }

  /** Telemetry (metrics endpoint, spans, cluster hooks); empty when disabled in the config. */
  public java.util.Optional<RelayTelemetry> telemetry() {
    return java.util.Optional.ofNullable(telemetry);
  }

  /** The Prometheus endpoint's port, or -1 when disabled. */
  public int metricsPort() {
    return telemetry == null ? -1 : telemetry.metricsPort();
  }

  private static void sleep(long millis) {
    if (millis <= 0) {
      return;
    }
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Blocks until the server terminates (used by the CLI). */
  public void awaitTermination() throws InterruptedException {
    server.awaitTermination();
  }

}
