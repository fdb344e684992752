package dev.checkmate.relay.envoy;

import com.google.protobuf.Any;
import com.google.protobuf.Duration;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.accesslog.v3.AccessLog;
import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.envoyproxy.envoy.config.cluster.v3.CircuitBreakers;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.config.core.v3.HealthCheck;
import io.envoyproxy.envoy.config.core.v3.Http2ProtocolOptions;
import io.envoyproxy.envoy.config.core.v3.RoutingPriority;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.core.v3.SubstitutionFormatString;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RateLimit;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.config.route.v3.WeightedCluster;
import io.envoyproxy.envoy.config.trace.v3.OpenTelemetryConfig;
import io.envoyproxy.envoy.extensions.access_loggers.file.v3.FileAccessLog;
import io.envoyproxy.envoy.extensions.access_loggers.stream.v3.StderrAccessLog;
import io.envoyproxy.envoy.extensions.access_loggers.stream.v3.StdoutAccessLog;
import io.envoyproxy.envoy.extensions.filters.http.cors.v3.CorsPolicy;
import io.envoyproxy.envoy.extensions.common.ratelimit.v3.LocalRateLimitDescriptor;
import io.envoyproxy.envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager.ForwardClientCertDetails;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.resource_monitors.downstream_connections.v3.DownstreamConnectionsConfig;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsParameters.TlsProtocol;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;
import io.envoyproxy.envoy.type.tracing.v3.CustomTag;
import io.envoyproxy.envoy.type.v3.TokenBucket;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The relay-specific meaning of the edge config: what Envoy itself does not check at load time, or
 * what it would accept but what breaks long-lived sessions. Each problem is one readable sentence.
 */
final class RelayEdgeRules {

  // Facts about the relay behind the edge.
  static final String SERVICE_PREFIX = "/relay.v1.RelayService/";
  static final String CONNECT = SERVICE_PREFIX + "Connect";
  static final String RECEIVE = SERVICE_PREFIX + "Receive";
  static final String SEND = SERVICE_PREFIX + "Send";
  static final String CREATE = SERVICE_PREFIX + "CreateSession";
  static final String TERMINATE = SERVICE_PREFIX + "TerminateSession";
  static final String WS_PATH = "/ws";
  static final String WS_REQUEST = "/ws?session=AAAAAAAAAAAAAAAAAAAAAA";
  static final String SESSION_HEADER = "x-session-id";
  static final String SESSION_QUERY = "session";
  static final String HEALTHZ = "/healthz";
  static final long HEARTBEAT_SECONDS = 30;
  static final long MIN_STREAM_IDLE_SECONDS = 2 * HEARTBEAT_SECONDS;
  static final long DEFAULT_STREAM_IDLE_SECONDS = 300; // HttpConnectionManager.stream_idle_timeout default
  static final long MIN_STREAM_CAPACITY = 10_000;     // circuit breaker default is 1024
  /** The header the relays read the client address from (they trust only Envoy's own entries). */
  static final String XFF = "x-forwarded-for";
  /** Descriptor key of the masked_remote_address rate-limit action: the per-client bucket key. */
  static final String CLIENT_KEY = "masked_remote_address";
  /** IPv6 clients are keyed by a prefix no longer than this (a host holds a whole /64). */
  static final int MAX_V6_CLIENT_PREFIX = 64;
  /** ...and no shorter than this (a /32 would lump a whole provider together). */
  static final int MIN_V6_CLIENT_PREFIX = 48;
  /** Per-client buckets tracked at once; Envoy's default of 20 evicts (and refills) them constantly. */
  static final int MIN_DYNAMIC_DESCRIPTORS = 1000;
  /**
   * Longest path prefix a span's http.url tag may keep: exactly "/ws?session=", so the WebSocket
   * join's session id (a query parameter) never reaches the tracing backend.
   */
  static final int MAX_PATH_TAG_LENGTH = (WS_PATH + "?" + SESSION_QUERY + "=").length();

  static final String HCM = "envoy.filters.network.http_connection_manager";
  static final String CORS = "envoy.filters.http.cors";
  static final String GRPC_WEB = "envoy.filters.http.grpc_web";
  static final String LOCAL_RL = "envoy.filters.http.local_ratelimit";
  static final String GLOBAL_RL = "envoy.filters.http.ratelimit";
  static final String ROUTER = "envoy.filters.http.router";
  static final String HTTP_OPTIONS = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";

  private static final Set<String> SECRET_HEADERS =
      Set.of("authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key",
          "sec-websocket-protocol", "sec-websocket-key", "x-forwarded-client-cert");
  private static final Set<String> QUERY_BEARING_HEADERS = Set.of(":path", "x-envoy-original-path");
  private static final Pattern HEADER_OPERATOR =
      Pattern.compile("%(REQ|RESP|TRAILER|REQ_WITHOUT_QUERY)\\(([^)]*)\\)(:\\d+)?%");
  private static final Pattern PATH_OPERATOR = Pattern.compile("%PATH(\\(([^)]*)\\))?(:\\d+)?%");
  private static final Pattern QUERY_OPERATOR = Pattern.compile("%QUERY_PARAM\\(([^)]*)\\)(:\\d+)?%");

  private final Bootstrap b;
  private final List<String> out = new ArrayList<>();
  private final Map<String, Cluster> clusters = new LinkedHashMap<>();
  /** Clusters that a route hashes onto, with the route that does it (for messages). */
  private final Map<String, String> hashedClusters = new TreeMap<>();

  private RelayEdgeRules(Bootstrap b) {
    this.b = b;
  }

  static List<String> check(Bootstrap bootstrap) {
    RelayEdgeRules r = new RelayEdgeRules(bootstrap);
    r.run();
    return r.out;
  }

  /** One HTTP connection manager and where it lives. */
  private record Hcm(String where, Listener listener, DownstreamTlsContext tls, HttpConnectionManager hcm) {
    boolean browser() {
      return hcm.getHttpFiltersList().stream().anyMatch(f -> f.getName().equals(GRPC_WEB));
    }

    boolean mtls() {
      return tls != null && tls.getRequireClientCertificate().getValue();
    }
  }

  private void problem(String s) {
    out.add(s);
  }

  private void run() {
    for (Cluster c : b.getStaticResources().getClustersList()) {
      if (clusters.put(c.getName(), c) != null) {
        problem("cluster " + c.getName() + " is defined twice");
      }
    }
    checkAdmin();
    checkOverload();

    List<Hcm> hcms = new ArrayList<>();
    Set<String> listenerNames = new HashSet<>();
    for (Listener l : b.getStaticResources().getListenersList()) {
      if (!listenerNames.add(l.getName())) {
        problem("listener " + l.getName() + " is defined twice");
      }
      if (isStatsListener(l)) {
        checkStatsListener(l);
        continue;
      }
      checkListenerLimit(l);
      List<FilterChain> chains = new ArrayList<>(l.getFilterChainsList());
      if (l.hasDefaultFilterChain()) {
        chains.add(l.getDefaultFilterChain());
      }
      for (FilterChain fc : chains) {
        String where = "listener " + l.getName() + (fc.getName().isEmpty() ? "" : " chain " + fc.getName());
        DownstreamTlsContext tls = checkTls(where, fc);
        for (Filter f : fc.getFiltersList()) {
          if (f.getName().equals(HCM) || f.getTypedConfig().is(HttpConnectionManager.class)) {
            unpack(f.getTypedConfig(), HttpConnectionManager.class, where)
                .ifPresent(h -> hcms.add(new Hcm(where, l, tls, h)));
          }
        }
      }
    }
    if (hcms.isEmpty()) {
      problem("no HTTP connection manager: the edge serves nothing");
    }
    if (hcms.stream().noneMatch(Hcm::browser)) {
      problem("no listener has the " + GRPC_WEB + " filter: browsers cannot use gRPC-Web");
    }
    if (hcms.stream().noneMatch(Hcm::mtls)) {
      problem("no listener requires client certificates: native clients need their own mutual-TLS listener");
    }
    for (Hcm h : hcms) {
      checkHcm(h);
    }
    checkHashKeys();
  }

  // ------------------------------------------------------------------------------------------
  // the Prometheus stats listener: plaintext, private, and nothing but /stats/prometheus
  // ------------------------------------------------------------------------------------------

  private static final String STATS_PATH = "/stats/prometheus";

  private List<HttpConnectionManager> hcmsOf(Listener l) {
    List<HttpConnectionManager> found = new ArrayList<>();
    for (FilterChain fc : l.getFilterChainsList()) {
      for (Filter f : fc.getFiltersList()) {
        if (f.getTypedConfig().is(HttpConnectionManager.class)) {
          unpack(f.getTypedConfig(), HttpConnectionManager.class, "listener " + l.getName()).ifPresent(found::add);
        }
      }
    }
    return found;
  }

  /** A listener whose every forwarding route targets the admin address: the stats port. */
  private boolean isStatsListener(Listener l) {
    List<HttpConnectionManager> hcms = hcmsOf(l);
    if (hcms.isEmpty()) {
      return false;
    }
    boolean forwardsSomewhere = false;
    for (HttpConnectionManager h : hcms) {
      for (VirtualHost vh : h.getRouteConfig().getVirtualHostsList()) {
        for (Route r : vh.getRoutesList()) {
          if (r.hasDirectResponse()) {
            continue;
          }
          if (!r.hasRoute() || !pointsAtAdmin(r.getRoute().getCluster())) {
            return false;
          }
          forwardsSomewhere = true;
        }
      }
    }
    return forwardsSomewhere;
  }

  private boolean pointsAtAdmin(String clusterName) {
    Cluster c = clusters.get(clusterName);
    if (c == null || !b.hasAdmin() || !b.getAdmin().getAddress().hasSocketAddress()) {
      return false;
    }
    var admin = b.getAdmin().getAddress().getSocketAddress();
    List<io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint> eps = c.getLoadAssignment().getEndpointsList().stream()
        .flatMap(e -> e.getLbEndpointsList().stream()).toList();
    return !eps.isEmpty() && eps.stream().allMatch(e -> {
      var sa = e.getEndpoint().getAddress().getSocketAddress();
      return sa.getAddress().equals(admin.getAddress()) && sa.getPortValue() == admin.getPortValue();
    });
  }

  /** The stats port may expose exactly the Prometheus path of the admin interface, nothing else. */
  private void checkStatsListener(Listener l) {
    for (HttpConnectionManager h : hcmsOf(l)) {
      for (VirtualHost vh : h.getRouteConfig().getVirtualHostsList()) {
        for (Route r : vh.getRoutesList()) {
          if (r.hasDirectResponse()) {
            continue;
          }
          if (!STATS_PATH.equals(r.getMatch().getPath())) {
            problem("listener " + l.getName() + " route " + routeName(vh, r) + ": forwards to the admin interface beyond "
                + STATS_PATH + " (match must be exactly path " + STATS_PATH + "); admin endpoints can change state");
          }
        }
      }
    }
  }

  // ------------------------------------------------------------------------------------------
  // bootstrap-level
  // ------------------------------------------------------------------------------------------

  private void checkAdmin() {
    if (!b.hasAdmin()) {
      return;
    }
    if (!b.getAdmin().getAddress().hasSocketAddress()) {
      problem("admin: address must be a 127.0.0.1 socket address (pipes or none are not checked)");
      return;
    }
    String a = b.getAdmin().getAddress().getSocketAddress().getAddress();
    if (!isLoopback(a)) {
      problem("admin: listens on " + a + "; the admin interface must bind to loopback (127.0.0.1) only");
    }
  }

  private static boolean isLoopback(String address) {
    if (!address.matches("[0-9.]+|[0-9a-fA-F:]+")) {
      return false; // only literal addresses; a name could resolve anywhere
    }
    try {
      return InetAddress.getByName(address).isLoopbackAddress();
    } catch (UnknownHostException e) {
      return false;
    }
  }

  private void checkOverload() {
    boolean found = false;
    for (var m : b.getOverloadManager().getResourceMonitorsList()) {
      if (m.getName().equals("envoy.resource_monitors.global_downstream_max_connections")) {
        Optional<DownstreamConnectionsConfig> c =
            unpack(m.getTypedConfig(), DownstreamConnectionsConfig.class, "overload_manager " + m.getName());
        if (c.isPresent() && c.get().getMaxActiveDownstreamConnections() > 0) {
          found = true;
        }
      }
    }
    if (!found) {
      problem("overload_manager: no envoy.resource_monitors.global_downstream_max_connections monitor with "
          + "max_active_downstream_connections > 0 (the edge would accept connections until it runs out of memory/fds)");
    }
  }

  private void checkListenerLimit(Listener l) {
    String key = "envoy.resource_limits.listener." + l.getName() + ".connection_limit";
    boolean found = false;
    for (var layer : b.getLayeredRuntime().getLayersList()) {
      if (layer.hasStaticLayer()) {
        Map<String, Value> flat = new TreeMap<>();
        flatten("", layer.getStaticLayer(), flat);
        Value v = flat.get(key);
        if (v != null && v.getNumberValue() > 0) {
          found = true;
        }
      }
    }
    if (!found) {
      problem("listener " + l.getName() + ": no runtime connection limit (" + key + ") in a static layer");
    }
  }

  private static void flatten(String prefix, Struct s, Map<String, Value> out) {
    for (var e : s.getFieldsMap().entrySet()) {
      String k = prefix.isEmpty() ? e.getKey() : prefix + "." + e.getKey();
      if (e.getValue().hasStructValue()) {
        flatten(k, e.getValue().getStructValue(), out);
      } else {
        out.put(k, e.getValue());
      }
    }
  }

  // ------------------------------------------------------------------------------------------
  // downstream TLS
  // ------------------------------------------------------------------------------------------

  private DownstreamTlsContext checkTls(String where, FilterChain fc) {
    if (!fc.hasTransportSocket() || !fc.getTransportSocket().getTypedConfig().is(DownstreamTlsContext.class)) {
      problem(where + ": no TLS transport socket (DownstreamTlsContext); the edge must terminate TLS");
      return null;
    }
    DownstreamTlsContext tls =
        unpack(fc.getTransportSocket().getTypedConfig(), DownstreamTlsContext.class, where).orElse(null);
    if (tls == null) {
      return null;
    }
    var ctx = tls.getCommonTlsContext();
    TlsProtocol min = ctx.getTlsParams().getTlsMinimumProtocolVersion();
    TlsProtocol max = ctx.getTlsParams().getTlsMaximumProtocolVersion();
    if (min != TlsProtocol.TLSv1_3) {
      problem(where + ": TLS minimum protocol version is " + min + "; it must be TLSv1_3 (TLS 1.3 only)");
    }
    if (max != TlsProtocol.TLSv1_3) {
      problem(where + ": TLS maximum protocol version is " + max + "; it must be TLSv1_3 (TLS 1.3 only)");
    }
    List<String> alpn = ctx.getAlpnProtocolsList();
    if (!alpn.contains("h2") || !alpn.contains("http/1.1")) {
      problem(where + ": ALPN is " + alpn + "; it must offer h2 (gRPC) and http/1.1 (WebSocket, gRPC-Web fallback)");
    }
    if (ctx.getTlsCertificatesCount() == 0 && ctx.getTlsCertificateSdsSecretConfigsCount() == 0) {
      problem(where + ": no server certificate");
    }
    boolean validates = ctx.getValidationContextTypeCase()
        != io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext.ValidationContextTypeCase
            .VALIDATIONCONTEXTTYPE_NOT_SET;
    if (tls.getRequireClientCertificate().getValue()) {
      if (!validates) {
        problem(where + ": require_client_certificate without a validation_context (trusted_ca)");
      }
    } else if (validates) {
      problem(where + ": has a validation_context but does not require client certificates; Envoy then asks "
          + "every client (browsers too) for a certificate. Put mutual TLS on its own listener");
    }
    return tls;
  }

  // ------------------------------------------------------------------------------------------
  // HTTP connection manager
  // ------------------------------------------------------------------------------------------

  private void checkHcm(Hcm h) {
    HttpConnectionManager hcm = h.hcm();
    String where = h.where();

    // client certificate forwarding
    ForwardClientCertDetails fwd = hcm.getForwardClientCertDetails();
    if (h.mtls()) {
      if (fwd != ForwardClientCertDetails.SANITIZE_SET) {
        problem(where + ": forward_client_cert_details is " + fwd + "; the mutual-TLS listener must use SANITIZE_SET");
      }
      var set = hcm.getSetCurrentClientCertDetails();
      if (!set.getUri() && !set.getDns() && !set.hasSubject() && !set.getCert() && !set.getChain()) {
        problem(where + ": set_current_client_cert_details selects nothing; the relay would not learn the client identity");
      }
    } else if (fwd != ForwardClientCertDetails.SANITIZE) {
      problem(where + ": forward_client_cert_details is " + fwd + "; without client certificates it must be SANITIZE "
          + "(never trust a client-supplied x-forwarded-client-cert)");
    }

    // filters
    List<String> filters = hcm.getHttpFiltersList().stream().map(HttpFilter::getName).toList();
    if (filters.isEmpty() || !filters.get(filters.size() - 1).equals(ROUTER)) {
      problem(where + ": the last HTTP filter must be " + ROUTER + ", filters are " + filters);
    }
    if (new HashSet<>(filters).size() != filters.size()) {
      problem(where + ": duplicate HTTP filter names " + filters);
    }
    int cors = filters.indexOf(CORS);
    if (h.browser() && cors < 0) {
      problem(where + ": serves gRPC-Web but has no " + CORS + " filter");
    }
    for (String limiter : List.of(LOCAL_RL, GLOBAL_RL)) {
      int i = filters.indexOf(limiter);
      if (cors >= 0 && i >= 0 && i < cors) {
        problem(where + ": " + CORS + " must come before " + limiter
            + " so that rate-limited (429 / RESOURCE_EXHAUSTED) replies still carry CORS headers; filters are " + filters);
      }
    }
    checkRateLimits(h);
    checkClientAddress(h);

    // timeouts that would cut long streams
    if (hcm.hasRequestTimeout() && seconds(hcm.getRequestTimeout()) > 0) {
      problem(where + ": request_timeout " + fmt(hcm.getRequestTimeout()) + " cuts streams; leave it unset (0s)");
    }
    var common = hcm.getCommonHttpProtocolOptions();
    if (common.hasMaxStreamDuration() && seconds(common.getMaxStreamDuration()) > 0) {
      problem(where + ": common_http_protocol_options.max_stream_duration cuts long streams; leave it unset");
    }
    if (common.hasMaxConnectionDuration() && seconds(common.getMaxConnectionDuration()) > 0) {
      problem(where + ": common_http_protocol_options.max_connection_duration drains long-lived connections; leave it unset");
    }
    if (common.hasIdleTimeout() && seconds(common.getIdleTimeout()) > 0
        && seconds(common.getIdleTimeout()) < MIN_STREAM_IDLE_SECONDS) {
      problem(where + ": connection idle_timeout " + fmt(common.getIdleTimeout()) + " is too short");
    }
    if (!hcm.getHttp2ProtocolOptions().getConnectionKeepalive().hasInterval()) {
      problem(where + ": no HTTP/2 keepalive (http2_protocol_options.connection_keepalive.interval): dead client "
          + "connections are not detected");
    }

    // WebSocket: never enabled connection-wide
    for (var u : hcm.getUpgradeConfigsList()) {
      boolean enabled = !u.hasEnabled() || u.getEnabled().getValue();
      if (enabled) {
        problem(where + ": upgrade '" + u.getUpgradeType() + "' is enabled for the whole connection manager; "
            + "enable WebSocket only on the " + WS_PATH + " route (declare it here with enabled: false)");
      }
    }

    checkAccessLogs(where, hcm);
    checkTracing(where, hcm);

    if (!hcm.hasRouteConfig()) {
      problem(where + ": routes must be inline (route_config) so that they can be checked");
      return;
    }
    Set<String> routeNames = new HashSet<>();
    for (VirtualHost vh : hcm.getRouteConfig().getVirtualHostsList()) {
      for (Route r : vh.getRoutesList()) {
        String rw = where + " route " + routeName(vh, r);
        if (!r.getName().isEmpty() && !routeNames.add(vh.getName() + "/" + r.getName())) {
          problem(rw + ": duplicate route name");
        }
        checkRoute(h, rw, r);
      }
    }
    checkPaths(h);
  }

  private void checkRateLimits(Hcm h) {
    String where = h.where();
    Optional<HttpFilter> rl =
        h.hcm().getHttpFiltersList().stream().filter(f -> f.getName().equals(LOCAL_RL)).findFirst();
    if (rl.isEmpty()) {
      problem(where + ": no " + LOCAL_RL + " filter: stream opens are not rate limited");
    } else {
      unpack(rl.get().getTypedConfig(), LocalRateLimit.class, where + " " + LOCAL_RL)
          .ifPresent(c -> checkLocalRateLimit(where + " " + LOCAL_RL, c));
    }
    if (!h.hcm().hasRouteConfig()) {
      return;
    }
    for (VirtualHost vh : h.hcm().getRouteConfig().getVirtualHostsList()) {
      Any v = vh.getTypedPerFilterConfigMap().get(LOCAL_RL);
      if (v != null) {
        unpack(v, LocalRateLimit.class, where + " vhost " + vh.getName())
            .ifPresent(c -> checkLocalRateLimit(where + " vhost " + vh.getName() + " " + LOCAL_RL, c));
      }
      for (Route r : vh.getRoutesList()) {
        Any rv = r.getTypedPerFilterConfigMap().get(LOCAL_RL);
        if (rv != null) {
          String rw = where + " route " + routeName(vh, r) + " " + LOCAL_RL;
          unpack(rv, LocalRateLimit.class, rw).ifPresent(c -> checkLocalRateLimit(rw, c));
        }
      }
    }
  }

  private void checkLocalRateLimit(String where, LocalRateLimit c) {
    if (!c.hasTokenBucket() || c.getTokenBucket().getMaxTokens() == 0) {
      problem(where + ": no token_bucket");
    }
    if (c.getFilterEnabled().getDefaultValue().getNumerator() == 0) {
      problem(where + ": filter_enabled is 0% (unset means disabled): nothing is rate limited");
    }
    if (c.getFilterEnforced().getDefaultValue().getNumerator() == 0) {
      problem(where + ": filter_enforced is 0% (unset means shadow mode): nothing is rate limited");
    }
    checkPerClientBuckets(where, c);
  }

  /**
   * Every limiter keeps one bucket per client (masked_remote_address with a wildcard descriptor,
   * Envoy 1.34's dynamic descriptors) below an edge-wide ceiling (the filter's token_bucket, which
   * every request also consumes). Without it one bucket is shared by every client of the edge.
   */
  private void checkPerClientBuckets(String where, LocalRateLimit c) {
    String shared = "; without it one bucket is shared by every client of the edge, and one address can use it all up";
    boolean generates = false;
    for (RateLimit rl : c.getRateLimitsList()) {
      List<RateLimit.Action> actions = rl.getActionsList();
      for (RateLimit.Action a : actions) {
        if (a.hasRemoteAddress()) {
          problem(where + ": rate_limits keys clients by remote_address (the full IPv6 address); use "
              + CLIENT_KEY + " with v6_prefix_mask_len " + MAX_V6_CLIENT_PREFIX
              + " (one IPv6 host holds a whole /64 and would get a fresh bucket per address)");
        }
      }
      if (actions.size() == 1 && actions.get(0).hasMaskedRemoteAddress()) {
        generates = true;
        var m = actions.get(0).getMaskedRemoteAddress();
        int v4 = m.hasV4PrefixMaskLen() ? m.getV4PrefixMaskLen().getValue() : 32;
        int v6 = m.hasV6PrefixMaskLen() ? m.getV6PrefixMaskLen().getValue() : 128;
        if (v4 != 32) {
          problem(where + ": " + CLIENT_KEY + " masks IPv4 to /" + v4 + "; a client is one IPv4 address (/32), "
              + "a shorter prefix lumps unrelated clients into one bucket");
        }
        if (v6 > MAX_V6_CLIENT_PREFIX || v6 < MIN_V6_CLIENT_PREFIX) {
          problem(where + ": " + CLIENT_KEY + " masks IPv6 to /" + v6 + (m.hasV6PrefixMaskLen() ? "" : " (unset)")
              + "; key IPv6 clients by /" + MAX_V6_CLIENT_PREFIX + " (one host holds a whole /64 and could rotate "
              + "through it; a prefix shorter than /" + MIN_V6_CLIENT_PREFIX + " lumps a provider together)");
        }
      }
    }
    if (!generates) {
      problem(where + ": no per-client rate limit: rate_limits has no entry whose only action is "
          + CLIENT_KEY + " (the filter's own rate_limits; route-level rate_limits are not read when it is set)"
          + shared);
    }
    LocalRateLimitDescriptor perClient = null;
    for (LocalRateLimitDescriptor d : c.getDescriptorsList()) {
      if (d.getEntriesCount() == 1 && d.getEntries(0).getKey().equals(CLIENT_KEY)) {
        if (d.getEntries(0).getValue().isEmpty()) {
          perClient = d;
        } else {
          problem(where + ": descriptor " + CLIENT_KEY + "=" + d.getEntries(0).getValue()
              + " limits that one address only; leave the value empty so that every client gets its own bucket");
        }
      }
    }
    if (perClient == null) {
      problem(where + ": no per-client descriptor (entries: [{key: " + CLIENT_KEY + "}] with no value and its "
          + "own token_bucket)" + shared);
    } else if (c.hasTokenBucket()) {
      TokenBucket ceiling = c.getTokenBucket();
      TokenBucket client = perClient.getTokenBucket();
      double ceilingRate = rate(ceiling);
      double clientRate = rate(client);
      if (clientRate >= ceilingRate || client.getMaxTokens() >= ceiling.getMaxTokens()) {
        problem(where + ": the per-client bucket (" + client.getMaxTokens() + " tokens, " + fmtRate(clientRate)
            + ") is not below the edge-wide ceiling (" + ceiling.getMaxTokens() + " tokens, " + fmtRate(ceilingRate)
            + "): one client could drain the ceiling and lock every other client out");
      }
      long ceilingMs = millis(ceiling.getFillInterval());
      long clientMs = millis(client.getFillInterval());
      if (ceilingMs > 0 && clientMs % ceilingMs != 0) {
        problem(where + ": the per-client fill_interval " + fmt(client.getFillInterval())
            + " is not a multiple of the ceiling's " + fmt(ceiling.getFillInterval()) + " (Envoy refuses the config)");
      }
    }
    if (c.hasAlwaysConsumeDefaultTokenBucket() && !c.getAlwaysConsumeDefaultTokenBucket().getValue()) {
      problem(where + ": always_consume_default_token_bucket is false: requests with a client bucket skip the "
          + "edge-wide ceiling, so the edge has no overall limit (every client may go up to its own rate at once)");
    }
    if (c.getLocalRateLimitPerDownstreamConnection()) {
      problem(where + ": local_rate_limit_per_downstream_connection gives each connection its own buckets: a "
          + "client opens more connections to get more, and per-client (dynamic) buckets need the process-wide limiter");
    }
    int tracked = c.hasMaxDynamicDescriptors() ? c.getMaxDynamicDescriptors().getValue() : 20;
    if (tracked < MIN_DYNAMIC_DESCRIPTORS) {
      problem(where + ": max_dynamic_descriptors is " + tracked + (c.hasMaxDynamicDescriptors() ? "" : " (unset)")
          + ": Envoy tracks only that many clients and evicts the least recently seen, whose bucket starts full "
          + "again; an attacker with more addresses than that gets a full bucket on every request. Use at least "
          + MIN_DYNAMIC_DESCRIPTORS);
    }
  }

  private static double rate(TokenBucket t) {
    long ms = millis(t.getFillInterval());
    long perFill = t.hasTokensPerFill() ? t.getTokensPerFill().getValue() : 1;
    return ms <= 0 ? Double.POSITIVE_INFINITY : perFill * 1000.0 / ms;
  }

  private static String fmtRate(double perSecond) {
    return String.format(Locale.ROOT, "%.4g/s", perSecond);
  }

  private static long millis(Duration d) {
    return d.getSeconds() * 1000 + d.getNanos() / 1_000_000;
  }

  // ------------------------------------------------------------------------------------------
  // the client address: x-forwarded-for as the relays read it
  // ------------------------------------------------------------------------------------------

  /**
   * The relays trust Envoy's addresses only (deploy/: --trusted-proxy) and take the rightmost
   * x-forwarded-for entry that is not Envoy. That is the client only if Envoy appends the TCP peer
   * it saw, believes nothing the client wrote, and nothing rewrites the header on the way.
   */
  private void checkClientAddress(Hcm h) {
    HttpConnectionManager hcm = h.hcm();
    String where = h.where();
    if (!hcm.getUseRemoteAddress().getValue()) {
      problem(where + ": use_remote_address is not true: Envoy would neither take the client address from the "
          + "TCP peer nor append it to " + XFF + "; the relays (which trust Envoy's entries) and Envoy's per-client "
          + "buckets would both use an address the client wrote");
    }
    if (hcm.getXffNumTrustedHops() != 0) {
      problem(where + ": xff_num_trusted_hops is " + hcm.getXffNumTrustedHops() + ": Envoy would believe "
          + XFF + " entries written in front of it, but nothing in front of the edge is trusted (the relays' "
          + "--trusted-proxy lists Envoy only), so a client could choose its address. Raise it only for a trusted "
          + "proxy in front of Envoy, and add that proxy to the relays' --trusted-proxy and to infra/checks too");
    }
    if (hcm.getSkipXffAppend()) {
      problem(where + ": skip_xff_append is true: Envoy would not append the client's address to " + XFF
          + ", so the relays would take the rightmost entry the client wrote itself");
    }
    if (hcm.getOriginalIpDetectionExtensionsCount() > 0) {
      problem(where + ": original_ip_detection_extensions take the client address from request data instead of "
          + "the TCP peer; the edge has nothing in front of it to believe");
    }
    if (hcm.getEarlyHeaderMutationExtensionsCount() > 0) {
      problem(where + ": early_header_mutation_extensions run before " + XFF + " is processed and could rewrite "
          + "it; the edge must not change the client address the relays read");
    }
    if (!hcm.hasRouteConfig()) {
      return;
    }
    var rc = hcm.getRouteConfig();
    checkXffMutation(where + " route_config", rc.getRequestHeadersToAddList(), rc.getRequestHeadersToRemoveList());
    for (VirtualHost vh : rc.getVirtualHostsList()) {
      checkXffMutation(where + " vhost " + vh.getName(), vh.getRequestHeadersToAddList(), vh.getRequestHeadersToRemoveList());
      for (Route r : vh.getRoutesList()) {
        String rw = where + " route " + routeName(vh, r);
        checkXffMutation(rw, r.getRequestHeadersToAddList(), r.getRequestHeadersToRemoveList());
        for (var w : r.getRoute().getWeightedClusters().getClustersList()) {
          checkXffMutation(rw + " weighted cluster " + w.getName(), w.getRequestHeadersToAddList(),
              w.getRequestHeadersToRemoveList());
        }
      }
    }
  }

  private void checkXffMutation(String where, List<HeaderValueOption> add, List<String> remove) {
    boolean touched = add.stream().anyMatch(o -> o.getHeader().getKey().equalsIgnoreCase(XFF))
        || remove.stream().anyMatch(n -> n.equalsIgnoreCase(XFF));
    if (touched) {
      problem(where + ": request_headers_to_add/remove changes " + XFF + "; the relays take the client address "
          + "from the entry Envoy appends, so nothing may rewrite or drop it");
    }
  }

  // ------------------------------------------------------------------------------------------
  // routes
  // ------------------------------------------------------------------------------------------

  private static String routeName(VirtualHost vh, Route r) {
    String m = switch (r.getMatch().getPathSpecifierCase()) {
      case PREFIX -> "prefix " + r.getMatch().getPrefix();
      case PATH -> "path " + r.getMatch().getPath();
      case SAFE_REGEX -> "regex " + r.getMatch().getSafeRegex().getRegex();
      case PATH_SEPARATED_PREFIX -> "prefix " + r.getMatch().getPathSeparatedPrefix();
      default -> r.getMatch().getPathSpecifierCase().name().toLowerCase(Locale.ROOT);
    };
    return vh.getName() + "/" + (r.getName().isEmpty() ? "" : r.getName() + " ") + "(" + m + ")";
  }

  private static List<String> targetClusters(RouteAction a) {
    return switch (a.getClusterSpecifierCase()) {
      case CLUSTER -> List.of(a.getCluster());
      case WEIGHTED_CLUSTERS -> a.getWeightedClusters().getClustersList().stream()
          .map(WeightedCluster.ClusterWeight::getName).toList();
      default -> List.of();
    };
  }

  private void checkRoute(Hcm h, String rw, Route r) {
    for (CustomTag t : r.getTracing().getCustomTagsList()) {
      checkCustomTag(rw + " tracing", t);
    }
    if (!r.hasRoute()) {
      return; // redirects and direct responses reach no cluster
    }
    RouteAction a = r.getRoute();
    List<String> targets = targetClusters(a);
    if (targets.isEmpty()) {
      problem(rw + ": uses " + a.getClusterSpecifierCase() + "; only named clusters can be checked");
    }
    for (String c : targets) {
      if (!clusters.containsKey(c)) {
        problem(rw + ": points at cluster '" + c + "', which does not exist (clusters: " + clusters.keySet() + ")");
      }
    }
    if (a.getHashPolicyCount() > 0) {
      for (String c : targets) {
        Cluster cl = clusters.get(c);
        if (cl != null && !consistentHashing(cl)) {
          problem(rw + ": has a hash_policy but cluster " + c + " uses " + cl.getLbPolicy()
              + "; hashing only works with RING_HASH or MAGLEV");
        }
        hashedClusters.putIfAbsent(c, rw);
      }
    }
    for (var u : a.getUpgradeConfigsList()) {
      boolean enabled = !u.hasEnabled() || u.getEnabled().getValue();
      if (!enabled) {
        continue;
      }
      boolean wsRoute = r.getMatch().getPathSpecifierCase() == RouteMatch.PathSpecifierCase.PATH
          && r.getMatch().getPath().equals(WS_PATH);
      if (!u.getUpgradeType().equalsIgnoreCase("websocket")) {
        problem(rw + ": enables upgrade '" + u.getUpgradeType() + "'; only WebSocket on " + WS_PATH + " is allowed");
      } else if (!wsRoute) {
        problem(rw + ": enables WebSocket upgrades; they are allowed only on the exact path " + WS_PATH + " route");
      }
    }
  }

  private static boolean consistentHashing(Cluster c) {
    if (c.hasLoadBalancingPolicy()) {
      return c.getLoadBalancingPolicy().getPoliciesList().stream()
          .map(p -> p.getTypedExtensionConfig().getTypedConfig().getTypeUrl())
          .findFirst()
          .map(u -> u.endsWith("ring_hash.v3.RingHash") || u.endsWith("maglev.v3.Maglev"))
          .orElse(false);
    }
    return c.getLbPolicy() == Cluster.LbPolicy.RING_HASH || c.getLbPolicy() == Cluster.LbPolicy.MAGLEV;
  }

  /** Which route a request path reaches in a connection manager (first match wins, like Envoy). */
  private static Optional<Map.Entry<VirtualHost, Route>> resolve(HttpConnectionManager hcm, String requestPath) {
    String path = requestPath.contains("?") ? requestPath.substring(0, requestPath.indexOf('?')) : requestPath;
    for (VirtualHost vh : hcm.getRouteConfig().getVirtualHostsList()) {
      for (Route r : vh.getRoutesList()) {
        RouteMatch m = r.getMatch();
        boolean match = switch (m.getPathSpecifierCase()) {
          case PREFIX -> requestPath.startsWith(m.getPrefix());
          case PATH -> path.equals(m.getPath());
          case PATH_SEPARATED_PREFIX -> path.equals(m.getPathSeparatedPrefix())
              || path.startsWith(m.getPathSeparatedPrefix() + "/");
          case SAFE_REGEX -> Pattern.compile(m.getSafeRegex().getRegex()).matcher(path).matches();
          default -> false;
        };
        if (match) {
          return Optional.of(Map.entry(vh, r));
        }
      }
      // all virtual hosts are searched: the checker does not model Host headers
    }
    return Optional.empty();
  }

  private enum Kind { GRPC_STREAM, WS_STREAM, SESSION_UNARY, UNARY }

  private void checkPaths(Hcm h) {
    Map<String, Kind> paths = new LinkedHashMap<>();
    paths.put(CONNECT, Kind.GRPC_STREAM);
    paths.put(RECEIVE, Kind.GRPC_STREAM);
    paths.put(WS_REQUEST, Kind.WS_STREAM);
    paths.put(TERMINATE, Kind.SESSION_UNARY);
    paths.put(SEND, Kind.SESSION_UNARY);
    paths.put(CREATE, Kind.UNARY);
    Set<String> required = new HashSet<>(Set.of(CONNECT, TERMINATE, CREATE));
    if (h.browser()) {
      required.addAll(Set.of(RECEIVE, SEND, WS_REQUEST));
    }
    for (var e : paths.entrySet()) {
      String p = e.getKey();
      var hit = resolve(h.hcm(), p);
      if (hit.isEmpty()) {
        if (required.contains(p)) {
          problem(h.where() + ": no route for " + p + (h.browser() ? " (browser listener)" : ""));
        }
        continue;
      }
      VirtualHost vh = hit.get().getKey();
      Route r = hit.get().getValue();
      String rw = h.where() + " route " + routeName(vh, r) + " [" + p + "]";
      if (!r.hasRoute()) {
        problem(rw + ": is not a forwarding route");
        continue;
      }
      RouteMatch m = r.getMatch();
      if (m.hasGrpc() || m.getHeadersCount() > 0 || m.getQueryParametersCount() > 0 || m.hasRuntimeFraction()) {
        problem(rw + ": matches on headers/grpc/query/runtime as well as the path; CORS preflights and gRPC-Web "
            + "requests (application/grpc-web*) would miss it. Match relay routes on the path only");
      }
      RouteAction a = r.getRoute();
      boolean wsEnabled = a.getUpgradeConfigsList().stream()
          .anyMatch(u -> u.getUpgradeType().equalsIgnoreCase("websocket") && (!u.hasEnabled() || u.getEnabled().getValue()));
      switch (e.getValue()) {
        case GRPC_STREAM -> {
          checkStreamTimeouts(h, rw, a);
          checkHash(rw, a, true);
          if (wsEnabled) problem(rw + ": gRPC route enables WebSocket upgrades");
          for (String c : targetClusters(a)) checkGrpcCluster(rw, c);
        }
        case WS_STREAM -> {
          checkStreamTimeouts(h, rw, a);
          checkHash(rw, a, false);
          if (!wsEnabled) problem(rw + ": WebSocket upgrade is not enabled on the " + WS_PATH + " route");
          for (String c : targetClusters(a)) checkWsCluster(rw, c);
        }
        case SESSION_UNARY -> {
          checkHash(rw, a, true);
          for (String c : targetClusters(a)) checkGrpcCluster(rw, c);
        }
        case UNARY -> {
          for (String c : targetClusters(a)) checkGrpcCluster(rw, c);
        }
      }
      if (h.browser() && e.getValue() != Kind.WS_STREAM) {
        checkCors(rw, vh, r);
      }
    }
  }

  private void checkStreamTimeouts(Hcm h, String rw, RouteAction a) {
    if (!a.hasTimeout()) {
      problem(rw + ": timeout is unset, so Envoy's default 15s applies and cuts the stream; stream routes need timeout: 0s");
    } else if (seconds(a.getTimeout()) != 0) {
      problem(rw + ": timeout is " + fmt(a.getTimeout()) + "; stream routes need timeout: 0s (any finite timeout cuts long streams)");
    }
    Duration idle = a.hasIdleTimeout() ? a.getIdleTimeout()
        : h.hcm().hasStreamIdleTimeout() ? h.hcm().getStreamIdleTimeout()
        : Duration.newBuilder().setSeconds(DEFAULT_STREAM_IDLE_SECONDS).build();
    double idleS = seconds(idle);
    if (idleS != 0 && idleS < MIN_STREAM_IDLE_SECONDS) {
      problem(rw + ": idle timeout " + fmt(idle) + " is too short for the " + HEARTBEAT_SECONDS
          + "s client heartbeat; use at least " + MIN_STREAM_IDLE_SECONDS + "s (HTTP/2 PINGs do not reset it)");
    }
    if (a.hasMaxStreamDuration() && a.getMaxStreamDuration().hasMaxStreamDuration()
        && seconds(a.getMaxStreamDuration().getMaxStreamDuration()) > 0) {
      problem(rw + ": max_stream_duration " + fmt(a.getMaxStreamDuration().getMaxStreamDuration())
          + " cuts healthy long streams");
    }
  }

  private void checkHash(String rw, RouteAction a, boolean header) {
    if (a.getHashPolicyCount() == 0) {
      problem(rw + ": no hash_policy; the session's streams would land on random relays");
      return;
    }
    var p = a.getHashPolicy(0);
    if (header) {
      if (!p.hasHeader() || !p.getHeader().getHeaderName().equalsIgnoreCase(SESSION_HEADER)) {
        problem(rw + ": must hash on the " + SESSION_HEADER + " header first, hashes on " + p.getPolicySpecifierCase());
      }
    } else if (!p.hasQueryParameter() || !p.getQueryParameter().getName().equals(SESSION_QUERY)) {
      problem(rw + ": must hash on the '" + SESSION_QUERY + "' query parameter first, hashes on " + p.getPolicySpecifierCase());
    }
  }

  private void checkCors(String rw, VirtualHost vh, Route r) {
    Any any = r.getTypedPerFilterConfigMap().getOrDefault(CORS, vh.getTypedPerFilterConfigMap().get(CORS));
    if (any == null) {
      problem(rw + ": no CORS policy (typed_per_filter_config[\"" + CORS + "\"] on the virtual host or route); "
          + "the CORS filter does nothing without it");
      return;
    }
    Optional<CorsPolicy> cp = unpack(any, CorsPolicy.class, rw + " CORS policy");
    if (cp.isEmpty()) {
      return;
    }
    CorsPolicy p = cp.get();
    Set<String> expose = csv(p.getExposeHeaders());
    for (String hdr : List.of("grpc-status", "grpc-message")) {
      if (!expose.contains(hdr)) {
        problem(rw + ": CORS expose_headers " + expose + " lacks " + hdr + "; browsers cannot read gRPC-Web errors");
      }
    }
    Set<String> allow = csv(p.getAllowHeaders());
    // traceparent: the browser SDK's gRPC-Web requests carry the page's W3C trace context.
    for (String hdr : List.of("content-type", "x-grpc-web", SESSION_HEADER, "traceparent")) {
      if (!allow.contains(hdr)) {
        problem(rw + ": CORS allow_headers " + allow + " lacks " + hdr);
      }
    }
    if (p.getAllowOriginStringMatchCount() == 0) {
      problem(rw + ": CORS allows no origin");
    }
    for (var m : p.getAllowOriginStringMatchList()) {
      boolean wildcard = (m.hasExact() && m.getExact().equals("*")) || (m.hasPrefix() && m.getPrefix().isEmpty())
          || (m.hasSafeRegex() && m.getSafeRegex().getRegex().matches("\\.[*+]"));
      if (wildcard) {
        problem(rw + ": CORS allows every origin; list the app origins");
      }
    }
  }

  private static Set<String> csv(String s) {
    Set<String> r = new HashSet<>();
    for (String part : s.split(",")) {
      if (!part.isBlank()) r.add(part.trim().toLowerCase(Locale.ROOT));
    }
    return r;
  }

  // ------------------------------------------------------------------------------------------
  // clusters
  // ------------------------------------------------------------------------------------------

  private Optional<Http2ProtocolOptions> upstreamHttp2(Cluster c) {
    Any opts = c.getTypedExtensionProtocolOptionsMap().get(HTTP_OPTIONS);
    if (opts == null) {
      return Optional.empty();
    }
    return unpack(opts, HttpProtocolOptions.class, "cluster " + c.getName())
        .filter(o -> o.hasExplicitHttpConfig() && o.getExplicitHttpConfig().hasHttp2ProtocolOptions())
        .map(o -> o.getExplicitHttpConfig().getHttp2ProtocolOptions());
  }

  private final Set<String> checkedClusters = new HashSet<>();

  private void checkGrpcCluster(String rw, String name) {
    Cluster c = clusters.get(name);
    if (c == null || !checkedClusters.add("grpc:" + name)) {
      return;
    }
    String cw = "cluster " + name + " (gRPC, used by " + rw + ")";
    Optional<Http2ProtocolOptions> h2 = upstreamHttp2(c);
    if (h2.isEmpty()) {
      problem(cw + ": not HTTP/2 upstream; set typed_extension_protocol_options[\"" + HTTP_OPTIONS
          + "\"].explicit_http_config.http2_protocol_options");
    } else if (!h2.get().getConnectionKeepalive().hasInterval()) {
      problem(cw + ": no HTTP/2 connection_keepalive towards the relay");
    }
    if (c.getHealthChecksList().stream().noneMatch(HealthCheck::hasGrpcHealthCheck)) {
      problem(cw + ": no gRPC health check (grpc_health_check); draining relays would keep getting new sessions");
    }
    checkCapacity(cw, c, false);
  }

  private void checkWsCluster(String rw, String name) {
    Cluster c = clusters.get(name);
    if (c == null || !checkedClusters.add("ws:" + name)) {
      return;
    }
    String cw = "cluster " + name + " (WebSocket, used by " + rw + ")";
    if (upstreamHttp2(c).isPresent()) {
      problem(cw + ": is HTTP/2 upstream; the relay's WebSocket port speaks HTTP/1.1");
    }
    boolean healthz = c.getHealthChecksList().stream()
        .anyMatch(hc -> hc.hasHttpHealthCheck() && hc.getHttpHealthCheck().getPath().equals(HEALTHZ));
    if (!healthz) {
      problem(cw + ": no HTTP health check on " + HEALTHZ);
    }
    checkCapacity(cw, c, true);
  }

  private void checkCapacity(String cw, Cluster c, boolean connectionPerStream) {
    Optional<CircuitBreakers.Thresholds> t = c.getCircuitBreakers().getThresholdsList().stream()
        .filter(x -> x.getPriority() == RoutingPriority.DEFAULT).findFirst();
    long maxRequests = t.filter(CircuitBreakers.Thresholds::hasMaxRequests).map(x -> (long) x.getMaxRequests().getValue()).orElse(1024L);
    long maxConnections = t.filter(CircuitBreakers.Thresholds::hasMaxConnections).map(x -> (long) x.getMaxConnections().getValue()).orElse(1024L);
    if (maxRequests < MIN_STREAM_CAPACITY) {
      problem(cw + ": circuit breaker max_requests " + maxRequests + " caps open streams (every open stream counts); "
          + "size it for long-lived streams (>= " + MIN_STREAM_CAPACITY + ")");
    }
    if (connectionPerStream && maxConnections < MIN_STREAM_CAPACITY) {
      problem(cw + ": circuit breaker max_connections " + maxConnections + " caps WebSockets (one upstream connection each); "
          + "size it for long-lived streams (>= " + MIN_STREAM_CAPACITY + ")");
    }
  }

  /** hash_key per endpoint must be present, unique and identical across every hashed cluster. */
  private void checkHashKeys() {
    Map<String, Map<String, String>> keysByCluster = new TreeMap<>();
    for (String name : hashedClusters.keySet()) {
      Cluster c = clusters.get(name);
      if (c == null) {
        continue;
      }
      Map<String, String> keyToHost = new TreeMap<>();
      for (LocalityLbEndpoints loc : c.getLoadAssignment().getEndpointsList()) {
        for (LbEndpoint e : loc.getLbEndpointsList()) {
          SocketAddress sa = e.getEndpoint().getAddress().getSocketAddress();
          Struct lb = e.getMetadata().getFilterMetadataMap().get("envoy.lb");
          String key = lb == null ? null : Optional.ofNullable(lb.getFieldsMap().get("hash_key"))
              .map(Value::getStringValue).filter(s -> !s.isEmpty()).orElse(null);
          if (key == null) {
            problem("cluster " + name + ": endpoint " + sa.getAddress() + ":" + sa.getPortValue()
                + " has no metadata filter_metadata[\"envoy.lb\"].hash_key; the ring would hash ip:port, "
                + "which differs between the gRPC and WebSocket ports");
            continue;
          }
          if (keyToHost.put(key, sa.getAddress()) != null) {
            problem("cluster " + name + ": hash_key " + key + " is used by more than one endpoint");
          }
        }
      }
      keysByCluster.put(name, keyToHost);
    }
    if (keysByCluster.size() < 2) {
      return;
    }
    var it = keysByCluster.entrySet().iterator();
    var first = it.next();
    while (it.hasNext()) {
      var other = it.next();
      if (!first.getValue().keySet().equals(other.getValue().keySet())) {
        problem("hash keys differ between cluster " + first.getKey() + " " + first.getValue().keySet()
            + " and cluster " + other.getKey() + " " + other.getValue().keySet()
            + "; the gRPC stream and the WebSocket of one session would reach different relays");
      } else if (!first.getValue().equals(other.getValue())) {
        problem("hash keys map to different hosts in cluster " + first.getKey() + " " + first.getValue()
            + " and cluster " + other.getKey() + " " + other.getValue());
      }
    }
  }

  // ------------------------------------------------------------------------------------------
  // observability
  // ------------------------------------------------------------------------------------------

  private void checkTracing(String where, HttpConnectionManager hcm) {
    if (!hcm.hasTracing() || !hcm.getTracing().hasProvider()) {
      problem(where + ": no tracing provider");
      return;
    }
    var tracing = hcm.getTracing();
    for (CustomTag t : tracing.getCustomTagsList()) {
      checkCustomTag(where + " tracing", t);
    }
    if (!tracing.hasMaxPathTagLength() || tracing.getMaxPathTagLength().getValue() > MAX_PATH_TAG_LENGTH) {
      problem(where + ": tracing.max_path_tag_length is "
          + (tracing.hasMaxPathTagLength() ? tracing.getMaxPathTagLength().getValue() : "unset (256)")
          + ": a span's http.url tag would keep the WebSocket join's raw session id (" + WS_PATH + "?"
          + SESSION_QUERY + "=<id>); set it to at most " + MAX_PATH_TAG_LENGTH + ". The relay's spans carry the id "
          + "hashed, a hash Envoy cannot compute, so Envoy must not carry it at all");
    }
    var p = tracing.getProvider();
    if (!p.getTypedConfig().is(OpenTelemetryConfig.class)) {
      problem(where + ": tracing provider is " + p.getTypedConfig().getTypeUrl() + ", expected OpenTelemetryConfig");
      return;
    }
    unpack(p.getTypedConfig(), OpenTelemetryConfig.class, where).ifPresent(otel -> {
      String c = otel.getGrpcService().getEnvoyGrpc().getClusterName();
      if (c.isEmpty() || !clusters.containsKey(c)) {
        problem(where + ": OpenTelemetry exporter points at cluster '" + c + "', which does not exist");
      } else if (upstreamHttp2(clusters.get(c)).isEmpty()) {
        problem(where + ": OpenTelemetry collector cluster " + c + " is not HTTP/2 (OTLP/gRPC needs it)");
      }
    });
  }

  /** A span tag must not copy the raw session id (the relay's spans carry it hashed). */
  private void checkCustomTag(String where, CustomTag t) {
    boolean raw = (t.hasRequestHeader() && t.getRequestHeader().getName().equalsIgnoreCase(SESSION_HEADER))
        || t.toString().toLowerCase(Locale.ROOT).contains(SESSION_HEADER);
    if (raw) {
      problem(where + ": custom tag '" + t.getTag() + "' copies the raw session id (" + SESSION_HEADER + ") into "
          + "spans. The relay's spans carry it hashed (relay.session.id_hash), a hash Envoy cannot compute: drop the "
          + "tag (the relay's child span in the same trace has the hash)");
    }
  }

  private void checkAccessLogs(String where, HttpConnectionManager hcm) {
    if (hcm.getAccessLogCount() == 0) {
      problem(where + ": no access log");
    }
    for (AccessLog log : hcm.getAccessLogList()) {
      String lw = where + " access_log " + log.getName();
      Any tc = log.getTypedConfig();
      SubstitutionFormatString fmt = null;
      List<String> legacy = new ArrayList<>();
      if (tc.is(StdoutAccessLog.class)) {
        fmt = unpack(tc, StdoutAccessLog.class, lw).map(StdoutAccessLog::getLogFormat).orElse(null);
      } else if (tc.is(StderrAccessLog.class)) {
        fmt = unpack(tc, StderrAccessLog.class, lw).map(StderrAccessLog::getLogFormat).orElse(null);
      } else if (tc.is(FileAccessLog.class)) {
        FileAccessLog f = unpack(tc, FileAccessLog.class, lw).orElse(null);
        if (f != null) {
          fmt = f.hasLogFormat() ? f.getLogFormat() : null;
          legacy.add(f.getFormat());
          strings(f.getJsonFormat(), legacy);
          strings(f.getTypedJsonFormat(), legacy);
        }
      } else {
        problem(lw + ": unsupported access logger " + tc.getTypeUrl() + " (cannot check it for secrets)");
        continue;
      }
      List<String> formats = new ArrayList<>(legacy);
      if (fmt == null || !fmt.hasJsonFormat()) {
        problem(lw + ": access logs must be JSON (log_format.json_format)");
      }
      if (fmt != null) {
        strings(fmt.getJsonFormat(), formats);
        formats.add(fmt.getTextFormat());
        formats.add(fmt.getTextFormatSource().getInlineString());
      }
      for (String s : formats) {
        checkLogFormat(lw, s);
      }
    }
  }

  private static void strings(Struct s, List<String> out) {
    for (Value v : s.getFieldsMap().values()) {
      strings(v, out);
    }
  }

  private static void strings(Value v, List<String> out) {
    switch (v.getKindCase()) {
      case STRING_VALUE -> out.add(v.getStringValue());
      case STRUCT_VALUE -> strings(v.getStructValue(), out);
      case LIST_VALUE -> v.getListValue().getValuesList().forEach(x -> strings(x, out));
      default -> { }
    }
  }

  private void checkLogFormat(String lw, String s) {
    Matcher m = HEADER_OPERATOR.matcher(s);
    while (m.find()) {
      for (String header : m.group(2).split("\\?")) {
        String h = header.trim().toLowerCase(Locale.ROOT);
        boolean secret = SECRET_HEADERS.contains(h) || (h.contains("auth") && !h.equals(":authority"))
            || h.contains("token") || h.contains("ticket") || h.contains("secret") || h.contains("password")
            || h.contains("cookie") || h.contains("api-key");
        if (h.equals(SESSION_HEADER)) {
          continue; // reported below, once per format string
        }
        if (secret) {
          problem(lw + ": logs " + m.group() + "; never log credentials (authorization, cookies, tickets)");
        } else if (QUERY_BEARING_HEADERS.contains(h) && !m.group(1).equals("REQ_WITHOUT_QUERY")) {
          problem(lw + ": logs " + m.group() + ", which includes the query string; log %PATH(NQ)% instead");
        }
      }
    }
    m = PATH_OPERATOR.matcher(s);
    while (m.find()) {
      String args = m.group(2);
      if (args == null || !args.trim().toUpperCase(Locale.ROOT).startsWith("NQ")) {
        problem(lw + ": logs " + m.group() + " with the query string (WQ is the default); use %PATH(NQ)%");
      }
    }
    m = QUERY_OPERATOR.matcher(s);
    while (m.find()) {
      problem(lw + ": logs query parameter '" + m.group(1) + "' (" + m.group() + "); no query parameter may be "
          + "logged: the WebSocket's '" + SESSION_QUERY + "' is the raw session id");
    }
    if (s.toLowerCase(Locale.ROOT).contains(SESSION_HEADER)) {
      problem(lw + ": logs the raw session id (" + SESSION_HEADER + ") in '" + s + "'. The relay logs and traces it "
          + "hashed, a hash Envoy cannot compute: leave it out and join records to the relay's through %TRACE_ID%");
    }
  }

  // ------------------------------------------------------------------------------------------
  // helpers
  // ------------------------------------------------------------------------------------------

  private <T extends Message> Optional<T> unpack(Any any, Class<T> type, String where) {
    if (!any.is(type)) {
      problem(where + ": expected " + type.getSimpleName() + " but found " + any.getTypeUrl());
      return Optional.empty();
    }
    try {
      return Optional.of(any.unpack(type));
    } catch (InvalidProtocolBufferException e) {
      problem(where + ": cannot unpack " + type.getSimpleName() + ": " + e.getMessage());
      return Optional.empty();
    }
  }

  private static double seconds(Duration d) {
    return d.getSeconds() + d.getNanos() / 1e9;
  }

  private static String fmt(Duration d) {
    return d.getNanos() == 0 ? d.getSeconds() + "s" : String.format(Locale.ROOT, "%.3fs", seconds(d));
  }

  static String describe(List<String> problems) {
    StringBuilder sb = new StringBuilder();
    for (String p : problems) {
      sb.append("\n  - ").append(p);
    }
    return sb.toString();
  }
}
