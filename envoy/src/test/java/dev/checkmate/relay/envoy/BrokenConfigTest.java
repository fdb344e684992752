package dev.checkmate.relay.envoy;

import static dev.checkmate.relay.envoy.ConfigTree.cluster;
import static dev.checkmate.relay.envoy.ConfigTree.endpointMetadataLb;
import static dev.checkmate.relay.envoy.ConfigTree.hcm;
import static dev.checkmate.relay.envoy.ConfigTree.httpFilter;
import static dev.checkmate.relay.envoy.ConfigTree.jsonLogFormat;
import static dev.checkmate.relay.envoy.ConfigTree.remove;
import static dev.checkmate.relay.envoy.ConfigTree.rename;
import static dev.checkmate.relay.envoy.ConfigTree.route;
import static dev.checkmate.relay.envoy.ConfigTree.tls;
import static dev.checkmate.relay.envoy.ConfigTree.virtualHost;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Broken copies of the real envoy.yaml, built in memory, must be rejected by the same checker that
 * accepts the original, each with a message that names the problem.
 */
class BrokenConfigTest {

  private static String yaml;
  private static JsonNode original;

  @BeforeAll
  static void load() throws Exception {
    yaml = Files.readString(EnvoyFiles.mainConfig());
    original = EnvoyConfigLoader.readYaml(yaml, "envoy.yaml");
  }

  @Test
  void theUnmodifiedTreeIsAccepted() {
    // the baseline for every mutant: the same code path with no change must pass
    EnvoyConfigChecker.Report r = EnvoyConfigChecker.check(original.deepCopy(), "envoy.yaml (tree)");
    assertThat(r.problems()).as(r.toString()).isEmpty();
  }

  private static Arguments tree(String name, Consumer<ObjectNode> mutation, String stage, String... expected) {
    return Arguments.of(name, mutation, stage, List.of(expected));
  }

  static Stream<Arguments> treeMutants() {
    return Stream.of(
        // ---- parse: typos and spelling -------------------------------------------------------
        tree("field-name typo inside a typed_config (HCM)",
            r -> rename(hcm(r, "edge_https"), "stat_prefix", "stat_prefx"),
            "[parse]", "Cannot find field: stat_prefx"),
        tree("stats listener exposing the whole admin interface",
            r -> ((ObjectNode) route(r, "envoy_stats", "prometheus_stats").path("match")).removeAll().put("prefix", "/"),
            "[relay]", "envoy_stats", "forwards to the admin interface beyond /stats/prometheus"),
        tree("stats listener forwarding to a relay is treated as an edge listener and fails its checks",
            r -> ((ObjectNode) route(r, "envoy_stats", "prometheus_stats").path("route")).put("cluster", "relay_grpc"),
            "[relay]", "envoy_stats", "no TLS transport socket"),
        tree("field-name typo in a cluster",
            r -> rename(cluster(r, "relay_grpc"), "connect_timeout", "connect_timout"),
            "[parse]", "connect_timout"),
        tree("unknown @type",
            r -> ((ObjectNode) httpFilter(r, "edge_https", RelayEdgeRules.ROUTER).path("typed_config"))
                .put("@type", "type.googleapis.com/envoy.extensions.filters.http.router.v3.Routr"),
            "[parse]", "router.v3.Routr"),
        tree("lower-case enum (Envoy accepts it, the checker insists on UPPERCASE)",
            r -> cluster(r, "relay_grpc").put("lb_policy", "ring_hash"),
            "[parse]", "ring_hash"),
        tree("duration without a unit",
            r -> route(r, "edge_https", "relay_streams").withObjectProperty("route").put("timeout", "0"),
            "[parse]", "Failed to parse duration: \"0\""),
        tree("TLS version spelled with a dot",
            r -> tls(r, "edge_https").withObjectProperty("common_tls_context").withObjectProperty("tls_params")
                .put("tls_minimum_protocol_version", "TLSv1.3"),
            "[parse]", "TLSv1.3"),

        // ---- PGV rules and deprecations -----------------------------------------------------
        tree("health check without unhealthy_threshold (PGV required)",
            r -> remove((ObjectNode) cluster(r, "relay_grpc").path("health_checks").path(0), "unhealthy_threshold"),
            "[pgv]", "unhealthy_threshold: is required"),
        tree("empty stat_prefix (PGV min_len)",
            r -> hcm(r, "edge_https").put("stat_prefix", ""),
            "[pgv]", "stat_prefix: must be at least 1 character"),
        tree("token bucket with max_tokens 0 (PGV gt 0), inside an Any",
            r -> ((ObjectNode) httpFilter(r, "edge_https", RelayEdgeRules.LOCAL_RL).path("typed_config")
                .path("token_bucket")).put("max_tokens", 0),
            "[pgv]", "<LocalRateLimit>.token_bucket.max_tokens: must be > 0"),
        tree("deprecated VirtualHost.cors",
            r -> virtualHost(r, "edge_https").withObjectProperty("cors").putArray("allow_origin_string_match")
                .addObject().put("exact", "https://app.example.com"),
            "[deprecated]", "VirtualHost.cors"),

        // ---- timeouts ------------------------------------------------------------------------
        tree("15s timeout on the gRPC stream route",
            r -> route(r, "edge_https", "relay_streams").withObjectProperty("route").put("timeout", "15s"),
            "[relay]", "relay_streams", "timeout is 15s", "timeout: 0s"),
        tree("15s timeout on the native (mTLS) stream route",
            r -> route(r, "edge_mtls", "relay_streams").withObjectProperty("route").put("timeout", "15s"),
            "[relay]", "listener edge_mtls", "timeout is 15s"),
        tree("WebSocket route without a timeout (Envoy default 15s)",
            r -> remove(route(r, "edge_https", "relay_ws").withObjectProperty("route"), "timeout"),
            "[relay]", "relay_ws", "default 15s"),
        tree("idle timeout below the heartbeat",
            r -> route(r, "edge_https", "relay_ws").withObjectProperty("route").put("idle_timeout", "20s"),
            "[relay]", "idle timeout 20s is too short for the 30s client heartbeat"),
        tree("max_stream_duration on a stream route",
            r -> route(r, "edge_https", "relay_streams").withObjectProperty("route").withObjectProperty("max_stream_duration")
                .put("max_stream_duration", "3600s"),
            "[relay]", "max_stream_duration 3600s cuts healthy long streams"),
        tree("request_timeout on the connection manager",
            r -> hcm(r, "edge_https").put("request_timeout", "60s"),
            "[relay]", "request_timeout 60s cuts streams"),

        // ---- TLS -----------------------------------------------------------------------------
        tree("TLSv1_2 minimum",
            r -> tls(r, "edge_https").withObjectProperty("common_tls_context").withObjectProperty("tls_params")
                .put("tls_minimum_protocol_version", "TLSv1_2"),
            "[relay]", "listener edge_https", "TLS minimum protocol version is TLSv1_2"),
        tree("no TLS maximum on the mTLS listener",
            r -> remove(tls(r, "edge_mtls").withObjectProperty("common_tls_context").withObjectProperty("tls_params"), "tls_maximum_protocol_version"),
            "[relay]", "listener edge_mtls", "TLS maximum protocol version is TLS_AUTO"),
        tree("ALPN without http/1.1",
            r -> tls(r, "edge_https").withObjectProperty("common_tls_context").putArray("alpn_protocols").add("h2"),
            "[relay]", "ALPN is [h2]"),
        tree("browser listener asks for client certificates",
            r -> tls(r, "edge_https").withObjectProperty("common_tls_context").withObjectProperty("validation_context").withObjectProperty("trusted_ca")
                .put("filename", "/etc/envoy/tls/client-ca.crt"),
            "[relay]", "listener edge_https", "asks", "browsers"),
        tree("mTLS listener does not require the certificate",
            r -> tls(r, "edge_mtls").put("require_client_certificate", false),
            "[relay]", "no listener requires client certificates"),
        tree("mTLS listener trusts the client's x-forwarded-client-cert",
            r -> hcm(r, "edge_mtls").put("forward_client_cert_details", "APPEND_FORWARD"),
            "[relay]", "forward_client_cert_details is APPEND_FORWARD", "SANITIZE_SET"),
        tree("browser listener forwards x-forwarded-client-cert",
            r -> hcm(r, "edge_https").put("forward_client_cert_details", "FORWARD_ONLY"),
            "[relay]", "must be SANITIZE"),

        // ---- routing / hashing ---------------------------------------------------------------
        tree("route pointing at a missing cluster",
            r -> route(r, "edge_https", "relay_ws").withObjectProperty("route").put("cluster", "relay_websocket"),
            "[relay]", "cluster 'relay_websocket', which does not exist"),
        tree("mismatched hash keys",
            r -> endpointMetadataLb(r, "relay_ws", 1).put("hash_key", "relay-2"),
            "[relay]", "hash keys differ", "relay_grpc [relay-0, relay-1]", "relay_ws [relay-0, relay-2]"),
        tree("hash keys swapped between hosts",
            r -> {
              endpointMetadataLb(r, "relay_ws", 0).put("hash_key", "relay-1");
              endpointMetadataLb(r, "relay_ws", 1).put("hash_key", "relay-0");
            },
            "[relay]", "hash keys map to different hosts"),
        tree("endpoint without hash_key",
            r -> remove((ObjectNode) cluster(r, "relay_grpc").path("load_assignment").path("endpoints").path(0)
                .path("lb_endpoints").path(0), "metadata"),
            "[relay]", "has no metadata filter_metadata[\"envoy.lb\"].hash_key"),
        tree("hash policy onto a ROUND_ROBIN cluster",
            r -> {
              cluster(r, "relay_ws").put("lb_policy", "ROUND_ROBIN");
              remove(cluster(r, "relay_ws"), "ring_hash_lb_config");
            },
            "[relay]", "cluster relay_ws uses ROUND_ROBIN", "RING_HASH or MAGLEV"),
        tree("gRPC stream hashed on the wrong header",
            r -> ((ObjectNode) route(r, "edge_mtls", "relay_streams").path("route").path("hash_policy").path(0)
                .path("header")).put("header_name", "x-session"),
            "[relay]", "must hash on the x-session-id header"),
        tree("WebSocket hashed on a header instead of the query",
            r -> {
              ObjectNode p = (ObjectNode) route(r, "edge_https", "relay_ws").path("route").path("hash_policy").path(0);
              p.remove("query_parameter");
              p.withObjectProperty("header").put("header_name", "x-session-id");
            },
            "[relay]", "must hash on the 'session' query parameter"),
        tree("no route for the WebSocket path",
            r -> route(r, "edge_https", "relay_ws").withObjectProperty("match").put("path", "/websocket"),
            "[relay]", "no route for /ws?session="),
        tree("route without a path matcher (PGV oneof required)",
            r -> remove(route(r, "edge_https", "relay_ws").withObjectProperty("match"), "path"),
            "[pgv]", "is required (oneof path_specifier)"),
        tree("gRPC route restricted to application/grpc (misses gRPC-Web and CORS preflights)",
            r -> route(r, "edge_https", "relay_streams").withObjectProperty("match").putObject("grpc"),
            "[relay]", "CORS preflights and gRPC-Web"),

        // ---- WebSocket upgrades ----------------------------------------------------------------
        tree("WebSocket enabled for the whole connection manager",
            r -> ((ObjectNode) hcm(r, "edge_https").path("upgrade_configs").path(0)).put("enabled", true),
            "[relay]", "enabled for the whole connection manager"),
        tree("WebSocket upgrade on the gRPC stream route",
            r -> route(r, "edge_https", "relay_streams").withObjectProperty("route").putArray("upgrade_configs")
                .addObject().put("upgrade_type", "websocket").put("enabled", true),
            "[relay]", "relay_streams", "allowed only on the exact path /ws route"),
        tree("WebSocket upgrade missing on /ws",
            r -> remove(route(r, "edge_https", "relay_ws").withObjectProperty("route"), "upgrade_configs"),
            "[relay]", "WebSocket upgrade is not enabled on the /ws route"),

        // ---- health checks / upstream protocol / limits ----------------------------------------
        tree("gRPC cluster with an HTTP health check",
            r -> {
              ObjectNode hc = (ObjectNode) cluster(r, "relay_grpc").path("health_checks").path(0);
              hc.remove("grpc_health_check");
              hc.putObject("http_health_check").put("path", "/healthz");
            },
            "[relay]", "cluster relay_grpc", "no gRPC health check"),
        tree("WebSocket cluster health-checking the wrong path",
            r -> ((ObjectNode) cluster(r, "relay_ws").path("health_checks").path(0).path("http_health_check"))
                .put("path", "/health"),
            "[relay]", "cluster relay_ws", "no HTTP health check on /healthz"),
        tree("gRPC cluster not HTTP/2",
            r -> remove(cluster(r, "relay_grpc"), "typed_extension_protocol_options"),
            "[relay]", "cluster relay_grpc", "not HTTP/2 upstream"),
        tree("default circuit breakers on the gRPC cluster",
            r -> remove(cluster(r, "relay_grpc"), "circuit_breakers"),
            "[relay]", "max_requests 1024 caps open streams"),
        tree("WebSocket cluster capped at 1024 connections",
            r -> ((ObjectNode) cluster(r, "relay_ws").path("circuit_breakers").path("thresholds").path(0))
                .put("max_connections", 1024),
            "[relay]", "max_connections 1024 caps WebSockets"),
        tree("no HTTP/2 keepalive downstream",
            r -> remove(hcm(r, "edge_mtls").withObjectProperty("http2_protocol_options"), "connection_keepalive"),
            "[relay]", "listener edge_mtls", "no HTTP/2 keepalive"),
        tree("rate limiter left disabled (filter_enabled unset)",
            r -> remove((ObjectNode) httpFilter(r, "edge_https", RelayEdgeRules.LOCAL_RL).path("typed_config"), "filter_enabled"),
            "[relay]", "filter_enabled is 0%"),
        tree("no rate limiter on the mTLS listener",
            r -> ((ArrayNode) hcm(r, "edge_mtls").path("http_filters")).remove(0),
            "[relay]", "listener edge_mtls", "no envoy.filters.http.local_ratelimit filter"),

        // ---- per-client rate limits ----------------------------------------------------------
        tree("one bucket for every client: no per-client descriptor",
            r -> remove(limiter(r, "edge_https"), "descriptors"),
            "[relay]", "listener edge_https", "no per-client descriptor", "shared by every client"),
        tree("one bucket for every client: no rate_limits action naming the client",
            r -> remove(limiter(r, "edge_mtls"), "rate_limits"),
            "[relay]", "listener edge_mtls", "no per-client rate limit", "masked_remote_address"),
        tree("per-client descriptor fed by a constant key instead of the client address",
            r -> {
              ObjectNode action = (ObjectNode) limiter(r, "edge_https").path("rate_limits").path(0).path("actions").path(0);
              action.remove("masked_remote_address");
              action.putObject("generic_key").put("descriptor_value", "all").put("descriptor_key", "masked_remote_address");
            },
            "[relay]", "no per-client rate limit"),
        tree("per-client descriptor with a fixed value (one address, not every client)",
            r -> ((ObjectNode) limiter(r, "edge_https").path("descriptors").path(0).path("entries").path(0))
                .put("value", "203.0.113.7/32"),
            "[relay]", "limits that one address only", "leave the value empty"),
        tree("clients keyed by the full IPv6 address (remote_address)",
            r -> {
              ObjectNode action = (ObjectNode) limiter(r, "edge_https").path("rate_limits").path(0).path("actions").path(0);
              action.remove("masked_remote_address");
              action.putObject("remote_address");
            },
            "[relay]", "keys clients by remote_address", "v6_prefix_mask_len 64"),
        tree("IPv6 clients keyed by /128 (mask unset)",
            r -> remove((ObjectNode) limiter(r, "edge_mtls").path("rate_limits").path(0).path("actions").path(0)
                .path("masked_remote_address"), "v6_prefix_mask_len"),
            "[relay]", "masks IPv6 to /128 (unset)", "/64"),
        tree("IPv4 clients lumped into /24s",
            r -> ((ObjectNode) limiter(r, "edge_https").path("rate_limits").path(0).path("actions").path(0)
                .path("masked_remote_address")).put("v4_prefix_mask_len", 24),
            "[relay]", "masks IPv4 to /24"),
        tree("per-client bucket as large as the edge-wide ceiling",
            r -> ((ObjectNode) limiter(r, "edge_https").path("descriptors").path(0).path("token_bucket"))
                .put("max_tokens", 400).put("tokens_per_fill", 200),
            "[relay]", "is not below the edge-wide ceiling", "one client could drain the ceiling"),
        tree("no edge-wide ceiling for requests with a client bucket",
            r -> limiter(r, "edge_mtls").put("always_consume_default_token_bucket", false),
            "[relay]", "always_consume_default_token_bucket is false"),
        tree("buckets per downstream connection",
            r -> limiter(r, "edge_https").put("local_rate_limit_per_downstream_connection", true),
            "[relay]", "local_rate_limit_per_downstream_connection"),
        tree("Envoy's default of 20 tracked clients",
            r -> remove(limiter(r, "edge_https"), "max_dynamic_descriptors"),
            "[relay]", "max_dynamic_descriptors is 20 (unset)", "full bucket on every request"),
        tree("per-client fill interval Envoy refuses",
            r -> ((ObjectNode) limiter(r, "edge_mtls").path("descriptors").path(0).path("token_bucket"))
                .put("fill_interval", "1.5s"),
            "[relay]", "is not a multiple of the ceiling's 1s"),
        tree("CreateSession route limiter without per-client buckets (one flooder starves every issuer)",
            r -> remove((ObjectNode) route(r, "edge_https", "create_session").path("typed_per_filter_config")
                .path(RelayEdgeRules.LOCAL_RL), "descriptors"),
            "[relay]", "create_session", "no per-client descriptor"),
        tree("gRPC-Web Send route limiter without per-client buckets",
            r -> remove((ObjectNode) route(r, "edge_https", "grpc_web_send").path("typed_per_filter_config")
                .path(RelayEdgeRules.LOCAL_RL), "rate_limits"),
            "[relay]", "grpc_web_send", "no per-client rate limit"),

        // ---- the client address the relays read (x-forwarded-for) ------------------------------
        tree("client address taken from the client's own x-forwarded-for",
            r -> hcm(r, "edge_https").put("use_remote_address", false),
            "[relay]", "listener edge_https", "use_remote_address is not true"),
        tree("x-forwarded-for entries from in front of the edge believed",
            r -> hcm(r, "edge_mtls").put("xff_num_trusted_hops", 1),
            "[relay]", "listener edge_mtls", "xff_num_trusted_hops is 1", "--trusted-proxy"),
        tree("Envoy does not append the client address",
            r -> hcm(r, "edge_https").put("skip_xff_append", true),
            "[relay]", "skip_xff_append is true"),
        tree("client address from a custom header",
            r -> hcm(r, "edge_https").putArray("original_ip_detection_extensions").addObject()
                .put("name", "envoy.http.original_ip_detection.custom_header")
                .putObject("typed_config")
                .put("@type", "type.googleapis.com/envoy.extensions.http.original_ip_detection.custom_header.v3.CustomHeaderConfig")
                .put("header_name", "x-real-ip"),
            "[relay]", "original_ip_detection_extensions"),
        tree("route rewrites x-forwarded-for",
            r -> route(r, "edge_https", "relay_ws").putArray("request_headers_to_add").addObject()
                .putObject("header").put("key", "X-Forwarded-For").put("value", "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%"),
            "[relay]", "relay_ws", "changes x-forwarded-for"),
        tree("virtual host drops x-forwarded-for",
            r -> virtualHost(r, "edge_mtls").putArray("request_headers_to_remove").add("x-forwarded-for"),
            "[relay]", "vhost relay_native", "changes x-forwarded-for"),

        // ---- CORS ------------------------------------------------------------------------------
        tree("CORS not exposing grpc-message",
            r -> ((ObjectNode) virtualHost(r, "edge_https").path("typed_per_filter_config").path(RelayEdgeRules.CORS))
                .put("expose_headers", "grpc-status"),
            "[relay]", "lacks grpc-message"),
        tree("CORS filter after the rate limiter",
            r -> ConfigTree.moveElement((ArrayNode) hcm(r, "edge_https").path("http_filters"), 1, 3),
            "[relay]", "envoy.filters.http.cors must come before envoy.filters.http.local_ratelimit"),
        tree("CORS policy removed",
            r -> remove(virtualHost(r, "edge_https"), "typed_per_filter_config"),
            "[relay]", "no CORS policy"),
        tree("CORS for every origin",
            r -> ((ObjectNode) virtualHost(r, "edge_https").path("typed_per_filter_config").path(RelayEdgeRules.CORS)
                .path("allow_origin_string_match").path(0)).put("exact", "*"),
            "[relay]", "CORS allows every origin"),

        // ---- admin / overload / logs / tracing -------------------------------------------------
        tree("admin on all interfaces",
            r -> ((ObjectNode) r.path("admin").path("address").path("socket_address")).put("address", "0.0.0.0"),
            "[relay]", "admin: listens on 0.0.0.0"),
        tree("no downstream connection limit",
            r -> ((ArrayNode) r.path("overload_manager").path("resource_monitors")).remove(0),
            "[relay]", "global_downstream_max_connections"),
        tree("no per-listener connection limit",
            r -> ((ObjectNode) r.path("layered_runtime").path("layers").path(0).path("static_layer").path("envoy")
                .path("resource_limits").path("listener")).remove("edge_mtls"),
            "[relay]", "envoy.resource_limits.listener.edge_mtls.connection_limit"),
        tree("authorization header in the access log",
            r -> jsonLogFormat(r, "edge_https").put("auth", "%REQ(AUTHORIZATION)%"),
            "[relay]", "%REQ(AUTHORIZATION)%", "never log credentials"),
        tree("cookie in the access log (as the alternative header)",
            r -> jsonLogFormat(r, "edge_mtls").put("c", "%REQ(X-FOO?COOKIE):100%"),
            "[relay]", "never log credentials"),
        tree("full path with query string in the access log",
            r -> jsonLogFormat(r, "edge_https").put("path", "%REQ(:PATH)%"),
            "[relay]", "includes the query string"),
        tree("%PATH% defaults to WQ (with query)",
            r -> jsonLogFormat(r, "edge_https").put("path", "%PATH%"),
            "[relay]", "use %PATH(NQ)%"),
        tree("text access log instead of JSON",
            r -> {
              ObjectNode lf = (ObjectNode) hcm(r, "edge_https").path("access_log").path(0).path("typed_config").path("log_format");
              lf.remove("json_format");
              lf.putObject("text_format_source").put("inline_string", "%START_TIME% %RESPONSE_CODE%\n");
            },
            "[relay]", "access logs must be JSON"),
        tree("raw session id in the access log (header)",
            r -> jsonLogFormat(r, "edge_https").put("session", "%REQ(X-SESSION-ID)%"),
            "[relay]", "logs the raw session id", "%TRACE_ID%"),
        tree("raw session id in the access log (WebSocket query parameter)",
            r -> jsonLogFormat(r, "edge_https").put("session", "%QUERY_PARAM(session)%"),
            "[relay]", "logs query parameter 'session'"),
        tree("raw session id in the access log (CEL)",
            r -> jsonLogFormat(r, "edge_mtls").put("s", "%CEL(request.headers['x-session-id'])%"),
            "[relay]", "logs the raw session id"),
        tree("raw session id as a span tag",
            r -> hcm(r, "edge_https").withObjectProperty("tracing").putArray("custom_tags").addObject()
                .put("tag", "relay.session_id").putObject("request_header").put("name", "x-session-id"),
            "[relay]", "custom tag 'relay.session_id' copies the raw session id"),
        tree("raw session id as a span tag on one route",
            r -> route(r, "edge_mtls", "relay_streams").withObjectProperty("tracing").putArray("custom_tags").addObject()
                .put("tag", "sid").putObject("request_header").put("name", "X-Session-Id"),
            "[relay]", "relay_streams", "custom tag 'sid'"),
        tree("span http.url keeps the WebSocket session id (max_path_tag_length unset)",
            r -> remove(hcm(r, "edge_https").withObjectProperty("tracing"), "max_path_tag_length"),
            "[relay]", "max_path_tag_length is unset (256)", "/ws?session=<id>"),
        tree("span http.url keeps 13 characters of the path",
            r -> hcm(r, "edge_mtls").withObjectProperty("tracing").put("max_path_tag_length", 13),
            "[relay]", "max_path_tag_length is 13", "at most 12"),
        tree("tracing towards a missing collector cluster",
            r -> ((ObjectNode) hcm(r, "edge_https").path("tracing").path("provider").path("typed_config")
                .path("grpc_service").path("envoy_grpc")).put("cluster_name", "otel"),
            "[relay]", "OpenTelemetry exporter points at cluster 'otel'"),
        tree("duplicate cluster name",
            r -> cluster(r, "otel_collector").put("name", "relay_ws"),
            "[relay]", "cluster relay_ws is defined twice"));
  }

  /** The typed_config of a listener's local rate limit filter. */
  private static ObjectNode limiter(JsonNode root, String listener) {
    return (ObjectNode) httpFilter(root, listener, RelayEdgeRules.LOCAL_RL).path("typed_config");
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("treeMutants")
  void brokenTreeIsRejected(String name, Consumer<ObjectNode> mutation, String stage, List<String> expected) {
    ObjectNode copy = original.deepCopy();
    mutation.accept(copy);
    assertThat(copy).as("the mutation must change the tree").isNotEqualTo(original);

    EnvoyConfigChecker.Report r = EnvoyConfigChecker.check(copy, "mutant: " + name);
    System.out.println(r); // the messages an operator would see, in target/surefire-reports/*-output.txt

    assertThat(r.ok()).as("mutant '%s' was accepted", name).isFalse();
    assertThat(r.problems()).as(r.toString())
        .anySatisfy(p -> {
          assertThat(p).startsWith(stage);
          for (String e : expected) {
            assertThat(p).contains(e);
          }
        });
  }

  private static Arguments text(String name, UnaryOperator<String> mutation, String... expected) {
    return Arguments.of(name, mutation, List.of(expected));
  }

  static Stream<Arguments> textMutants() {
    return Stream.of(
        text("duplicate YAML key",
            y -> replaceOnce(y, "          stat_prefix: edge_https\n",
                "          stat_prefix: edge_https\n          stat_prefix: edge_https_again\n"),
            "[parse]", "Duplicate field 'stat_prefix'"),
        text("typo in a top-level key",
            y -> replaceOnce(y, "\nstatic_resources:\n", "\nstatic_resource:\n"),
            "[parse]", "static_resource"),
        text("YAML 1.1 boolean where a string is expected",
            y -> replaceOnce(y, "\n  id: relay-edge\n", "\n  id: on\n"),
            "[parse]", "ambiguous unquoted YAML scalar 'on'"),
        text("octal-looking number",
            y -> replaceOnce(y, "address: 127.0.0.1, port_value: 9901 }\n", "address: 127.0.0.1, port_value: 09901 }\n"),
            "[parse]", "ambiguous unquoted YAML scalar '09901'"),
        text("route timeout edited in the text",
            y -> replaceOnce(y, "                  cluster: relay_ws\n                  timeout: 0s\n",
                "                  cluster: relay_ws\n                  timeout: 15s\n"),
            "[relay]", "relay_ws", "timeout is 15s"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("textMutants")
  void brokenTextIsRejected(String name, UnaryOperator<String> mutation, List<String> expected) {
    String broken = mutation.apply(yaml);
    assertThat(broken).isNotEqualTo(yaml);

    EnvoyConfigChecker.Report r = EnvoyConfigChecker.check(broken, "mutant: " + name);
    System.out.println(r);

    assertThat(r.ok()).as("mutant '%s' was accepted", name).isFalse();
    assertThat(r.problems()).as(r.toString()).anySatisfy(p -> {
      assertThat(p).startsWith(expected.get(0));
      for (String e : expected.subList(1, expected.size())) {
        assertThat(p).contains(e);
      }
    });
  }

  private static String replaceOnce(String s, String from, String to) {
    int i = s.indexOf(from);
    if (i < 0 || s.indexOf(from, i + 1) >= 0) {
      throw new IllegalArgumentException("expected exactly one occurrence of: " + from);
    }
    return s.substring(0, i) + to + s.substring(i + from.length());
  }
}
