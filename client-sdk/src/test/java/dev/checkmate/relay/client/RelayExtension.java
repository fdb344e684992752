package dev.checkmate.relay.client;

import dev.checkmate.relay.RelayConfig;
import dev.checkmate.relay.RelayServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Starts a real relay on an ephemeral loopback port before each test and stops it after, and
 * closes every client a test made through {@link #client}. Real sockets, nothing mocked.
 */
final class RelayExtension implements BeforeEachCallback, AfterEachCallback {
  private final UnaryOperator<RelayConfig.Builder> customizer;
  private final List<AutoCloseable> toClose = new ArrayList<>();
  private RelayServer relay;

  RelayExtension() {
    this(b -> b);
  }

  RelayExtension(UnaryOperator<RelayConfig.Builder> customizer) {
    this.customizer = customizer;
  }

  @Override
  public void beforeEach(ExtensionContext context) throws Exception {
    // No drain wait at shutdown: a test that leaves a session open should not cost 30 s.
    relay = RelayServer.start(
        customizer.apply(RelayConfig.builder().grpcPort(0).drainTimeout(Duration.ZERO)).build());
  }

  @Override
  public void afterEach(ExtensionContext context) throws Exception {
    for (int i = toClose.size() - 1; i >= 0; i--) {
      toClose.get(i).close();
    }
    toClose.clear();
    relay.close();
  }

  RelayServer relay() {
    return relay;
  }

  String target() {
    return "127.0.0.1:" + relay.grpcPort();
  }

  /** A plaintext client of this relay, closed after the test. */
  RelayClient client() {
    return client(b -> b);
  }

  RelayClient client(UnaryOperator<RelayClient.Builder> customizer) {
    RelayClient client =
        customizer.apply(RelayClient.builder().target(target()).usePlaintext()).build();
    toClose.add(client);
    return client;
  }

  <T extends AutoCloseable> T closeLater(T closeable) {
    toClose.add(closeable);
    return closeable;
  }
}
