package dev.checkmate.relay.envoy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Navigation and edits on the YAML tree of envoy.yaml, used to build broken copies in memory. */
final class ConfigTree {
  private ConfigTree() {}

  static ObjectNode listener(JsonNode root, String name) {
    for (JsonNode l : root.path("static_resources").path("listeners")) {
      if (name.equals(l.path("name").asText())) {
        return (ObjectNode) l;
      }
    }
    throw new IllegalArgumentException("no listener " + name);
  }

  static ObjectNode cluster(JsonNode root, String name) {
    for (JsonNode c : root.path("static_resources").path("clusters")) {
      if (name.equals(c.path("name").asText())) {
        return (ObjectNode) c;
      }
    }
    throw new IllegalArgumentException("no cluster " + name);
  }

  /** The HttpConnectionManager typed_config of the listener's first filter chain. */
  static ObjectNode hcm(JsonNode root, String listener) {
    for (JsonNode f : listener(root, listener).path("filter_chains").path(0).path("filters")) {
      if (f.path("name").asText().equals(RelayEdgeRules.HCM)) {
        return (ObjectNode) f.path("typed_config");
      }
    }
    throw new IllegalArgumentException("no HCM on " + listener);
  }

  /** The DownstreamTlsContext typed_config of the listener's first filter chain. */
  static ObjectNode tls(JsonNode root, String listener) {
    return (ObjectNode) listener(root, listener).path("filter_chains").path(0).path("transport_socket").path("typed_config");
  }

  static ObjectNode virtualHost(JsonNode root, String listener) {
    return (ObjectNode) hcm(root, listener).path("route_config").path("virtual_hosts").path(0);
  }

  static ObjectNode route(JsonNode root, String listener, String routeName) {
    for (JsonNode vh : hcm(root, listener).path("route_config").path("virtual_hosts")) {
      for (JsonNode r : vh.path("routes")) {
        if (routeName.equals(r.path("name").asText())) {
          return (ObjectNode) r;
        }
      }
    }
    throw new IllegalArgumentException("no route " + routeName + " on " + listener);
  }

  static ObjectNode httpFilter(JsonNode root, String listener, String filterName) {
    for (JsonNode f : hcm(root, listener).path("http_filters")) {
      if (filterName.equals(f.path("name").asText())) {
        return (ObjectNode) f;
      }
    }
    throw new IllegalArgumentException("no HTTP filter " + filterName + " on " + listener);
  }

  static ObjectNode endpointMetadataLb(JsonNode root, String cluster, int index) {
    return (ObjectNode) cluster(root, cluster).path("load_assignment").path("endpoints").path(0)
        .path("lb_endpoints").path(index).path("metadata").path("filter_metadata").path("envoy.lb");
  }

  static ObjectNode jsonLogFormat(JsonNode root, String listener) {
    return (ObjectNode) hcm(root, listener).path("access_log").path(0).path("typed_config")
        .path("log_format").path("json_format");
  }

  /** Renames a key in place, keeping the field order; fails if the key is absent. */
  static void rename(ObjectNode node, String from, String to) {
    if (!node.has(from)) {
      throw new IllegalArgumentException("no field " + from + " in " + node);
    }
    List<Map.Entry<String, JsonNode>> fields = new ArrayList<>();
    fields.addAll(node.properties());
    node.removeAll();
    for (Map.Entry<String, JsonNode> e : fields) {
      node.set(e.getKey().equals(from) ? to : e.getKey(), e.getValue());
    }
  }

  /** Removes a field; fails if it is absent (so a mutation never silently does nothing). */
  static void remove(ObjectNode node, String field) {
    if (node.remove(field) == null) {
      throw new IllegalArgumentException("no field " + field + " in " + node);
    }
  }

  static void moveElement(ArrayNode array, int from, int to) {
    JsonNode n = array.remove(from);
    array.insert(to, n);
  }
}
