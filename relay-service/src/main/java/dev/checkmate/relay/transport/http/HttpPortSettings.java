package dev.checkmate.relay.transport.http;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * The part of the relay's configuration the HTTP/1.1 port works with, and nothing else. Built from
 * the one {@code RelayConfig} by {@code RelayConfig.httpPortSettings()}.
 *
 * @param bindAddress address to listen on (the gRPC port's)
 * @param port port; 0 = any
 * @param tlsCertificate PEM chain; with the key, TLS 1.3 only
 * @param tlsPrivateKey PEM PKCS#8 key
 * @param allowedOrigins browser origins allowed besides clients without Origin
 * @param loopbackOnly bound to loopback: loopback origins are allowed too
 * @param devStaticDir development only: a folder served as static files
 * @param eventLoopThreads network threads
 * @param requestTimeout a whole request must arrive within this
 * @param idleTimeout a kept-alive connection idle this long is closed
 * @param trustedProxies proxies whose {@code x-forwarded-for} names the client
 * @param pingInterval keep-alive interval of WebSocket and gRPC-Web streams
 * @param maxFrameBytes largest frame payload
 */
public record HttpPortSettings(
    String bindAddress,
    int port,
    Optional<Path> tlsCertificate,
    Optional<Path> tlsPrivateKey,
    List<String> allowedOrigins,
    boolean loopbackOnly,
    Optional<Path> devStaticDir,
    int eventLoopThreads,
    Duration requestTimeout,
    Duration idleTimeout,
    List<String> trustedProxies,
    Duration pingInterval,
    int maxFrameBytes) {

  public HttpPortSettings {
    allowedOrigins = List.copyOf(allowedOrigins);
    trustedProxies = List.copyOf(trustedProxies);
  }

  public boolean tlsEnabled() {
    return tlsCertificate.isPresent();
  }
}
