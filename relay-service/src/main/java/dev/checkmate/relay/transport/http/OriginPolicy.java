package dev.checkmate.relay.transport.http;

import java.net.URI;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Which browser pages may use the HTTP port (WebSocket and gRPC-Web), by their {@code Origin}.
 *
 * <ul>
 *   <li>No {@code Origin} header: allowed. Browsers always send it on WebSocket handshakes and
 *       cross-origin requests, so its absence means a non-browser client, which a ticket already
 *       authorizes; the check only stops other sites' pages from using a visitor's browser.
 *   <li>An origin in the allow-list ({@code --allowed-origin https://app.example.com}), or any
 *       origin when the list holds {@code *}: allowed.
 *   <li>While the relay is bound to a loopback address (development), pages from loopback origins
 *       ({@code http://localhost:*}, {@code http://127.0.0.1:*}, {@code http://[::1]:*}) are
 *       allowed too.
 *   <li>Everything else, including {@code Origin: null} (sandboxed frames, file://): refused.
 * </ul>
 */
public final class OriginPolicy {
  private final Set<String> allowed;
  private final boolean any;
  private final boolean loopbackOrigins;

  public OriginPolicy(List<String> allowedOrigins, boolean loopbackOrigins) {
    this.allowed = allowedOrigins.stream().map(o -> o.toLowerCase(Locale.ROOT)).collect(Collectors.toUnmodifiableSet());
    this.any = allowed.contains("*");
    this.loopbackOrigins = loopbackOrigins;
  }

  public boolean allows(String origin) {
    if (origin == null) {
      return true;
    }
    String o = origin.trim().toLowerCase(Locale.ROOT);
    if (any || allowed.contains(o)) {
      return true;
    }
    return loopbackOrigins && isLoopback(o);
  }

  private static boolean isLoopback(String origin) {
    try {
      URI uri = new URI(origin);
      String host = uri.getHost();
      return ("http".equals(uri.getScheme()) || "https".equals(uri.getScheme()))
          && host != null
          && (host.equals("localhost") || host.equals("[::1]") || host.equals("::1") || host.startsWith("127."));
    } catch (java.net.URISyntaxException e) {
      return false;
    }
  }
}
