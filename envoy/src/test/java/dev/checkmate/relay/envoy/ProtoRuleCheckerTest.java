package dev.checkmate.relay.envoy;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Any;
import com.google.protobuf.ByteString;
import com.google.protobuf.Duration;
import com.google.protobuf.UInt32Value;
import com.google.protobuf.UInt64Value;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.HealthCheck;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.route.v3.CorsPolicy;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit;
import io.envoyproxy.envoy.type.v3.TokenBucket;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The reflective PGV checker itself, on hand-built messages. */
class ProtoRuleCheckerTest {

  private final ProtoRuleChecker checker = new ProtoRuleChecker(EnvoyConfigLoader.registry());

  private static Duration seconds(long s) {
    return Duration.newBuilder().setSeconds(s).build();
  }

  private static HealthCheck.Builder validHealthCheck() {
    return HealthCheck.newBuilder()
        .setTimeout(seconds(2))
        .setInterval(seconds(5))
        .setUnhealthyThreshold(UInt32Value.of(2))
        .setHealthyThreshold(UInt32Value.of(2))
        .setGrpcHealthCheck(HealthCheck.GrpcHealthCheck.newBuilder().setServiceName("relay.v1.RelayService"));
  }

  @Test
  void aValidMessageHasNoViolations() {
    assertThat(checker.validate(validHealthCheck().build())).isEmpty();
  }

  @Test
  void requiredMessagesAndRequiredOneofsAreEnforced() {
    List<String> v = checker.validate(HealthCheck.newBuilder().setTimeout(seconds(1)).setInterval(seconds(1)).build());
    assertThat(v).containsExactlyInAnyOrder(
        "HealthCheck.unhealthy_threshold: is required",
        "HealthCheck.healthy_threshold: is required",
        "HealthCheck: one of [http_health_check, tcp_health_check, grpc_health_check, custom_health_check] is required (oneof health_checker)");
  }

  @Test
  void durationBoundsAreEnforced() {
    assertThat(checker.validate(validHealthCheck().setTimeout(seconds(0)).build()))
        .containsExactly("HealthCheck.timeout: must be > 0s, is 0s");
  }

  @Test
  void unsetOneofMembersAreNotChecked() {
    // cluster_header (min_len 1) and weighted_clusters are other members of the same oneof
    assertThat(checker.validate(RouteAction.newBuilder().setCluster("relay_grpc").build())).isEmpty();
  }

  @Test
  void theChosenOneofMemberIsChecked() {
    assertThat(checker.validate(RouteAction.newBuilder().setCluster("").build()))
        .containsExactly("RouteAction.cluster: must be at least 1 character(s), is \"\"");
  }

  @Test
  void wrapperTypesCarryTheScalarRules() {
    Cluster c = Cluster.newBuilder().setName("c")
        .setRingHashLbConfig(Cluster.RingHashLbConfig.newBuilder().setMinimumRingSize(UInt64Value.of(10_000_000)))
        .build();
    assertThat(checker.validate(c)).containsExactly(
        "Cluster.ring_hash_lb_config.minimum_ring_size: must be <= 8388608, is 10000000");
  }

  @Test
  void enumsMustBeDefined() {
    Cluster c = Cluster.newBuilder().setName("c").setLbPolicyValue(99).build();
    assertThat(checker.validate(c)).containsExactly(
        "Cluster.lb_policy: 99 is not a defined value of envoy.config.cluster.v3.Cluster.LbPolicy");
  }

  @Test
  void repeatedRulesAndItemRulesAreEnforced() {
    assertThat(checker.validate(VirtualHost.newBuilder().setName("vh").build()))
        .containsExactly("VirtualHost.domains: needs at least 1 item(s), has 0");
    assertThat(checker.validate(VirtualHost.newBuilder().setName("vh").addDomains("a\nb").build()))
        .containsExactly("VirtualHost.domains[0]: is not a valid HTTP header value");
  }

  @Test
  void typedConfigsAreUnpackedAndChecked() {
    LocalRateLimit rl = LocalRateLimit.newBuilder()
        .setStatPrefix("")
        .setTokenBucket(TokenBucket.newBuilder().setMaxTokens(0).setFillInterval(seconds(1)))
        .build();
    Filter f = Filter.newBuilder().setName("x").setTypedConfig(Any.pack(rl)).build();
    assertThat(checker.validate(f)).containsExactlyInAnyOrder(
        "Filter.typed_config<LocalRateLimit>.stat_prefix: must be at least 1 character(s), is \"\"",
        "Filter.typed_config<LocalRateLimit>.token_bucket.max_tokens: must be > 0, is 0");
  }

  @Test
  void unresolvableTypedConfigIsReported() {
    Any bogus = Any.newBuilder().setTypeUrl("type.googleapis.com/not.a.Type").setValue(ByteString.EMPTY).build();
    Filter f = Filter.newBuilder().setName("x").setTypedConfig(bogus).build();
    assertThat(checker.validate(f)).containsExactly("Filter.typed_config: cannot resolve @type type.googleapis.com/not.a.Type");
  }

  @Test
  @SuppressWarnings("deprecation")
  void deprecatedFieldsAreFlaggedOnlyWhenSet() {
    VirtualHost plain = VirtualHost.newBuilder().setName("vh").addDomains("*").build();
    assertThat(checker.deprecations(plain)).isEmpty();
    VirtualHost legacy = plain.toBuilder().setCors(CorsPolicy.newBuilder().setMaxAge("60")).build();
    assertThat(checker.deprecations(legacy)).containsExactly(
        "VirtualHost.cors: deprecated field envoy.config.route.v3.VirtualHost.cors is set");
  }
}
