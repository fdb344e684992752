package dev.checkmate.relay.telemetry;

import dev.checkmate.relay.error.RelayError;
import dev.checkmate.relay.proto.v1.EndReason;
import dev.checkmate.relay.session.HubStats;
import dev.checkmate.relay.session.Participant;
import dev.checkmate.relay.session.SessionHub;
import dev.checkmate.relay.ticket.Ticket;
import io.grpc.ServerBuilder;
import io.grpc.ServerInterceptor;
import io.grpc.opentelemetry.GrpcOpenTelemetry;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.metrics.DoubleHistogram;
import io.opentelemetry.api.metrics.Meter;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.opentelemetry.exporter.prometheus.PrometheusMetricReader;
import io.opentelemetry.instrumentation.grpc.v1_6.GrpcTelemetry;
import io.opentelemetry.instrumentation.runtimetelemetry.RuntimeTelemetry;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.autoconfigure.AutoConfiguredOpenTelemetrySdk;
import io.opentelemetry.sdk.metrics.Aggregation;
import io.opentelemetry.sdk.metrics.InstrumentSelector;
import io.opentelemetry.sdk.metrics.View;
import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.net.InetAddress;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The relay's telemetry: one OpenTelemetry SDK per relay (autoconfigured from {@code OTEL_*}
 * variables, exporters off unless configured), the {@code relay_*} metric contract of otel/, a
 * Prometheus endpoint, gRPC server spans (opentelemetry-grpc-1.6) and A66 metrics
 * (grpc-opentelemetry), JVM metrics, and the relay's own spans and audit log. Installed as the
 * hub's {@link SessionHub.HubListener}.
 *
 * <p>Hot path: a relayed frame costs two LongAdder increments (frames, bytes by transport) and a
 * mask test; 1 in 64 frames also records the hop latency. Gauges and counters the hub already keeps
 * ({@link HubStats}) are read only when Prometheus scrapes.
 */
public final class RelayTelemetry implements SessionHub.HubListener, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(RelayTelemetry.class);
  static final String INSTRUMENTATION = "dev.checkmate.relay";
  /** relay_hop_latency_seconds bucket bounds: 100 µs to 1 s, 2 to 4 times apart. */
  static final List<Double> HOP_BUCKETS = List.of(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0);
  static final List<Double> PAIR_BUCKETS = List.of(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0);
  private static final AttributeKey<String> TRANSPORT = AttributeKey.stringKey("transport");

  private final OpenTelemetrySdk sdk;
  private final HubStats stats;
  final Tracer tracer;
  private final ServerInterceptor tracingInterceptor;
  private final CreateSessionSpans createSessionSpans;
  private final GrpcOpenTelemetry grpcMetrics;
  private final RuntimeTelemetry runtime;
  private final HTTPServer prometheus;
  private final ExecutorService prometheusExecutor;
  private final ClusterTelemetry cluster = new ClusterTelemetry();
  /** True when spans are recorded (an exporter is configured); otherwise the tracer is a no-op. */
  final boolean tracing;
  final AuditLog audit;

  // Index = Labels.transport(); the extra last slot collects unknown transports (never exported).
  final LongAdder[] connections = adders();
  final LongAdder[] frames = adders();
  final LongAdder[] bytes = adders();
  final LongAdder[] stalls = adders();
  private final Attributes[] transportAttributes = new Attributes[Labels.TRANSPORTS.length + 1];
  private final DoubleHistogram hopLatency;
  private final DoubleHistogram timeToPair;
  private final ConcurrentHashMap<String, SessionState> sessions = new ConcurrentHashMap<>();

  /** What the session_end audit line reports, gathered as participants are seated. */
  private static final class SessionState {
    final long startNanos = System.nanoTime();
    /** The first participant's stream context: the trace the session_end line belongs to. */
    final Context context;
    volatile boolean paired;
    volatile AuditLog.Participant prover;
    volatile AuditLog.Participant verifier;

    SessionState(Context context) {
      this.context = context;
    }
  }

  private RelayTelemetry(TelemetrySettings config, SessionHub hub) throws IOException {
    this.stats = hub.stats();
    PrometheusMetricReader reader = config.metricsPort() >= 0 ? PrometheusMetricReader.builder().build() : null;
    this.sdk = AutoConfiguredOpenTelemetrySdk.builder()
        .addPropertiesSupplier(() -> defaults(config))
        .addPropertiesCustomizer(props -> config.properties())
        .addMeterProviderCustomizer((builder, props) -> {
          if (reader != null) {
            builder.registerMetricReader(reader);
          }
          // opentelemetry-grpc-1.6 is here for spans; grpc-opentelemetry provides the grpc_* metrics.
          builder.registerView(InstrumentSelector.builder().setMeterName("io.opentelemetry.grpc-1.6").build(),
              View.builder().setAggregation(Aggregation.drop()).build());
          // The contract (otel/ dashboards) uses the Prometheus convention jvm_cpu_recent_utilization_ratio;
          // exporter-prometheus 1.65 does not append _ratio for unit "1", so name it so here.
          return builder.registerView(InstrumentSelector.builder().setName("jvm.cpu.recent_utilization").build(),
              View.builder().setName("jvm.cpu.recent_utilization_ratio").build());
        })
        .disableShutdownHook()
        .build()
        .getOpenTelemetrySdk();
    // Without a trace exporter, spans would be recorded and held for each live session only to be
    // dropped: use no-op tracing then (it costs ~2 KiB of heap per idle session otherwise).
    boolean tracing = !"none".equals(resolved("OTEL_TRACES_EXPORTER", "otel.traces.exporter", config,
        defaults(config).get("otel.traces.exporter")));
    this.tracing = tracing;
    this.tracer = tracing ? sdk.getTracer(INSTRUMENTATION) : OpenTelemetry.noop().getTracer(INSTRUMENTATION);
    this.tracingInterceptor = tracing
        ? GrpcTelemetry.builder(sdk).setEmitMessageEvents(false).build().createServerInterceptor() : null;
    this.audit = new AuditLog(config.auditLog());
    this.createSessionSpans = new CreateSessionSpans(tracer, tracing, audit);
    this.grpcMetrics = GrpcOpenTelemetry.newBuilder().sdk(sdk).build();
    this.runtime = RuntimeTelemetry.create(sdk);
    for (int i = 0; i < Labels.TRANSPORTS.length; i++) {
      transportAttributes[i] = Attributes.of(TRANSPORT, Labels.TRANSPORTS[i]);
    }
    transportAttributes[Labels.TRANSPORTS.length] = Attributes.of(TRANSPORT, "other");

    Meter meter = sdk.getMeter(INSTRUMENTATION);
    this.hopLatency = meter.histogramBuilder("relay.hop_latency").setUnit("s")
        .setDescription("Relay-internal hop: frame read from one participant until handed to the peer's transport (sampled 1/64)")
        .setExplicitBucketBoundariesAdvice(HOP_BUCKETS).build();
    this.timeToPair = meter.histogramBuilder("relay.time_to_pair").setUnit("s")
        .setDescription("First join until both participants joined")
        .setExplicitBucketBoundariesAdvice(PAIR_BUCKETS).build();
    meter.upDownCounterBuilder("relay.connections.active").setUnit("{connection}")
        .setDescription("Open participant streams by transport")
        .buildWithCallback(m -> perTransport(connections, m::record));
    meter.upDownCounterBuilder("relay.sessions.active").setUnit("{session}")
        .setDescription("Sessions held on this node: waiting for the peer, or paired at least once")
        .buildWithCallback(m -> {
          long paired = 0;
          long all = 0;
          for (SessionState s : sessions.values()) {
            all++;
            if (s.paired) {
              paired++;
            }
          }
          m.record(all - paired, Attributes.of(AttributeKey.stringKey("state"), "waiting"));
          m.record(paired, Attributes.of(AttributeKey.stringKey("state"), "paired"));
        });
    meter.counterBuilder("relay.frames.relayed").setUnit("{frame}")
        .setDescription("Frames handed to a participant, by the receiving transport")
        .buildWithCallback(m -> perTransport(frames, m::record));
    // "{byte}", not "By": the contract name is relay_bytes_relayed_total (By would add _bytes).
    meter.counterBuilder("relay.bytes.relayed").setUnit("{byte}")
        .setDescription("Payload bytes handed to a participant, by the receiving transport")
        .buildWithCallback(m -> perTransport(bytes, m::record));
    meter.counterBuilder("relay.backpressure.stalls").setUnit("{stall}")
        .setDescription("Times a sender was paused because its peer (on this transport) could not take more")
        .buildWithCallback(m -> perTransport(stalls, m::record));
    meter.counterBuilder("relay.rejections").setUnit("{rejection}")
        .setDescription("Refused operations and streams by reason")
        .buildWithCallback(m -> {
          for (RelayError e : RelayError.values()) {
            m.record(stats.rejections(e), Attributes.of(AttributeKey.stringKey("reason"), e.metricLabel()));
          }
        });
    meter.counterBuilder("relay.session.outcomes").setUnit("{session}")
        .setDescription("paired: sessions that reached paired; every other outcome: sessions that ended")
        .buildWithCallback(m -> {
          Map<String, Long> byOutcome = new HashMap<>();
          for (String o : Labels.OUTCOMES) {
            byOutcome.put(o, 0L);
          }
          for (EndReason r : EndReason.values()) {
            if (r != EndReason.UNRECOGNIZED && r != EndReason.END_REASON_UNSPECIFIED) {
              byOutcome.merge(Labels.outcome(r), stats.outcomes(r), Long::sum);
            }
          }
          byOutcome.put("paired", stats.sessionsPaired());
          byOutcome.forEach((o, n) -> m.record(n, Attributes.of(AttributeKey.stringKey("outcome"), o)));
        });
    meter.gaugeBuilder("relay.nats.link.up").ofLongs()
        .setDescription("1 while this node's NATS link is up (cluster mode only)")
        .buildWithCallback(m -> {
          if (cluster.clusterMode()) {
            m.record(cluster.linkUp());
          }
        });
    meter.counterBuilder("relay.cross_node.frames").setUnit("{frame}")
        .setDescription("Frames exchanged with other nodes over NATS (cluster mode only)")
        .buildWithCallback(m -> {
          if (cluster.clusterMode()) {
            m.record(cluster.framesIn.sum(), Attributes.of(AttributeKey.stringKey("direction"), "in"));
            m.record(cluster.framesOut.sum(), Attributes.of(AttributeKey.stringKey("direction"), "out"));
          }
        });
    meter.counterBuilder("relay.cluster.refusals").setUnit("{message}")
        .setDescription("Messages from other relay nodes (or NATS clients) refused or ignored, by reason (cluster mode only)")
        .buildWithCallback(m -> {
          if (cluster.clusterMode()) {
            cluster.refusals.forEach((reason, n) ->
                m.record(n.sum(), Attributes.of(AttributeKey.stringKey("reason"), reason.label())));
          }
        });

    if (reader != null) {
      PrometheusRegistry registry = new PrometheusRegistry();
      registry.register(reader);
      this.prometheusExecutor = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "relay-metrics-http");
        t.setDaemon(true);
        return t;
      });
      this.prometheus = HTTPServer.builder()
          .hostname(config.bindAddress())
          .port(config.metricsPort())
          .registry(registry)
          .executorService(prometheusExecutor)
          .buildAndStart();
    } else {
      this.prometheus = null;
      this.prometheusExecutor = null;
    }
  }

  /** Starts telemetry for a relay; binds the Prometheus endpoint if {@link TelemetrySettings#metricsPort()} is not -1. */
  public static RelayTelemetry start(TelemetrySettings config, SessionHub hub) throws IOException {
    RelayTelemetry t = new RelayTelemetry(config, hub);
    hub.setListener(t);
    return t;
  }

  /**
   * Autoconfigure defaults, below OTEL_* environment variables and otel.* system properties: the
   * embedded relay needs no collector. Traces go out over OTLP as soon as an OTLP endpoint is set.
   */
  static Map<String, String> defaults(TelemetrySettings config) {
    Map<String, String> d = new HashMap<>();
    d.put("otel.service.name", "checkmate-relay");
    boolean endpoint = isSet("OTEL_EXPORTER_OTLP_ENDPOINT", "otel.exporter.otlp.endpoint", config)
        || isSet("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "otel.exporter.otlp.traces.endpoint", config);
    d.put("otel.traces.exporter", endpoint ? "otlp" : "none");
    // The Prometheus endpoint is the relay's own (metricsPort); OTEL_METRICS_EXPORTER=otlp adds a push.
    d.put("otel.metrics.exporter", "none");
    d.put("otel.logs.exporter", "none");
    return d;
  }

  /** A setting as autoconfigure resolves it: config properties, then system property, then environment. */
  private static String resolved(String env, String property, TelemetrySettings config, String fallback) {
    String v = config.properties().get(property);
    if (notBlank(v)) {
      return v.trim();
    }
    v = System.getProperty(property);
    if (notBlank(v)) {
      return v.trim();
    }
    v = System.getenv(env);
    return notBlank(v) ? v.trim() : fallback;
  }

  private static boolean isSet(String env, String property, TelemetrySettings config) {
    return notBlank(System.getenv(env)) || notBlank(System.getProperty(property))
        || notBlank(config.properties().get(property));
  }

  private static boolean notBlank(String s) {
    return s != null && !s.isBlank();
  }

  private static LongAdder[] adders() {
    LongAdder[] a = new LongAdder[Labels.TRANSPORTS.length + 1];
    for (int i = 0; i < a.length; i++) {
      a[i] = new LongAdder();
    }
    return a;
  }

  private interface LongRecorder {
    void record(long value, Attributes attributes);
  }

  private void perTransport(LongAdder[] adders, LongRecorder recorder) {
    for (int i = 0; i < Labels.TRANSPORTS.length; i++) {
      recorder.record(adders[i].sum(), transportAttributes[i]);
    }
  }

  /** Adds gRPC A66 metrics, the gRPC server spans and the relay.CreateSession span to a server. */
  public void configureServer(ServerBuilder<?> builder) {
    grpcMetrics.configureServerBuilder(builder);
    // ServerBuilder.intercept: the interceptor added last runs first, so the tracing interceptor
    // (which extracts traceparent and makes the server span current) wraps everything else.
    builder.intercept(createSessionSpans);
    if (tracingInterceptor != null) {
      builder.intercept(tracingInterceptor);
    }
  }

  /** The Prometheus endpoint's port, or -1 when disabled. */
  public int metricsPort() {
    return prometheus == null ? -1 : prometheus.getPort();
  }

  /** The hooks cluster mode feeds (NATS link state, cross-node frames). */
  public ClusterTelemetry cluster() {
    return cluster;
  }

  /** This relay's SDK (e.g. for a WebSocket transport's spans). */
  public OpenTelemetry openTelemetry() {
    return sdk;
  }

  // ------------------------------------------------------------------ HubListener

  @Override
  public Participant observe(Participant participant, Ticket ticket) {
    if (participant instanceof ObservedParticipant) {
      return participant; // re-seated (cluster hand-over): already observed
    }
    Context current = Context.current();
    StreamTelemetry stream = current.get(StreamTelemetry.KEY);
    ObservedParticipant p = new ObservedParticipant(this, participant, stream != null ? stream.parent : current,
        ticket.sessionId(), ticket.role(), stream != null ? stream.remote : null);
    if (stream != null) {
      stream.participant = p;
    }
    return p;
  }

  void seated(String sessionId, dev.checkmate.relay.proto.v1.Role role, String transport, InetAddress remote, Context context) {
    SessionState s = sessions.computeIfAbsent(sessionId, id -> new SessionState(context));
    AuditLog.Participant who = new AuditLog.Participant(transport, remote);
    if (role == dev.checkmate.relay.proto.v1.Role.PROVER) {
      s.prover = who;
    } else if (role == dev.checkmate.relay.proto.v1.Role.VERIFIER) {
      s.verifier = who;
    }
  }

  @Override
  public void paired(String sessionId, long timeToPairNanos) {
    timeToPair.record(timeToPairNanos / 1e9);
    SessionState s = sessions.get(sessionId);
    if (s != null) {
      s.paired = true;
    }
  }

  @Override
  public void ended(String sessionId, EndReason reason) {
    SessionState s = sessions.remove(sessionId);
    long ms = s != null ? TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - s.startNanos) : 0;
    audit.sessionEnded(sessionId, Labels.outcome(reason), s != null && s.paired, ms,
        s != null ? s.prover : null, s != null ? s.verifier : null, s != null ? s.context : null);
  }

  @Override
  public void evicted(String sessionId) {
    // Handed over to another node: no longer held here (relay_sessions_active), and not ended (no audit record).
    sessions.remove(sessionId);
  }

  @Override
  public void hopLatency(String transport, long nanos) {
    hopLatency.record(nanos / 1e9, transportAttributes[Labels.transport(transport)]);
  }

  @Override
  public void stalled(String transport) {
    stalls[Labels.transport(transport)].increment();
  }

  @Override
  public Connection connectionOpened(String transport, InetAddress remote) {
    return new StreamTelemetry(this, transport, remote);
  }

  /** Stops the endpoint and flushes pending spans (bounded wait). */
  @Override
  public void close() {
    if (prometheus != null) {
      prometheus.stop();
      prometheusExecutor.shutdownNow();
    }
    runtime.close();
    audit.close();
    sdk.shutdown().join(5, TimeUnit.SECONDS);
    log.debug("telemetry stopped");
  }
}
