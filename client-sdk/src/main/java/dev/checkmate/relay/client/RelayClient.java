package dev.checkmate.relay.client;

import com.google.protobuf.Timestamp;
import dev.checkmate.relay.proto.v1.CreateSessionRequest;
import dev.checkmate.relay.proto.v1.CreateSessionResponse;
import dev.checkmate.relay.proto.v1.RelayServiceGrpc;
import dev.checkmate.relay.proto.v1.TerminateSessionRequest;
import io.grpc.ChannelCredentials;
import io.grpc.ClientInterceptor;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.context.Scope;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.X509TrustManager;

/**
 * The entry point of the SDK: one connection to a CheckMate relay, shared by every session made
 * through it. Build it once, keep it, and {@link #close()} it at shutdown; it is immutable and
 * thread-safe.
 *
 * <pre>{@code
 * RelayClient client = RelayClient.builder().target("relay.example.com:443").build();
 * SessionInvite invite = client.createSession(Duration.ofMinutes(10));
 * try (RelaySession s = client.join(invite.verifierTicket())) {
 *   s.awaitPeer(Duration.ofSeconds(30));
 *   s.sendBlocking("hello".getBytes(UTF_8));
 *   byte[] reply = s.receive(Duration.ofSeconds(10));
 *   s.terminate("done");
 * }
 * }</pre>
 *
 * <p>Every failure is a {@link RelayException} subtype carrying the relay's status and reason.
 */
public final class RelayClient implements AutoCloseable {
  private static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
  /** Envoy hashes on this header so both participants of a session reach the same relay node. */
  static final Metadata.Key<String> SESSION_ID =
      Metadata.Key.of("x-session-id", Metadata.ASCII_STRING_MARSHALLER);
  private static final AtomicInteger CLIENT_IDS = new AtomicInteger();

  private final Builder config;
  private final ManagedChannel channel; // the first target's: unary calls and first joins
  private final java.util.List<ManagedChannel> channels; // one per target, for resume
  private volatile boolean closed;
  private final ScheduledExecutorService scheduler;
  private final ClientTracing tracing;

  private RelayClient(Builder config) {
    this.config = config;
    this.tracing = ClientTracing.of(config.openTelemetry);
    ChannelCredentials credentials = credentials(config);
    java.util.List<ManagedChannel> list = new java.util.ArrayList<>();
    for (String target : config.targets()) {
      NettyChannelBuilder channelBuilder =
          NettyChannelBuilder.forTarget(target, credentials)
              // A fixed window (auto-tuning off) keeps the receive-side buffering bound documented
              // in RelaySession true.
              .flowControlWindow(config.flowControlWindow);
      ClientInterceptor traceContext = tracing.interceptor();
      if (traceContext != null) {
        // W3C traceparent on every call, and a CLIENT span per call (message events off).
        channelBuilder.intercept(traceContext);
      }
      list.add(channelBuilder.build()); // lazy: a target is dialled only when a call uses it
    }
    this.channels = java.util.List.copyOf(list);
    this.channel = channels.get(0);
    int id = CLIENT_IDS.incrementAndGet();
    ScheduledThreadPoolExecutor timer =
        new ScheduledThreadPoolExecutor(
            1,
            r -> {
              Thread t = new Thread(r, "relay-client-" + id + "-heartbeat");
              t.setDaemon(true);
              return t;
            });
    timer.setRemoveOnCancelPolicy(true);
    this.scheduler = Executors.unconfigurableScheduledExecutorService(timer);
  }

  /** A builder with the defaults: TLS with the system trust store, 30 s heartbeats and timeouts. */
  public static Builder builder() {
    return new Builder();
  }

  /** A builder that starts from this client's settings; the client it builds has its own connection. */
  public Builder newBuilder() {
    return new Builder(config);
  }

  /** The {@code host:port} this client connects to. */
  public String target() {
    return config.target;
  }

  /**
   * Creates a session (relay method CreateSession). Sends the issuer key, if one was configured, as
   * {@code authorization: Bearer}.
   *
   * @param ttl session lifetime, whole seconds; {@link Duration#ZERO} takes the relay's default
   * @throws NotAuthorizedException without a valid issuer key where the relay requires one
   * @throws RelayException for any other refusal (e.g. INVALID_ARGUMENT for a ttl over the maximum)
   */
  public SessionInvite createSession(Duration ttl) {
    long seconds = ttl.getSeconds();
    if (seconds < 0 || seconds > 0xFFFF_FFFFL) {
      throw new IllegalArgumentException("ttl out of range: " + ttl);
    }
    var stub = RelayServiceGrpc.newBlockingStub(channel).withDeadlineAfter(
        config.callTimeout.toMillis(), TimeUnit.MILLISECONDS);
    if (config.issuerKey != null) {
      Metadata headers = new Metadata();
      headers.put(AUTHORIZATION, "Bearer " + config.issuerKey);
      stub = stub.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers));
    }
    CreateSessionResponse r;
    Span span = tracing.startCreateSession(seconds);
    try (Scope ignored = span.makeCurrent()) {
      r = stub.createSession(CreateSessionRequest.newBuilder().setTtlSeconds((int) seconds).build());
    } catch (StatusRuntimeException e) {
      RelayException error = Errors.fromThrowable(e);
      ClientTracing.failed(span, error);
      throw error;
    }
    ClientTracing.createSessionDone(span, r.getSessionId());
    return new SessionInvite(
        r.getSessionId(),
        r.getProverTicket(),
        r.getVerifierTicket(),
        toInstant(r.getExpiresAt()),
        r.getEndpointsList(),
        RelayLimits.fromProto(r.getLimits()));
  }

  /** {@link #createSession(Duration)} with the relay's default lifetime. */
  public SessionInvite createSession() {
    return createSession(Duration.ZERO);
  }

  /**
   * Joins a session with a ticket, blocking style: read frames with {@link RelaySession#receive}
   * or {@link RelaySession#frames()}. Blocks until the relay answers Joined (at most the call
   * timeout).
   *
   * @throws TicketRejectedException forged, expired or unknown-key ticket
   * @throws RoleTakenException another live stream holds this role
   * @throws SessionEndedException the session has already ended
   * @throws LimitExceededException too many streams from this address
   * @throws RelayUnavailableException the relay cannot be reached (or the TLS handshake failed)
   */
  public RelaySession join(String ticket) throws InterruptedException {
    return join(ticket, JoinOptions.defaults(), null);
  }

  /**
   * Joins a session with a ticket, callback style: frames and events go to {@code listener}.
   * Blocks until the relay answers Joined; throws like {@link #join(String)}.
   */
  public RelaySession join(String ticket, SessionListener listener) throws InterruptedException {
    return join(ticket, JoinOptions.defaults(), listener);
  }

  /**
   * Joins with options, blocking style; e.g. {@code join(ticket, JoinOptions.endToEnd(secret))}
   * for end-to-end encryption: {@link RelaySession#send} and {@link RelaySession#receive} then
   * carry plaintext that is sealed and opened transparently. Throws like {@link #join(String)}.
   */
  public RelaySession join(String ticket, JoinOptions options) throws InterruptedException {
    return join(ticket, options, null);
  }

  /**
   * Joins with options, callback style ({@code listener} may be null for the blocking style).
   * With end-to-end encryption {@link SessionListener#onFrame} receives plaintext and {@link
   * SessionListener#onSecure} reports the completed handshake; any end-to-end failure ends the
   * session with {@link EndToEndSecurityException}.
   *
   * @throws RelayException INVALID_ARGUMENT if {@link JoinOptions#expectRole} does not match the
   *     ticket; otherwise like {@link #join(String)}
   */
  public RelaySession join(String ticket, JoinOptions options, SessionListener listener)
      throws InterruptedException {
    Objects.requireNonNull(ticket, "ticket");
    Objects.requireNonNull(options, "options");
    ClientTracing.SessionTrace trace = tracing.startSession(options.endToEndEncryption());
    ClientInterceptor routing = routing(ticket);
    GrpcRelaySession.Connector connector = new GrpcRelaySession.Connector() {
      @Override
      public void connect(int index, ConnectAttempt attempt) {
        ManagedChannel ch = channels.get(Math.floorMod(index, channels.size()));
        // After a loss, dial now instead of after the channel's own (slow) reconnect backoff.
        ch.resetConnectBackoff();
        // The Connect call (and its CLIENT span, when traced) starts inside relay.client.session.
        try (Scope ignored = trace.context().makeCurrent()) {
          RelayServiceGrpc.newStub(ch).withInterceptors(routing).connect(attempt);
        }
      }

      @Override
      public boolean closed() {
        return closed;
      }
    };
    GrpcRelaySession session =
        new GrpcRelaySession(
            listener,
            config.receiveQueueFrames,
            config.callTimeout,
            config.heartbeatInterval,
            scheduler,
            options.endToEndEncryption() ? new E2eCodec(options.pairingSecret()) : FrameCodec.PLAIN,
            connector,
            config.resume
                ? new GrpcRelaySession.ResumeSettings(true, config.resumeGrace,
                    config.resumeMaxFrames, config.resumeMaxBytes)
                : GrpcRelaySession.ResumeSettings.OFF);
    session.trace(trace);
    session.join(ticket, options.expectedRole());
    return session;
  }

  /**
   * Ends a session from outside its streams (relay method TerminateSession) on behalf of the
   * ticket's role. Both participants receive SessionEnded{TERMINATED} with {@code reason}.
   *
   * @return {@code false} if the session had already ended (the call is idempotent)
   * @throws TicketRejectedException if the ticket is not valid
   */
  public boolean terminate(String ticket, String reason) {
    var stub = RelayServiceGrpc.newBlockingStub(channel)
        .withInterceptors(routing(ticket))
        .withDeadlineAfter(config.callTimeout.toMillis(), TimeUnit.MILLISECONDS);
    try {
      return stub.terminateSession(
              TerminateSessionRequest.newBuilder()
                  .setTicket(ticket)
                  .setReason(Outbound.truncate(reason))
                  .build())
          .getTerminated();
    } catch (StatusRuntimeException e) {
      throw Errors.fromThrowable(e);
    }
  }

  /**
   * Closes the connection: open sessions are dropped (their peers see PeerLeft) and end with a
   * CANCELLED or UNAVAILABLE {@link RelayException}. Waits a few seconds for in-flight calls.
   */
  @Override
  public void close() {
    closed = true; // sessions stop resuming
    scheduler.shutdownNow();
    channels.forEach(ManagedChannel::shutdownNow);
    try {
      for (ManagedChannel ch : channels) {
        ch.awaitTermination(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static ClientInterceptor routing(String ticket) {
    Metadata headers = new Metadata();
    Tickets.sessionId(ticket).ifPresent(sid -> headers.put(SESSION_ID, sid));
    return MetadataUtils.newAttachHeadersInterceptor(headers);
  }

  private static Instant toInstant(Timestamp ts) {
    return Instant.ofEpochSecond(ts.getSeconds(), ts.getNanos());
  }

  private static ChannelCredentials credentials(Builder config) {
    if (config.plaintext) {
      return InsecureChannelCredentials.create();
    }
    TlsChannelCredentials.Builder tls = TlsChannelCredentials.newBuilder();
    if (config.clientCertificateChain != null) {
      try {
        tls.keyManager(config.clientCertificateChain.toFile(), config.clientPrivateKey.toFile());
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read the client certificate/key from "
            + config.clientCertificateChain + " / " + config.clientPrivateKey, e);
      }
    } else if (config.keyManager != null) {
      tls.keyManager(config.keyManager);
    }
    if (!config.pins.isEmpty()) {
      tls.trustManager(new PinningTrustManager(baseTrustManager(config), config.pins));
      return tls.build();
    }
    if (config.trustedCertificates != null) {
      try {
        tls.trustManager(config.trustedCertificates.toFile());
      } catch (IOException e) {
        throw new UncheckedIOException(
            "cannot read trusted certificates from " + config.trustedCertificates, e);
      }
    } else if (config.trustManager != null) {
      tls.trustManager(config.trustManager);
    }
    return tls.build();
  }

  /** The trust manager pins are checked after: the configured trust, else the system's. */
  private static X509TrustManager baseTrustManager(Builder config) {
    if (config.trustManager != null) {
      return config.trustManager;
    }
    try {
      java.security.KeyStore store = null;
      if (config.trustedCertificates != null) {
        store = java.security.KeyStore.getInstance(java.security.KeyStore.getDefaultType());
        store.load(null, null);
        int i = 0;
        try (java.io.InputStream in = java.nio.file.Files.newInputStream(config.trustedCertificates)) {
          for (java.security.cert.Certificate c
              : java.security.cert.CertificateFactory.getInstance("X.509").generateCertificates(in)) {
            store.setCertificateEntry("trusted-" + i++, c);
          }
        }
      }
      javax.net.ssl.TrustManagerFactory tmf =
          javax.net.ssl.TrustManagerFactory.getInstance(javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(store);
      for (javax.net.ssl.TrustManager tm : tmf.getTrustManagers()) {
        if (tm instanceof X509TrustManager x) {
          return x;
        }
      }
      throw new IllegalStateException("no X509TrustManager available");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read trusted certificates from " + config.trustedCertificates, e);
    } catch (java.security.GeneralSecurityException e) {
      throw new IllegalStateException("cannot set up certificate trust: " + e.getMessage(), e);
    }
  }

  /**
   * Settings of a {@link RelayClient}. Not thread-safe; {@link #build()} copies it, so one builder
   * can make several clients.
   */
  public static final class Builder {
    private String target;
    private boolean plaintext;
    private Path trustedCertificates;
    private X509TrustManager trustManager;
    private String issuerKey;
    private Duration heartbeatInterval = Duration.ofSeconds(30);
    private Duration callTimeout = Duration.ofSeconds(30);
    private int receiveQueueFrames = 16;
    private int flowControlWindow = 1 << 20;
    private Path clientCertificateChain;
    private Path clientPrivateKey;
    private javax.net.ssl.X509KeyManager keyManager;
    private java.util.List<String> pins = java.util.List.of();
    private OpenTelemetry openTelemetry;
    private java.util.List<String> moreTargets = java.util.List.of();
    private boolean resume = true;
    private Duration resumeGrace = Duration.ofSeconds(30);
    private int resumeMaxFrames = 1024;
    private long resumeMaxBytes = 4L << 20;

    private Builder() {}

    java.util.List<String> targets() {
      java.util.List<String> all = new java.util.ArrayList<>();
      all.add(target);
      all.addAll(moreTargets);
      return all;
    }

    private Builder(Builder other) {
      target = other.target;
      plaintext = other.plaintext;
      trustedCertificates = other.trustedCertificates;
      trustManager = other.trustManager;
      issuerKey = other.issuerKey;
      heartbeatInterval = other.heartbeatInterval;
      callTimeout = other.callTimeout;
      receiveQueueFrames = other.receiveQueueFrames;
      flowControlWindow = other.flowControlWindow;
      clientCertificateChain = other.clientCertificateChain;
      clientPrivateKey = other.clientPrivateKey;
      keyManager = other.keyManager;
      pins = other.pins;
      openTelemetry = other.openTelemetry;
      moreTargets = other.moreTargets;
      resume = other.resume;
      resumeGrace = other.resumeGrace;
      resumeMaxFrames = other.resumeMaxFrames;
      resumeMaxBytes = other.resumeMaxBytes;
    }

    /** The relay's {@code host:port} (or any gRPC target string). Required. */
    public Builder target(String target) {
      this.target = Objects.requireNonNull(target, "target");
      this.moreTargets = java.util.List.of();
      return this;
    }

    /**
     * Several relay endpoints (e.g. {@link SessionInvite#endpoints()}, or the nodes of a cluster):
     * the first is used for every call; when resuming, an attempt that fails moves on to the next
     * one (round robin). Every target gets its own lazily dialled connection with the same
     * security settings. Replaces {@link #target}.
     */
    public Builder targets(java.util.List<String> targets) {
      if (targets.isEmpty()) {
        throw new IllegalArgumentException("at least one target");
      }
      targets.forEach(t -> Objects.requireNonNull(t, "target"));
      this.target = targets.get(0);
      this.moreTargets = java.util.List.copyOf(targets.subList(1, targets.size()));
      return this;
    }

    /**
     * Resume (on by default): sessions survive the loss of their stream. Each side keeps the frames
     * it sent until the peer acknowledges them, drops incoming frames it already has (by sequence
     * number, before end-to-end decryption and before the application), and when its stream fails
     * with UNAVAILABLE or CANCELLED (connection lost, relay node killed, "relay node lost;
     * reconnect") rejoins with the same ticket — jittered exponential backoff, same target first and
     * then the next of {@link #targets}, within {@link #resumeGrace} — and sends again what is
     * unacknowledged. The application sees no error, only {@link SessionListener#onReconnecting} /
     * {@link SessionListener#onResumed}; the peer sees {@link SessionListener#onPeerReconnecting}
     * then {@link SessionListener#onPeerJoined}. Every frame reaches the peer's application exactly
     * once and in order. The exact rules (ack policy, backoff, what is resent when) are in
     * docs/resume.md.
     *
     * <p>Not resumed: a session the relay ended (SessionEnded, e.g. terminate, timers, limits,
     * RELAY_SHUTDOWN), a stream replaced by another join with the same ticket (ABORTED), a refused
     * rejoin (the relay's error is thrown), certificate pinning failures, a session or client closed
     * by the application. If the grace window passes, the session ends with {@link
     * RelayUnavailableException}.
     *
     * <p>With resume off a lost stream ends the session with {@link RelayUnavailableException} at
     * once, and sequence gaps or repeats are protocol errors. Either way a peer that restarts and
     * joins again with its ticket is detected and reported ({@link PeerRestartedException}).
     */
    public Builder resume(boolean enabled) {
      this.resume = enabled;
      return this;
    }

    /**
     * How long a lost session keeps trying to rejoin (default 30 s); capped by the relay's join
     * deadline ({@link RelayLimits#joinDeadline()}), after which the relay gives the role up.
     */
    public Builder resumeGrace(Duration grace) {
      if (grace.isNegative() || grace.isZero()) {
        throw new IllegalArgumentException("resume grace must be positive");
      }
      this.resumeGrace = grace;
      return this;
    }

    /**
     * Bounds the frames sent but not yet acknowledged by the peer, which the SDK keeps for
     * retransmission (default 1024 frames, 4 MiB of payload). When either is reached, {@link
     * RelaySession#send} futures wait for acks (back-pressure), so this also bounds the memory.
     * {@code maxBytes} should be at least the relay's frame limit; one frame is always allowed.
     */
    public Builder resumeBuffer(int maxFrames, long maxBytes) {
      if (maxFrames < 1 || maxBytes < 1) {
        throw new IllegalArgumentException("resume buffer bounds must be positive");
      }
      this.resumeMaxFrames = maxFrames;
      this.resumeMaxBytes = maxBytes;
      return this;
    }

    /**
     * Talks to the relay without TLS. Only for a relay on loopback or in development: tickets are
     * bearer secrets and would cross the network in clear text.
     */
    public Builder usePlaintext() {
      this.plaintext = true;
      return this;
    }

    /**
     * Trusts only the certificates in this PEM file (e.g. a private CA or a self-signed relay
     * certificate) instead of the system trust store.
     */
    public Builder trustedCertificates(Path pemFile) {
      this.trustedCertificates = Objects.requireNonNull(pemFile, "pemFile");
      this.trustManager = null;
      this.plaintext = false;
      return this;
    }

    /** Trusts what this trust manager accepts, for callers that already manage their trust. */
    public Builder trustManager(X509TrustManager trustManager) {
      this.trustManager = Objects.requireNonNull(trustManager, "trustManager");
      this.trustedCertificates = null;
      this.plaintext = false;
      return this;
    }

    /**
     * Presents this client certificate (mutual TLS), for relays started with {@code
     * --tls-client-ca}; its identity (subject CN or SAN) may also authorize CreateSession there
     * ({@code --issuer-identity}).
     *
     * @param certificateChainPem PEM certificate chain, leaf first
     * @param privateKeyPem PEM PKCS#8 private key of the leaf
     */
    public Builder clientCertificate(Path certificateChainPem, Path privateKeyPem) {
      this.clientCertificateChain = Objects.requireNonNull(certificateChainPem, "certificateChainPem");
      this.clientPrivateKey = Objects.requireNonNull(privateKeyPem, "privateKeyPem");
      this.keyManager = null;
      this.plaintext = false;
      return this;
    }

    /** Presents the client certificate this key manager chooses (mutual TLS). */
    public Builder keyManager(javax.net.ssl.X509KeyManager keyManager) {
      this.keyManager = Objects.requireNonNull(keyManager, "keyManager");
      this.clientCertificateChain = null;
      this.clientPrivateKey = null;
      this.plaintext = false;
      return this;
    }

    /**
     * Pins the relay's public key: besides the usual certificate validation, some certificate of
     * the relay's chain must have one of these SubjectPublicKeyInfo SHA-256 hashes, written
     * {@code "sha256/<base64>"} (as {@code openssl x509 -pubkey -noout | openssl pkey -pubin
     * -outform der | openssl dgst -sha256 -binary | base64} prints it). Give several for rotation
     * (current and next key, or a CA key). A mismatch fails every call with {@link
     * CertificatePinningException} before anything is sent. Replaces earlier pins.
     */
    public Builder pinnedPublicKey(String... pins) {
      java.util.List<String> list = java.util.List.of(pins);
      PinningTrustManager.parse(list); // fail here, not at the first call
      this.pins = list;
      this.plaintext = false;
      return this;
    }

    /** Issuer API key, sent as {@code authorization: Bearer} on {@link #createSession}; optional. */
    public Builder issuerKey(String issuerKey) {
      this.issuerKey = issuerKey;
      return this;
    }

    /**
     * How often a joined session sends a Heartbeat so proxies keep the idle stream open (default
     * 30 s); {@link Duration#ZERO} turns heartbeats off. Relays limit keep-alives per stream (2/s
     * with a burst of 20 by default) and close a stream that sends them faster.
     */
    public Builder heartbeatInterval(Duration interval) {
      if (interval.isNegative()) {
        throw new IllegalArgumentException("negative heartbeat interval");
      }
      this.heartbeatInterval = interval;
      return this;
    }

    /** Deadline for CreateSession, TerminateSession, the Join answer and terminate (default 30 s). */
    public Builder callTimeout(Duration timeout) {
      if (timeout.isNegative() || timeout.isZero()) {
        throw new IllegalArgumentException("call timeout must be positive");
      }
      this.callTimeout = timeout;
      return this;
    }

    /**
     * How many received frames may wait for the application in the blocking style (default 16).
     * The relay is asked for a frame only when there is room, so this bounds the SDK's memory.
     */
    public Builder receiveQueueFrames(int frames) {
      if (frames < 1) {
        throw new IllegalArgumentException("receiveQueueFrames must be at least 1");
      }
      this.receiveQueueFrames = frames;
      return this;
    }

    /**
     * The HTTP/2 receive window per stream in bytes (default 1 MiB, fixed). Together with {@link
     * #receiveQueueFrames} it bounds how much a slow reader lets the peer send ahead.
     */
    public Builder flowControlWindow(int bytes) {
      if (bytes < 65_535) {
        throw new IllegalArgumentException("HTTP/2 windows are at least 65535 bytes");
      }
      this.flowControlWindow = bytes;
      return this;
    }

    /**
     * Traces this client's calls and sessions with the application's OpenTelemetry (its SDK,
     * exporter and sampler; the SDK itself depends only on {@code opentelemetry-api} and {@code
     * opentelemetry-grpc-1.6}). Every call carries the W3C {@code traceparent} of the current
     * context, so the relay's spans join the application's trace, and the SDK adds:
     *
     * <ul>
     *   <li>{@code relay.client.create_session} around {@link RelayClient#createSession};
     *   <li>{@code relay.client.session} from {@link RelayClient#join} until the session ends,
     *       with {@code relay.session.outcome} ({@code terminated}, {@code peer_never_joined},
     *       {@code idle}, {@code expired}, {@code shutdown}, {@code rejected}, {@code error},
     *       {@code closed}, {@code e2e_failed}, {@code disconnected}) and {@code
     *       relay.session.id_hash} (the relay's hash of the session id, for matching its spans);
     *   <li>{@code relay.client.join} below it, until the relay answers Joined;
     *   <li>gRPC CLIENT spans (CreateSession, Connect, TerminateSession) from the interceptor;
     *   <li>per session at most 16 sampled {@code relay.client.frames} events (first frame each
     *       way, then every 4096th) with counts: never a span per frame.
     * </ul>
     *
     * Spans start in the caller's current context: make the application's span current around
     * {@code createSession} and {@code join} to put the session into that trace. Tickets, keys,
     * payloads, terminate reasons and error messages are never recorded. Without this call (or
     * with {@code null}) the SDK records nothing and adds no interceptor.
     */
    public Builder openTelemetry(OpenTelemetry openTelemetry) {
      this.openTelemetry = openTelemetry;
      return this;
    }

    /** Opens the connection (lazily: nothing is dialled until the first call). */
    public RelayClient build() {
      if (target == null) {
        throw new IllegalStateException("target(host:port) is required");
      }
      return new RelayClient(new Builder(this));
    }
  }
}
