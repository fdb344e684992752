package dev.checkmate.relay.cluster;

import dev.checkmate.relay.RelayConfig;
import dev.checkmate.relay.testing.TestRelay;
import java.nio.file.Path;
import java.util.function.UnaryOperator;

/** A real nats-server and two in-process relay nodes on it ("node-a", "node-b"), closed together. */
final class TwoNodes implements AutoCloseable {
  final NatsServer nats;
  final TestRelay a;
  final TestRelay b;

  private TwoNodes(NatsServer nats, TestRelay a, TestRelay b) {
    this.nats = nats;
    this.a = a;
    this.b = b;
  }

  static TwoNodes start(Path dir, UnaryOperator<RelayConfig.Builder> tweak) throws Exception {
    ClusterFixture.requireNats();
    NatsServer nats = NatsServer.builder(dir, "n1").start();
    TestRelay a = null;
    try {
      a = ClusterFixture.node(dir, "node-a", nats, tweak);
      return new TwoNodes(nats, a, ClusterFixture.node(dir, "node-b", nats, tweak));
    } catch (Exception | AssertionError e) {
      if (a != null) {
        a.close();
      }
      nats.close();
      throw e;
    }
  }

  @Override
  public void close() throws Exception {
    a.close();
    b.close();
    nats.close();
  }
}
