package dev.checkmate.relay.web;

import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.DATA;
import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.JOINED;
import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.PEER_JOINED;
import static org.assertj.core.api.Assertions.assertThat;

import dev.checkmate.relay.RelayConfig;
import dev.checkmate.relay.proto.v1.CreateSessionResponse;
import dev.checkmate.relay.testing.OtlpReceiver;
import dev.checkmate.relay.testing.TestPeer;
import dev.checkmate.relay.testing.TestRelay;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.trace.v1.Span;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Browser traces: the page (Chromium, test/trace-page.ts) joins with a W3C traceparent,
 * and the relay's spans of that participant (exported over OTLP to a real in-test receiver)
 * continue it. WebSocket carries it in the Join (browsers cannot set WebSocket headers); gRPC-Web
 * sends the traceparent header (served here on the relay's own HTTP port, through Envoy by gRPC).
 */
class BrowserTracingIT {
  static final String TRACE_ID = "5b8efff798038103d269b633813fc60c";
  static final String PAGE_SPAN = "eee19b7ec3c1b174";

  @BeforeAll
  static void needsBrowserAndBuild() {
    Chromium.require("trace-page.js");
  }

  @ParameterizedTest
  @CsvSource({"websocket, websocket", "grpc-web, grpc_web"})
  void theRelaysSpansOfABrowserParticipantContinueThePagesTrace(String transport, String label) throws Exception {
    try (OtlpReceiver otlp = new OtlpReceiver()) {
      TestRelay relay = TestRelay.start(RelayConfig.builder().webSocketPort(0).devStaticDir(Chromium.WEB.resolve("www"))
          .telemetryProperties(otlp.relayProperties()));
      try {
        CreateSessionResponse s = relay.createSession();
        try (TestPeer prover = relay.join(s.getProverTicket())) {
          prover.next(JOINED);
          String traceparent = "00-" + TRACE_ID + "-" + PAGE_SPAN + "-01";
          CompletableFuture<String> page = open(relay, "/trace.html#ticket=" + enc(s.getVerifierTicket()) + "&transport=" + transport
              + "&session=" + enc(s.getSessionId()) + "&traceparent=" + enc(traceparent) + "&tracestate=" + enc("checkmate=page"),
              "trace-" + transport + ".png");
          prover.next(PEER_JOINED, Duration.ofSeconds(60));
          assertThat(prover.next(DATA, Duration.ofSeconds(60)).getData().getPayload().toStringUtf8()).isEqualTo("hello from the traced page");
          prover.terminate("done");
          assertThat(page.get(90, TimeUnit.SECONDS)).contains("\"ok\":true").contains("\"reason\":\"TERMINATED\"");
        }
      } finally {
        relay.close(); // flushes the relay's spans
      }
      List<Span> spans = otlp.spans();
      String names = spans.stream().map(sp -> sp.getName() + "[" + attr(sp, "relay.transport").orElse("") + "]")
          .sorted().collect(Collectors.joining(", "));
      // The browser participant's join and session spans are children of the page's span.
      for (String name : List.of("relay.join", "relay.session")) {
        List<Span> browser = spans.stream().filter(sp -> sp.getName().equals(name))
            .filter(sp -> attr(sp, "relay.transport").orElse("").equals(label)).toList();
        assertThat(browser).as("%s over %s among %s", name, label, names).hasSize(1);
        Span sp = browser.get(0);
        assertThat(hex(sp.getTraceId().toByteArray())).as(name + " trace id").isEqualTo(TRACE_ID);
        assertThat(hex(sp.getParentSpanId().toByteArray())).as(name + " parent").isEqualTo(PAGE_SPAN);
        if (name.equals("relay.join")) {
          assertThat(sp.getTraceState()).isEqualTo("checkmate=page");
        }
      }
      // The Java peer sent no trace context: its spans are in another trace.
      assertThat(spans.stream().filter(sp -> sp.getName().equals("relay.session"))
          .filter(sp -> attr(sp, "relay.transport").orElse("").equals("grpc")))
          .isNotEmpty().allSatisfy(sp -> assertThat(hex(sp.getTraceId().toByteArray())).isNotEqualTo(TRACE_ID));
    }
  }

  private CompletableFuture<String> open(TestRelay relay, String pathAndFragment, String screenshot) throws Exception {
    return Chromium.open("http://127.0.0.1:" + relay.server.webSocketPort() + pathAndFragment, screenshot);
  }

  private static String enc(String s) {
    return Chromium.enc(s);
  }


  private static String hex(byte[] b) {
    return HexFormat.of().formatHex(b);
  }

  private static Optional<String> attr(Span span, String key) {
    return span.getAttributesList().stream().filter(kv -> kv.getKey().equals(key)).map(KeyValue::getValue)
        .map(v -> v.getStringValue()).findFirst();
  }
}
