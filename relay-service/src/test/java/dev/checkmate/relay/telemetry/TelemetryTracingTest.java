package dev.checkmate.relay.telemetry;

import static org.assertj.core.api.Assertions.assertThat;

import dev.checkmate.relay.RelayConfig;
import dev.checkmate.relay.proto.v1.CreateSessionRequest;
import dev.checkmate.relay.proto.v1.CreateSessionResponse;
import dev.checkmate.relay.proto.v1.RelayServiceGrpc;
import dev.checkmate.relay.proto.v1.ServerMessage.KindCase;
import dev.checkmate.relay.testing.OtlpReceiver;
import dev.checkmate.relay.testing.TestPeer;
import dev.checkmate.relay.testing.TestRelay;
import io.grpc.Channel;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.trace.v1.Span;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The relay's spans reach a real OTLP receiver and continue the client's W3C trace. */
class TelemetryTracingTest {
  static final String TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
  static final String CLIENT_SPAN = "00f067aa0ba902b7";

  @Test
  void wholeSessionSharesTheClientTrace() throws Exception {
    try (OtlpReceiver otlp = new OtlpReceiver()) {
      TestRelay relay = TestRelay.start(RelayConfig.builder().telemetryProperties(otlp.relayProperties()));
      String sessionHash;
      try {
        Channel traced = TelemetryFixtures.withTraceparent(relay.channel, TRACE_ID, CLIENT_SPAN);
        CreateSessionResponse s = RelayServiceGrpc.newBlockingStub(traced).createSession(CreateSessionRequest.getDefaultInstance());
        sessionHash = dev.checkmate.relay.security.SessionIdHash.of(s.getSessionId());
        TestPeer prover = TestPeer.join(traced, s.getProverTicket());
        prover.next(KindCase.JOINED);
        TestPeer verifier = TestPeer.join(traced, s.getVerifierTicket());
        verifier.next(KindCase.JOINED);
        prover.next(KindCase.PEER_JOINED);
        for (int i = 0; i < 5; i++) {
          prover.sendData(new byte[] {1, 2, 3});
          verifier.next(KindCase.DATA);
        }
        prover.terminate("done");
        prover.next(KindCase.SESSION_ENDED);
        verifier.next(KindCase.SESSION_ENDED);
        prover.awaitClose();
        verifier.awaitClose();
      } finally {
        relay.close(); // flushes the batch span processor
      }

      List<Span> spans = otlp.spans();
      String names = spans.stream().map(Span::getName).sorted().collect(Collectors.joining(", "));
      assertThat(spans).as("spans: %s", names).isNotEmpty();
      for (String name : List.of("relay.CreateSession", "relay.join", "relay.wait_for_peer", "relay.session")) {
        List<Span> named = spans.stream().filter(sp -> sp.getName().equals(name)).toList();
        assertThat(named).as("%s among %s", name, names).isNotEmpty();
        for (Span sp : named) {
          assertThat(TelemetryFixtures.hex(sp.getTraceId())).as(name + " trace id").isEqualTo(TRACE_ID);
        }
      }
      // One join and one session span per participant; the first joiner waited for the second.
      assertThat(spans.stream().filter(sp -> sp.getName().equals("relay.join"))).hasSize(2);
      List<Span> sessions = spans.stream().filter(sp -> sp.getName().equals("relay.session")).toList();
      assertThat(sessions).hasSize(2);
      for (Span sp : sessions) {
        assertThat(attr(sp, "relay.session.outcome")).contains("terminated");
        assertThat(attr(sp, "relay.session.id_hash")).contains(sessionHash);
      }
      Span wait = spans.stream().filter(sp -> sp.getName().equals("relay.wait_for_peer")).findFirst().orElseThrow();
      assertThat(attr(wait, "relay.role")).contains("prover");
      assertThat(wait.getAttributesList()).anyMatch(kv -> kv.getKey().equals("relay.paired") && kv.getValue().getBoolValue());
      // The gRPC server spans (opentelemetry-grpc-1.6) continue the client's span, and the relay's
      // own spans hang below them.
      List<Span> rpc = spans.stream().filter(sp -> sp.getName().startsWith("relay.v1.RelayService/")).toList();
      assertThat(rpc).extracting(Span::getName).contains("relay.v1.RelayService/CreateSession", "relay.v1.RelayService/Connect");
      for (Span sp : rpc) {
        assertThat(TelemetryFixtures.hex(sp.getTraceId())).isEqualTo(TRACE_ID);
        assertThat(TelemetryFixtures.hex(sp.getParentSpanId())).isEqualTo(CLIENT_SPAN);
        assertThat(sp.getKind()).isEqualTo(Span.SpanKind.SPAN_KIND_SERVER);
      }
      var rpcIds = rpc.stream().map(sp -> TelemetryFixtures.hex(sp.getSpanId())).collect(Collectors.toSet());
      for (Span sp : spans) {
        if (sp.getName().startsWith("relay.") && !sp.getName().startsWith("relay.v1.")) {
          assertThat(rpcIds).as("parent of " + sp.getName()).contains(TelemetryFixtures.hex(sp.getParentSpanId()));
        }
      }
      // Never a span per frame; no duplicate gRPC tracing (A72 spans would be named Recv./Sent./Attempt.).
      assertThat(spans).noneMatch(sp -> sp.getName().startsWith("Recv.") || sp.getName().startsWith("Sent.")
          || sp.getName().startsWith("Attempt."));
      assertThat(spans.size()).isLessThan(20);
    }
  }

  static Optional<String> attr(Span span, String key) {
    return span.getAttributesList().stream().filter(kv -> kv.getKey().equals(key)).map(KeyValue::getValue)
        .map(v -> v.getStringValue()).findFirst();
  }
}
