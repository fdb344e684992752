package dev.checkmate.relay.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.checkmate.relay.RelayConfig;
import dev.checkmate.relay.RelayServer;
import dev.checkmate.relay.testing.OtlpReceiver;
import dev.checkmate.relay.testing.OtlpReceiver.Received;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.TraceFlags;
import io.opentelemetry.api.trace.TraceState;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.Scope;
import io.opentelemetry.context.propagation.ContextPropagators;
import io.opentelemetry.exporter.otlp.trace.OtlpGrpcSpanExporter;
import io.opentelemetry.proto.trace.v1.Span.SpanKind;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.export.BatchSpanProcessor;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * Traces from the Java SDK: two peers, each with its own OpenTelemetry SDK exporting to a
 * real in-test OTLP receiver, and a relay with telemetry on exporting to the same receiver. The
 * whole session is one trace, the relay's server spans are children of the SDK's gRPC client
 * spans, and no ticket, payload, terminate reason or raw session id reaches any span.
 */
class SdkTracingTest {
  static final String TRACE_ID = "0af7651916cd43dd8448eb211c80319c";
  static final String APP_SPAN = "b7ad6b7169203331";

  private static OpenTelemetrySdk sdk(OtlpReceiver otlp, String service) {
    return OpenTelemetrySdk.builder()
        .setTracerProvider(SdkTracerProvider.builder()
            .setResource(Resource.getDefault().merge(Resource.create(Attributes.of(AttributeKey.stringKey("service.name"), service))))
            .addSpanProcessor(BatchSpanProcessor.builder(OtlpGrpcSpanExporter.builder().setEndpoint(otlp.endpoint()).build())
                .setScheduleDelay(Duration.ofMillis(50)).build())
            .build())
        .setPropagators(ContextPropagators.create(W3CTraceContextPropagator.getInstance()))
        .build();
  }

  /** The application's own span (say, "verify customer"), as if it came from upstream. */
  private static Context appContext() {
    return Context.root().with(Span.wrap(SpanContext.createFromRemoteParent(
        TRACE_ID, APP_SPAN, TraceFlags.getSampled(), TraceState.getDefault())));
  }

  @Test
  void sdkAndRelaySpansOfOneSessionShareOneTrace() throws Exception {
    String payload = "PAYLOAD-" + UUID.randomUUID();
    String reply = "REPLY-" + UUID.randomUUID();
    String reason = "REASON-" + UUID.randomUUID();
    SessionInvite invite;
    try (OtlpReceiver otlp = new OtlpReceiver()) {
      RelayServer relay = RelayServer.start(RelayConfig.builder().grpcPort(0).drainTimeout(Duration.ZERO)
          .telemetryProperties(otlp.relayProperties()).build());
      OpenTelemetrySdk proverApp = sdk(otlp, "prover-app");
      OpenTelemetrySdk verifierApp = sdk(otlp, "verifier-app");
      try {
        String target = "127.0.0.1:" + relay.grpcPort();
        try (RelayClient prover = RelayClient.builder().target(target).usePlaintext().openTelemetry(proverApp).build();
             RelayClient verifier = RelayClient.builder().target(target).usePlaintext().openTelemetry(verifierApp).build();
             Scope ignored = appContext().makeCurrent()) {
          invite = prover.createSession();
          try (RelaySession p = prover.join(invite.proverTicket());
               RelaySession v = verifier.join(invite.verifierTicket())) {
            assertThat(p.awaitPeer(Duration.ofSeconds(10))).isTrue();
            p.sendBlocking(payload.getBytes(StandardCharsets.UTF_8));
            assertThat(new String(v.receive(Duration.ofSeconds(10)), StandardCharsets.UTF_8)).isEqualTo(payload);
            v.sendBlocking(reply.getBytes(StandardCharsets.UTF_8));
            assertThat(new String(p.receive(Duration.ofSeconds(10)), StandardCharsets.UTF_8)).isEqualTo(reply);
            p.terminate(reason);
            assertThatThrownBy(() -> v.receive(Duration.ofSeconds(10))).isInstanceOf(SessionEndedException.class);
          }
        }
      } finally {
        proverApp.shutdown().join(10, TimeUnit.SECONDS);
        verifierApp.shutdown().join(10, TimeUnit.SECONDS);
        relay.close(); // flushes the relay's batch span processor
      }

      List<Received> spans = otlp.received();
      String names = spans.stream().map(s -> s.service() + ":" + s.name()).sorted().collect(Collectors.joining(", "));
      // One trace: the application's, through both SDKs and the relay.
      assertThat(spans).as(names).isNotEmpty().allSatisfy(s -> assertThat(s.traceId()).as(s.name()).isEqualTo(TRACE_ID));
      List<Received> sdkSpans = spans.stream().filter(s -> !s.service().equals("checkmate-relay")).toList();
      List<Received> relaySpans = spans.stream().filter(s -> s.service().equals("checkmate-relay")).toList();
      assertThat(names(sdkSpans)).as(names).contains("relay.client.create_session", "relay.client.session", "relay.client.join",
          "relay.v1.RelayService/CreateSession", "relay.v1.RelayService/Connect");
      assertThat(names(relaySpans)).as(names).contains("relay.v1.RelayService/CreateSession", "relay.v1.RelayService/Connect",
          "relay.CreateSession", "relay.join", "relay.session");

      // The SDK's shape: app span -> create_session -> CreateSession CLIENT; app span -> session ->
      // {join, Connect CLIENT}.
      Received create = one(sdkSpans, "relay.client.create_session");
      assertThat(create.parentSpanId()).isEqualTo(APP_SPAN);
      assertThat(create.stringAttr("relay.session.id_hash")).contains(ClientTracing.sessionHash(invite.sessionId()));
      Received createRpc = one(sdkSpans, "relay.v1.RelayService/CreateSession");
      assertThat(createRpc.span().getKind()).isEqualTo(SpanKind.SPAN_KIND_CLIENT);
      assertThat(createRpc.parentSpanId()).isEqualTo(create.spanId());
      List<Received> sessions = named(sdkSpans, "relay.client.session");
      assertThat(sessions).hasSize(2);
      Set<String> sessionIds = ids(sessions);
      for (Received s : sessions) {
        assertThat(s.parentSpanId()).isEqualTo(APP_SPAN);
        assertThat(s.stringAttr("relay.session.outcome")).contains("terminated");
        assertThat(s.stringAttr("relay.session.id_hash")).contains(ClientTracing.sessionHash(invite.sessionId()));
        assertThat(s.attr("relay.frames.sent").orElseThrow().getIntValue()).isEqualTo(1);
        assertThat(s.attr("relay.frames.received").orElseThrow().getIntValue()).isEqualTo(1);
        // Sampled frame events: the first frame each way, counts only.
        assertThat(s.span().getEventsList()).filteredOn(e -> e.getName().equals("relay.client.frames")).hasSize(2);
      }
      assertThat(sessions).extracting(s -> s.stringAttr("relay.role").orElse("?")).containsExactlyInAnyOrder("prover", "verifier");
      for (Received j : named(sdkSpans, "relay.client.join")) {
        assertThat(sessionIds).contains(j.parentSpanId());
      }
      List<Received> connectRpc = named(sdkSpans, "relay.v1.RelayService/Connect");
      assertThat(connectRpc).hasSize(2).allSatisfy(c -> {
        assertThat(c.span().getKind()).isEqualTo(SpanKind.SPAN_KIND_CLIENT);
        assertThat(sessionIds).contains(c.parentSpanId());
        assertThat(c.span().getEventsList()).as("no per-message events").isEmpty();
      });

      // The relay's server spans are children of the SDK's client spans, and its own spans hang below.
      Received createServer = relaySpans.stream().filter(s -> s.name().equals("relay.v1.RelayService/CreateSession")).findFirst().orElseThrow();
      assertThat(createServer.span().getKind()).isEqualTo(SpanKind.SPAN_KIND_SERVER);
      assertThat(createServer.parentSpanId()).isEqualTo(createRpc.spanId());
      List<Received> connectServer = named(relaySpans, "relay.v1.RelayService/Connect");
      assertThat(connectServer).hasSize(2);
      assertThat(connectServer.stream().map(Received::parentSpanId).collect(Collectors.toSet())).isEqualTo(ids(connectRpc));
      assertThat(named(relaySpans, "relay.session")).hasSize(2)
          .allSatisfy(s -> assertThat(ids(connectServer)).contains(s.parentSpanId()));

      // Nothing secret anywhere in what was exported (SDK and relay, attributes, events, resources).
      String dump = otlp.dump();
      for (String secret : List.of(invite.proverTicket(), invite.verifierTicket(), invite.sessionId(), payload, reply, reason)) {
        assertThat(dump).doesNotContain(secret);
      }
      assertThat(spans.size()).as("never a span per frame: " + names).isLessThan(30);
    }
  }

  @Test
  void withoutOpenTelemetryTheSdkSendsNoTraceContext() throws Exception {
    try (OtlpReceiver otlp = new OtlpReceiver()) {
      RelayServer relay = RelayServer.start(RelayConfig.builder().grpcPort(0).drainTimeout(Duration.ZERO)
          .telemetryProperties(otlp.relayProperties()).build());
      try (RelayClient client = RelayClient.builder().target("127.0.0.1:" + relay.grpcPort()).usePlaintext().build();
           Scope ignored = appContext().makeCurrent()) {
        SessionInvite invite = client.createSession();
        try (RelaySession p = client.join(invite.proverTicket())) {
          p.terminate("done");
        }
      } finally {
        relay.close();
      }
      List<Received> rpc = otlp.received().stream().filter(s -> s.name().startsWith("relay.v1.RelayService/")).toList();
      assertThat(rpc).isNotEmpty().allSatisfy(s -> {
        assertThat(s.service()).isEqualTo("checkmate-relay");
        assertThat(s.span().getParentSpanId().isEmpty()).as("no traceparent was sent").isTrue();
        assertThat(s.traceId()).isNotEqualTo(TRACE_ID);
      });
    }
  }

  private static List<String> names(List<Received> spans) {
    return spans.stream().map(Received::name).toList();
  }

  private static List<Received> named(List<Received> spans, String name) {
    return spans.stream().filter(s -> s.name().equals(name)).toList();
  }

  private static Received one(List<Received> spans, String name) {
    List<Received> l = named(spans, name);
    assertThat(l).as(name).hasSize(1);
    return l.get(0);
  }

  private static Set<String> ids(List<Received> spans) {
    return spans.stream().map(Received::spanId).collect(Collectors.toSet());
  }
}
