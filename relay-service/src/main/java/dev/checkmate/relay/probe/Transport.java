package dev.checkmate.relay.probe;

import java.util.Locale;

/** The three ways a participant reaches a relay, with what to check when one of them fails. */
enum Transport {
  GRPC("gRPC", "the edge must route /relay.v1.RelayService/Connect to the relays over HTTP/2 with no route timeout"
      + " (Envoy: timeout 0s and a hash policy on x-session-id; see envoy/README.md)"),
  WEBSOCKET("WebSocket", "the edge must upgrade /ws to the relays' HTTP port (Envoy: upgrade_configs websocket on the /ws route,"
      + " hash on the query parameter session); a relay reached directly needs --ws-port"),
  GRPC_WEB("gRPC-Web", "the edge must run the grpc_web filter and route /relay.v1.RelayService/Receive and /Send to the relays"
      + " (hash on x-session-id); a relay reached directly serves binary gRPC-Web on its --ws-port");

  final String label;
  final String fix;

  Transport(String label, String fix) {
    this.label = label;
    this.fix = fix;
  }

  /** A command-line name: grpc, websocket (ws), grpc-web. */
  static Transport parse(String name) {
    return switch (name.strip().toLowerCase(Locale.ROOT)) {
      case "grpc" -> GRPC;
      case "websocket", "ws" -> WEBSOCKET;
      case "grpc-web", "grpcweb", "grpc_web" -> GRPC_WEB;
      default -> throw new IllegalArgumentException("unknown transport " + name + " (grpc, websocket, grpc-web)");
    };
  }

  @Override
  public String toString() {
    return label;
  }
}
