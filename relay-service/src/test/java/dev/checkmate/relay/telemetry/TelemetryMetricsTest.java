package dev.checkmate.relay.telemetry;

import static org.assertj.core.api.Assertions.assertThat;

import dev.checkmate.relay.RelayConfig;
import dev.checkmate.relay.proto.v1.CreateSessionResponse;
import dev.checkmate.relay.proto.v1.ServerMessage.KindCase;
import dev.checkmate.relay.testing.TestPeer;
import dev.checkmate.relay.testing.TestRelay;
import io.grpc.Status;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The Prometheus endpoint after a real session: the relay_* contract of otel/ (names and label values). */
class TelemetryMetricsTest {
  static final int FRAMES = 200;
  static TestRelay relay;
  static String metrics;

  /** One scraped sample: name, labels, value. */
  record Sample(String name, Map<String, String> labels, double value) {}

  @BeforeAll
  static void runSessionAndScrape() throws Exception {
    relay = TestRelay.start(RelayConfig.builder().metricsPort(0));
    CreateSessionResponse s = relay.createSession();
    try (TestPeer prover = relay.join(s.getProverTicket())) {
      prover.next(KindCase.JOINED);
      try (TestPeer verifier = relay.join(s.getVerifierTicket())) {
        verifier.next(KindCase.JOINED);
        for (int i = 0; i < FRAMES; i++) {
          prover.sendData(new byte[100]);
          verifier.next(KindCase.DATA);
        }
        prover.terminate("done");
        verifier.next(KindCase.SESSION_ENDED);
      }
    }
    // A refused join: counted by reason.
    try (TestPeer bad = relay.join("not-a-ticket")) {
      assertThat(bad.awaitClose().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
    }
    // Cluster mode would report its link; simulate it so the cluster series exist too.
    relay.server.telemetry().orElseThrow().cluster().linkUp(true);
    TestRelay.await("streams closed", () -> relay.server.hub().sessionCount() == 0);
    System.gc(); // so jvm_gc_duration_seconds (used by the dashboard) has a sample
    Thread.sleep(300);
    metrics = TelemetryFixtures.scrape(relay.server.metricsPort());
  }

  @AfterAll
  static void stop() throws Exception {
    relay.close();
  }

  static List<Sample> samples(String text) {
    List<Sample> out = new ArrayList<>();
    Pattern line = Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{(.*)\\})?\\s+(\\S+).*$");
    Pattern label = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\"");
    for (String l : text.split("\n")) {
      if (l.startsWith("#") || l.isBlank()) {
        continue;
      }
      Matcher m = line.matcher(l);
      if (!m.matches()) {
        continue;
      }
      Map<String, String> labels = new HashMap<>();
      if (m.group(3) != null) {
        Matcher lm = label.matcher(m.group(3));
        while (lm.find()) {
          labels.put(lm.group(1), lm.group(2));
        }
      }
      out.add(new Sample(m.group(1), labels, Double.parseDouble(m.group(4))));
    }
    return out;
  }

  static double value(String name, String label, String labelValue) {
    return samples(metrics).stream()
        .filter(s -> s.name().equals(name) && (label == null || labelValue.equals(s.labels().get(label))))
        .mapToDouble(Sample::value).sum();
  }

  static Set<String> names() {
    Set<String> n = new TreeSet<>();
    samples(metrics).forEach(s -> n.add(s.name()));
    return n;
  }

  @Test
  void relayContractSeries() {
    assertThat(names()).contains(
        "relay_connections_active", "relay_sessions_active",
        "relay_time_to_pair_seconds_bucket", "relay_time_to_pair_seconds_count", "relay_time_to_pair_seconds_sum",
        "relay_hop_latency_seconds_bucket", "relay_hop_latency_seconds_count",
        "relay_frames_relayed_total", "relay_bytes_relayed_total", "relay_rejections_total",
        "relay_session_outcomes_total", "relay_backpressure_stalls_total",
        "relay_nats_link_up", "relay_cross_node_frames_total");
    assertThat(value("relay_frames_relayed_total", "transport", "grpc")).isGreaterThanOrEqualTo(FRAMES);
    assertThat(value("relay_bytes_relayed_total", "transport", "grpc")).isGreaterThanOrEqualTo(FRAMES * 100);
    assertThat(value("relay_hop_latency_seconds_count", "transport", "grpc")).isGreaterThanOrEqualTo(FRAMES / 64);
    assertThat(value("relay_time_to_pair_seconds_count", null, null)).isEqualTo(1);
    assertThat(value("relay_session_outcomes_total", "outcome", "paired")).isEqualTo(1);
    assertThat(value("relay_session_outcomes_total", "outcome", "terminated")).isEqualTo(1);
    assertThat(value("relay_rejections_total", "reason", "bad_ticket")).isEqualTo(1);
    assertThat(value("relay_sessions_active", "state", "paired")).isEqualTo(0);
    assertThat(value("relay_connections_active", "transport", "grpc")).isEqualTo(0);
    assertThat(value("relay_nats_link_up", null, null)).isEqualTo(1);
    // The hop-latency buckets of the contract.
    Set<String> le = new TreeSet<>();
    samples(metrics).stream().filter(s -> s.name().equals("relay_hop_latency_seconds_bucket")).forEach(s -> le.add(s.labels().get("le")));
    assertThat(le).contains("1.0E-4", "2.5E-4", "5.0E-4", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "1.0", "+Inf");
  }

  @Test
  void boundedLabelValuesOnly() {
    Map<String, Set<String>> allowed = Map.of(
        "transport", Set.of("grpc", "websocket", "grpc_web"),
        "state", Set.of("waiting", "paired"),
        "outcome", Set.of("paired", "peer_never_joined", "expired", "idle", "rejected", "terminated", "error", "shutdown"),
        "direction", Set.of("in", "out"));
    for (Sample s : samples(metrics)) {
      if (!s.name().startsWith("relay_")) {
        continue;
      }
      allowed.forEach((label, values) -> {
        if (s.labels().containsKey(label)) {
          assertThat(values).as(s.toString()).contains(s.labels().get(label));
        }
      });
      assertThat(s.labels().keySet()).as("labels of " + s.name())
          .isSubsetOf("transport", "state", "outcome", "direction", "reason", "le", "otel_scope_name", "otel_scope_version", "otel_scope_schema_url");
    }
  }

  @Test
  void grpcAndJvmSeries() {
    assertThat(names()).contains("grpc_server_call_started_total", "grpc_server_call_duration_seconds_bucket",
        "jvm_memory_used_bytes", "jvm_memory_limit_bytes", "jvm_thread_count", "jvm_cpu_recent_utilization_ratio");
    assertThat(samples(metrics)).anyMatch(s -> s.name().equals("jvm_memory_limit_bytes") && "heap".equals(s.labels().get("jvm_memory_type")));
    assertThat(samples(metrics)).anyMatch(s -> s.name().equals("grpc_server_call_started_total")
        && "relay.v1.RelayService/Connect".equals(s.labels().get("grpc_method")));
    // rpc.* semconv metrics of the tracing interceptor are dropped (no duplicate RED metrics).
    assertThat(names()).noneMatch(n -> n.startsWith("rpc_"));
  }

  /** Every relay_/grpc_server_/jvm_ metric the alerts and dashboards of otel/ use is served (check_configs.py contract). */
  @Test
  void otelConfigsMatchWhatTheRelayEmits() throws Exception {
    Path otel = Path.of("..", "otel");
    List<Path> files = new ArrayList<>(List.of(otel.resolve("prometheus/alerts.yml")));
    try (var dashboards = Files.list(otel.resolve("grafana/dashboards"))) {
      dashboards.filter(p -> p.toString().endsWith(".json")).forEach(files::add);
    }
    Set<String> served = names();
    Pattern metric = Pattern.compile("\\b((?:relay|grpc_server|jvm)_[a-z0-9_]+)");
    Set<String> missing = new TreeSet<>();
    int used = 0;
    for (Path f : files) {
      // As check_configs.py does: drop label names in by(...) clauses and in matchers first.
      String text = Files.readString(f)
          .replaceAll("\\b(by|without|on|ignoring|group_left|group_right)\\s*\\([^)]*\\)", " ")
          .replaceAll("\\b\\w+\\s*(=~|!~|!=|=(?!=))", " ")
          .replaceAll("\\{\\{[^}]*\\}\\}", " "); // legend templates: {{jvm_gc_name}}
      Matcher m = metric.matcher(text);
      while (m.find()) {
        String name = m.group(1);
        if (name.startsWith("relay_grpc") || name.startsWith("relay_ws")) {
          continue; // Envoy cluster names (envoy_cluster_name=~"relay_.*"), not metrics
        }
        used++;
        if (!served.contains(name)) {
          missing.add(name + " (" + f.getFileName() + ")");
        }
      }
    }
    assertThat(used).isGreaterThan(10);
    assertThat(missing).as("used in otel/ but not served by the relay").isEmpty();
  }
}
