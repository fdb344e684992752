package dev.checkmate.relay.testing;

import dev.checkmate.relay.RelayConfig;
import dev.checkmate.relay.RelayServer;
import dev.checkmate.relay.proto.v1.CreateSessionResponse;
import io.grpc.ManagedChannel;
import java.util.function.Consumer;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A real relay on a loopback port for a JUnit 5 test, started and stopped by JUnit ({@link TestRelay}
 * underneath). On a static field it serves the whole class; on an instance field each test gets a
 * fresh relay:
 *
 * <pre>{@code
 * @RegisterExtension
 * final RelayExtension relay = new RelayExtension(config -> config.maxFrameBytes(1024));
 *
 * @Test
 * void framesFlow() throws Exception {
 *   CreateSessionResponse s = relay.createSession();
 *   try (TestPeer p = relay.join(s.getProverTicket()); TestPeer v = relay.join(s.getVerifierTicket())) { ... }
 * }
 * }</pre>
 */
public final class RelayExtension implements BeforeAllCallback, AfterAllCallback, BeforeEachCallback, AfterEachCallback {
  private final Consumer<RelayConfig.Builder> configure;
  private TestRelay relay;
  private boolean perClass;

  /** A relay with the test defaults of {@link TestRelay#start(RelayConfig.Builder)}. */
  public RelayExtension() {
    this(config -> { });
  }

  /** A relay with the test defaults, then {@code configure}'s settings. */
  public RelayExtension(Consumer<RelayConfig.Builder> configure) {
    this.configure = configure;
  }

  @Override
  public void beforeAll(ExtensionContext context) throws Exception {
    perClass = true;
    relay = start();
  }

  @Override
  public void beforeEach(ExtensionContext context) throws Exception {
    if (relay == null) {
      relay = start();
    }
  }

  @Override
  public void afterEach(ExtensionContext context) throws Exception {
    if (!perClass) {
      stop();
    }
  }

  @Override
  public void afterAll(ExtensionContext context) throws Exception {
    stop();
  }

  private TestRelay start() throws Exception {
    RelayConfig.Builder builder = RelayConfig.builder();
    configure.accept(builder);
    return TestRelay.start(builder);
  }

  private void stop() throws InterruptedException {
    if (relay != null) {
      relay.close();
      relay = null;
    }
  }

  private TestRelay running() {
    if (relay == null) {
      throw new IllegalStateException("the relay runs only while a test of its class runs");
    }
    return relay;
  }

  public RelayServer server() {
    return running().server;
  }

  /** A plaintext channel to the relay's gRPC port. */
  public ManagedChannel channel() {
    return running().channel;
  }

  /** {@code 127.0.0.1:<grpc port>}. */
  public String target() {
    return "127.0.0.1:" + server().grpcPort();
  }

  public CreateSessionResponse createSession() {
    return running().createSession();
  }

  public CreateSessionResponse createSession(int ttlSeconds) {
    return running().createSession(ttlSeconds);
  }

  public TestPeer join(String ticket) {
    return running().join(ticket);
  }

  public TestPeer join(String ticket, long incarnation) {
    return running().join(ticket, incarnation);
  }
}
