package dev.checkmate.relay.envoy;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Every envoy/*.yaml must pass the whole checker; plus a few direct facts about envoy.yaml. */
class EnvoyYamlFilesTest {

  static Stream<Path> configs() {
    return EnvoyFiles.allConfigs().stream();
  }

  @Test
  void theProductionConfigIsPresent() {
    assertThat(EnvoyFiles.mainConfig()).isRegularFile();
    assertThat(EnvoyFiles.allConfigs()).contains(EnvoyFiles.mainConfig());
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("configs")
  void passesEveryCheck(Path file) {
    EnvoyConfigChecker.Report report = EnvoyConfigChecker.check(file);
    assertThat(report.problems()).as(report.toString()).isEmpty();
    assertThat(report.bootstrap()).isNotNull();
  }

  @Test
  void envoyYamlHasTheExpectedShape() throws Exception {
    Bootstrap b = EnvoyConfigLoader.load(EnvoyFiles.mainConfig());
    List<String> listeners = b.getStaticResources().getListenersList().stream().map(Listener::getName).toList();
    List<String> clusters = b.getStaticResources().getClustersList().stream().map(Cluster::getName).toList();
    assertThat(listeners).containsExactly("edge_https", "edge_mtls", "envoy_stats");
    assertThat(clusters).containsExactly("envoy_admin", "relay_grpc", "relay_ws", "otel_collector");

    Listener https = b.getStaticResources().getListeners(0);
    assertThat(https.getAddress().getSocketAddress().getPortValue()).isEqualTo(8443);
    Listener mtls = b.getStaticResources().getListeners(1);
    assertThat(mtls.getAddress().getSocketAddress().getPortValue()).isEqualTo(8444);

    HttpConnectionManager hcm = https.getFilterChains(0).getFilters(0).getTypedConfig().unpack(HttpConnectionManager.class);
    assertThat(hcm.getHttpFiltersList().stream().map(f -> f.getName()).toList()).containsExactly(
        "envoy.filters.http.health_check", "envoy.filters.http.cors", "envoy.filters.http.grpc_web",
        "envoy.filters.http.local_ratelimit",
        "envoy.filters.http.router");
    var streams = hcm.getRouteConfig().getVirtualHosts(0).getRoutesList().stream()
        .filter(r -> r.getName().equals("relay_streams") || r.getName().equals("relay_ws")).toList();
    assertThat(streams).hasSize(2).allSatisfy(r -> {
      assertThat(r.getRoute().hasTimeout()).isTrue();
      assertThat(r.getRoute().getTimeout().getSeconds()).isZero();
      assertThat(r.getRoute().getIdleTimeout().getSeconds()).isGreaterThan(RelayEdgeRules.HEARTBEAT_SECONDS);
    });
    for (Cluster c : b.getStaticResources().getClustersList().subList(1, 3)) {
      assertThat(c.getLbPolicy()).isEqualTo(Cluster.LbPolicy.RING_HASH);
    }
  }
}
