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
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Payloads and tickets never leave the relay through telemetry: not in any log line (at DEBUG, in
 * the JSON format), not in any span, attribute or event a collector receives, not in the metrics.
 */
class TelemetryLeakTest {
  @Test
  void payloadAndTicketsAppearNowhere() throws Exception {
    byte[] random = new byte[18];
    new SecureRandom().nextBytes(random);
    String marker = "PAYLOAD-" + HexFormat.of().formatHex(random);
    byte[] payload = marker.getBytes(StandardCharsets.US_ASCII);
    String forgedTicket = "forged-" + HexFormat.of().formatHex(random) + ".ticket";
    List<String> secrets = new ArrayList<>();
    String logs;
    String metrics;
    String traceId = HexFormat.of().formatHex(random, 0, 16);
    String joinLine;
    try (OtlpReceiver otlp = new OtlpReceiver();
        TelemetryFixtures.LogCapture capture = new TelemetryFixtures.LogCapture()) {
      // Every kind of audit line (VERBOSE), so that each is checked for leaks.
      TestRelay relay = TestRelay.start(RelayConfig.builder().metricsPort(0).telemetryProperties(otlp.relayProperties())
          .auditLog(AuditLevel.VERBOSE));
      try {
        Channel traced = TelemetryFixtures.withTraceparent(relay.channel, traceId, "00f067aa0ba902b7");
        CreateSessionResponse s = RelayServiceGrpc.newBlockingStub(traced).createSession(CreateSessionRequest.getDefaultInstance());
        secrets.add(s.getProverTicket());
        secrets.add(s.getVerifierTicket());
        // The signature part alone must not appear either (a ticket cut or re-encoded).
        secrets.add(s.getProverTicket().substring(s.getProverTicket().lastIndexOf('.') + 1));
        secrets.add(s.getVerifierTicket().substring(s.getVerifierTicket().lastIndexOf('.') + 1));
        secrets.add(marker);
        secrets.add(Base64.getEncoder().encodeToString(payload));
        secrets.add(HexFormat.of().formatHex(payload));
        secrets.add(forgedTicket);

        TestPeer prover = TestPeer.join(traced, s.getProverTicket());
        prover.next(KindCase.JOINED);
        // Frames sent before the peer joins wait in the rendezvous buffer.
        prover.sendData(payload);
        TestPeer verifier = TestPeer.join(traced, s.getVerifierTicket());
        verifier.next(KindCase.JOINED);
        verifier.next(KindCase.DATA);
        prover.next(KindCase.PEER_JOINED);
        for (int i = 0; i < 100; i++) {
          verifier.sendData(payload);
          prover.next(KindCase.DATA);
        }
        // A forged ticket is refused (and audited) without being echoed anywhere.
        try (TestPeer forged = TestPeer.join(traced, forgedTicket)) {
          forged.awaitClose();
        }
        verifier.terminate(marker); // a terminate reason is free text: it must not leak either
        prover.next(KindCase.SESSION_ENDED);
        prover.awaitClose();
        verifier.awaitClose();
        metrics = TelemetryFixtures.scrape(relay.server.metricsPort());
      } finally {
        relay.close();
      }
      logs = capture.text();
      String spans = otlp.dump();
      assertThat(otlp.spans()).hasSizeGreaterThan(5);
      assertThat(logs).contains("\"event\":\"join\"", "\"event\":\"rejection\"", "\"event\":\"session_end\"");
      for (String secret : secrets) {
        assertThat(logs).as("logs").doesNotContain(secret);
        assertThat(spans).as("spans").doesNotContain(secret);
        assertThat(metrics).as("metrics").doesNotContain(secret);
      }
      // JSON log lines carry the trace of the client (MDC from the OpenTelemetry appender).
      joinLine = logs.lines().filter(l -> l.contains("\"event\":\"join\"")).findFirst().orElseThrow();
      assertThat(joinLine).contains("\"trace_id\":\"" + traceId + "\"", "\"span_id\":", "\"role\":\"prover\"", "\"transport\":\"grpc\"");
      assertThat(logs.lines().filter(l -> l.contains("\"event\":\"rejection\"")))
          .anyMatch(l -> l.contains("\"reason\":\"bad_ticket\""));
      assertThat(logs.lines().filter(l -> l.contains("\"event\":\"session_end\"")))
          .anyMatch(l -> l.contains("\"outcome\":\"terminated\"") && l.contains("\"duration_ms\":")
              // the session's trace, as the session's spans have it
              && l.contains("\"trace_id\":\"" + traceId + "\"") && l.contains("\"prover_transport\":\"grpc\""));
    }
  }
}
