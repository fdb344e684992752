package dev.checkmate.relay.testing;

import static org.assertj.core.api.Assertions.assertThat;

import dev.checkmate.relay.RelayServer;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The fixture's two lifetimes: one relay for the class (static field), a fresh one per test (instance field). */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RelayExtensionTest {
  @RegisterExtension
  static final RelayExtension shared = new RelayExtension(config -> config.maxFrameBytes(1234));

  @RegisterExtension
  final RelayExtension fresh = new RelayExtension();

  private static final List<RelayServer> sharedSeen = new ArrayList<>();
  private static final List<RelayServer> freshSeen = new ArrayList<>();
  private static final List<io.grpc.ManagedChannel> sharedChannels = new ArrayList<>();
  private static final List<io.grpc.ManagedChannel> freshChannels = new ArrayList<>();

  @Test
  @Order(1)
  void first() {
    record();
  }

  @Test
  @Order(2)
  void secondSeesTheSameSharedRelayAndANewFreshOne() {
    record();
    assertThat(sharedSeen.get(1)).isSameAs(sharedSeen.get(0));
    assertThat(freshSeen.get(1)).isNotSameAs(freshSeen.get(0));
    assertThat(freshChannels.get(0).isShutdown()).as("the first test's fresh relay was stopped").isTrue();
    assertThat(sharedChannels.get(0).isShutdown()).as("the shared relay still serves").isFalse();
  }

  private void record() {
    sharedSeen.add(shared.server());
    freshSeen.add(fresh.server());
    sharedChannels.add(shared.channel());
    freshChannels.add(fresh.channel());
    // Both serve: a session is created and its prover joins.
    try (TestPeer p = shared.join(shared.createSession().getProverTicket())) {
      p.next(dev.checkmate.relay.proto.v1.ServerMessage.KindCase.JOINED);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
    assertThat(fresh.createSession().getSessionId()).isNotEmpty();
  }
}
