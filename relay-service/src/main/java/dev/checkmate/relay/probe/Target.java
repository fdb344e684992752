package dev.checkmate.relay.probe;

import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.util.Locale;

/**
 * Where the probe connects: {@code https://host[:port]} (TLS, port 443 by default) or
 * {@code http://host:port} (plaintext, for a relay on loopback or a private network).
 */
record Target(boolean tls, String host, int port) {
  static Target parse(String text) {
    URI uri;
    try {
      uri = new URI(text.strip());
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException("not a URL: " + text + " (expected https://host[:port] or http://host:port)");
    }
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
    if (!scheme.equals("https") && !scheme.equals("http")) {
      throw new IllegalArgumentException("expected https://host[:port] or http://host:port, got " + text);
    }
    if (uri.getHost() == null) {
      throw new IllegalArgumentException("no host in " + text);
    }
    if (uri.getRawPath() != null && !uri.getRawPath().isEmpty() && !uri.getRawPath().equals("/")) {
      throw new IllegalArgumentException("give the endpoint without a path (the probe knows the paths): " + text);
    }
    boolean tls = scheme.equals("https");
    String host = uri.getHost().startsWith("[") ? uri.getHost().substring(1, uri.getHost().length() - 1) : uri.getHost();
    int port = uri.getPort() >= 0 ? uri.getPort() : tls ? 443 : 80;
    return new Target(tls, host, port);
  }

  /** host:port as gRPC and logs write it (IPv6 in brackets). */
  String authority() {
    return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
  }

  URI http(String pathAndQuery) {
    return URI.create((tls ? "https://" : "http://") + authority() + pathAndQuery);
  }

  URI webSocket(String pathAndQuery) {
    return URI.create((tls ? "wss://" : "ws://") + authority() + pathAndQuery);
  }

  /** True when the host is a loopback address (or resolves only to one, like localhost). */
  boolean loopback() {
    try {
      for (InetAddress a : InetAddress.getAllByName(host)) {
        if (!a.isLoopbackAddress()) {
          return false;
        }
      }
      return true;
    } catch (UnknownHostException e) {
      return false;
    }
  }

  @Override
  public String toString() {
    return (tls ? "https://" : "http://") + authority();
  }
}
