package dev.checkmate.relay;

import dev.checkmate.relay.proto.v1.EndReason;
import dev.checkmate.relay.proto.v1.RelayServiceGrpc;
import dev.checkmate.relay.session.SessionHub;
import dev.checkmate.relay.ticket.IssuerPolicy;
import dev.checkmate.relay.ticket.KeyRing;
import dev.checkmate.relay.ticket.TicketIssuer;
import dev.checkmate.relay.ticket.TicketVerifier;
import dev.checkmate.relay.transport.grpc.AddressLimiter;
import dev.checkmate.relay.transport.grpc.RelayGrpcService;
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
import java.util.concurrent.ScheduledThreadPoolExecutor;
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
  private final HealthStatusManager health = new HealthStatusManager();
  private final ScheduledExecutorService scheduler;
  private final Server server;
  private final AddressLimiter limiter;
  private boolean closed;

  private RelayServer(RelayConfig config) throws IOException {
    this.config = config;
    Clock clock = Clock.systemUTC();
    this.keys = KeyRing.load(config.signingKey(), config.verifyKeys());
    this.hub = new SessionHub(config, clock);
    this.limiter = new AddressLimiter(config.maxStreamsPerAddress());
    ScheduledThreadPoolExecutor timers = new ScheduledThreadPoolExecutor(1, r -> {
      Thread t = new Thread(r, "relay-timers");
      t.setDaemon(true);
      return t;
    });
    timers.setRemoveOnCancelPolicy(true);
    this.scheduler = timers;

    TicketIssuer issuer = keys.signingKey().map(k -> new TicketIssuer(k, config.audience(), clock)).orElse(null);
    TicketVerifier verifier = new TicketVerifier(keys, config.audience(), config.clockSkew(), clock);

    NettyServerBuilder builder = NettyServerBuilder
        .forAddress(new InetSocketAddress(config.bindAddress(), config.grpcPort()))
        // Relay work per message is tiny and never blocks: run it on the event loops.
        .directExecutor()
        .flowControlWindow(config.flowControlWindow())
        // Slightly above the frame limit so the hub, not the transport, reports oversize frames.
        .maxInboundMessageSize(config.maxFrameBytes() + 4096)
        .permitKeepAliveTime(10, TimeUnit.SECONDS)
        .permitKeepAliveWithoutCalls(true)
        .keepAliveTime(60, TimeUnit.SECONDS)
        .keepAliveTimeout(20, TimeUnit.SECONDS);
    if (config.tlsEnabled()) {
      builder.sslContext(serverTls(config));
    } else if (!config.loopbackOnly()) {
      if (!config.insecurePlaintext()) {
        throw new IllegalArgumentException("refusing plaintext on non-loopback address " + config.bindAddress()
            + ": give --tls-cert/--tls-key, or --insecure-plaintext behind a TLS-terminating proxy");
      }
      log.warn("!!! PLAINTEXT on non-loopback address {}: tickets and frames cross the network unencrypted. "
          + "Only acceptable behind a TLS-terminating proxy on a private network. !!!", config.bindAddress());
    }
    // Without configured public endpoints, advertise where this node actually listens.
    Supplier<List<String>> endpoints = () -> config.publicEndpoints().isEmpty()
        ? List.of(config.bindAddress() + ":" + grpcPort()) : config.publicEndpoints();
    RelayGrpcService service = new RelayGrpcService(config, hub, issuer, verifier, new IssuerPolicy(config.issuerKeys()),
        limiter, scheduler, clock, endpoints);
    this.server = builder
        .addService(service.intercepted())
        .addService(health.getHealthService())
        .addService(ProtoReflectionServiceV1.newInstance())
        .build();
  }

  private static SslContext serverTls(RelayConfig config) {
    try {
      return GrpcSslContexts.forServer(config.tlsCertificate().orElseThrow().toFile(), config.tlsPrivateKey().orElseThrow().toFile())
          .protocols("TLSv1.3")
          .build();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot load TLS certificate/key: " + e.getMessage(), e);
    }
  }

  /** Starts a relay; returns once it accepts connections and reports SERVING. */
  public static RelayServer start(RelayConfig config) throws IOException {
    RelayServer relay = new RelayServer(config);
    relay.server.start();
    long sweepMs = config.sweepInterval().toMillis();
    relay.scheduler.scheduleWithFixedDelay(relay::sweepSafely, sweepMs, sweepMs, TimeUnit.MILLISECONDS);
    relay.health.setStatus("", ServingStatus.SERVING);
    relay.health.setStatus(SERVICE_NAME, ServingStatus.SERVING);
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
  }

  public int grpcPort() {
    return ((InetSocketAddress) server.getListenSockets().get(0)).getPort();
  }

  public SessionHub hub() {
    return hub;
  }

  public KeyRing keys() {
    return keys;
  }

  public AddressLimiter addressLimiter() {
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
    health.enterTerminalState();
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
    try {
      if (!server.awaitTermination(2, TimeUnit.SECONDS)) {
        server.shutdownNow();
        server.awaitTermination(2, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      server.shutdownNow();
    }
    scheduler.shutdownNow();
    log.info("relay stopped");
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
