package dev.checkmate.relay.client;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.checkmate.relay.ticket.TicketIssuer;
import java.nio.ByteBuffer;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The SDK against a real relay on loopback: happy paths, back-pressure and every typed error. */
@Timeout(60)
class RelayClientTest {
  private static final Duration WAIT = Duration.ofSeconds(10);

  @RegisterExtension
  final RelayExtension relay =
      new RelayExtension(b -> b
          // Generous rates so the back-pressure test measures flow control, not rate limiting.
          .maxFramesPerSecond(1_000_000)
          .maxBytesPerSecond(1L << 32));

  private static byte[] bytes(String s) {
    return s.getBytes(UTF_8);
  }

  private static String text(byte[] b) {
    return new String(b, UTF_8);
  }

  @Test
  void createJoinAndExchangeFramesBothWays() throws Exception {
    RelayClient client = relay.client();
    SessionInvite invite = client.createSession(Duration.ofMinutes(5));
    assertThat(invite.sessionId()).hasSizeGreaterThanOrEqualTo(22);
    assertThat(invite.limits().maxFrameBytes()).isEqualTo(64 * 1024);
    assertThat(invite.endpoints()).isNotEmpty();
    assertThat(invite.toString()).doesNotContain(invite.proverTicket());

    try (RelaySession verifier = client.join(invite.verifierTicket());
        RelaySession prover = client.join(invite.proverTicket())) {
      assertThat(verifier.sessionId()).isEqualTo(invite.sessionId());
      assertThat(verifier.role()).isEqualTo(Role.VERIFIER);
      assertThat(prover.role()).isEqualTo(Role.PROVER);
      assertThat(prover.peerPresent()).isTrue();
      assertThat(verifier.awaitPeer(WAIT)).isTrue();

      for (int i = 1; i <= 3; i++) {
        prover.sendBlocking(bytes("p" + i));
      }
      verifier.sendBlocking(bytes("v1"));
      assertThat(text(verifier.receive(WAIT))).isEqualTo("p1");
      assertThat(text(verifier.receive(WAIT))).isEqualTo("p2");
      assertThat(text(verifier.receive(WAIT))).isEqualTo("p3");
      assertThat(text(prover.receive(WAIT))).isEqualTo("v1");
      assertThat(prover.receive(Duration.ofMillis(100))).as("nothing more").isNull();
    }
  }

  @Test
  void framesSentBeforeThePeerJoinsWaitAtTheRelay() throws Exception {
    RelayClient client = relay.client();
    SessionInvite invite = client.createSession();
    try (RelaySession verifier = client.join(invite.verifierTicket())) {
      assertThat(verifier.peerPresent()).isFalse();
      verifier.send(bytes("early 1"));
      verifier.send(bytes("early 2")).get(10, TimeUnit.SECONDS);
      try (RelaySession prover = client.join(invite.proverTicket())) {
        assertThat(text(prover.receive(WAIT))).isEqualTo("early 1");
        assertThat(text(prover.receive(WAIT))).isEqualTo("early 2");
      }
    }
  }

  @Test
  void callbackStyleDeliversFramesPeerEventsAndTheEnd() throws Exception {
    RelayClient client = relay.client();
    SessionInvite invite = client.createSession();
    BlockingQueue<String> events = new LinkedBlockingQueue<>();
    CompletableFuture<RelayException> ended = new CompletableFuture<>();
    SessionListener listener = new SessionListener() {
      @Override
      public void onFrame(RelaySession session, byte[] payload) {
        events.add("frame " + text(payload));
      }

      @Override
      public void onPeerJoined(RelaySession session) {
        events.add("peer joined");
      }

      @Override
      public void onPeerLeft(RelaySession session, String detail) {
        events.add("peer left");
      }

      @Override
      public void onEnded(RelaySession session, RelayException reason) {
        ended.complete(reason);
      }
    };
    try (RelaySession verifier = client.join(invite.verifierTicket(), listener)) {
      try (RelaySession prover = client.join(invite.proverTicket())) {
        assertThat(events.poll(10, TimeUnit.SECONDS)).isEqualTo("peer joined");
        prover.sendBlocking(bytes("hello"));
        prover.sendBlocking(bytes("world"));
        assertThat(events.poll(10, TimeUnit.SECONDS)).isEqualTo("frame hello");
        assertThat(events.poll(10, TimeUnit.SECONDS)).isEqualTo("frame world");
        assertThatThrownBy(() -> verifier.receive(WAIT)).isInstanceOf(IllegalStateException.class);
      }
      // The prover's stream was dropped without terminating: the session lives on.
      assertThat(events.poll(10, TimeUnit.SECONDS)).isEqualTo("peer left");
      assertThat(verifier.peerPresent()).isFalse();
      verifier.terminate("bye");
    }
    assertThat(ended.get(10, TimeUnit.SECONDS))
        .isInstanceOfSatisfying(SessionEndedException.class, e -> {
          assertThat(e.endReason()).isEqualTo(EndReason.TERMINATED);
          assertThat(e.endedBy()).isEqualTo(Role.VERIFIER);
          assertThat(e.code()).isEqualTo(StatusCode.OK);
        });
  }

  @Test
  void terminateReachesThePeerWithItsReason() throws Exception {
    RelayClient client = relay.client();
    SessionInvite invite = client.createSession();
    RelaySession verifier = relay.closeLater(client.join(invite.verifierTicket()));
    RelaySession prover = relay.closeLater(client.join(invite.proverTicket()));
    prover.sendBlocking(bytes("last words"));
    prover.terminate("proof complete");
    assertThat(prover.isOpen()).isFalse();

    // Frames sent before the terminate are still delivered, then the end.
    assertThat(text(verifier.receive(WAIT))).isEqualTo("last words");
    assertThatThrownBy(() -> verifier.receive(WAIT))
        .isInstanceOfSatisfying(SessionEndedException.class, e -> {
          assertThat(e.endReason()).isEqualTo(EndReason.TERMINATED);
          assertThat(e.endedBy()).isEqualTo(Role.PROVER);
          assertThat(e.reason()).isEqualTo("proof complete");
        });
    assertThatThrownBy(() -> verifier.send(bytes("too late")).join())
        .hasCauseInstanceOf(SessionEndedException.class);
    // Tickets of an ended session are dead.
    assertThatThrownBy(() -> client.join(invite.proverTicket()))
        .isInstanceOfSatisfying(SessionEndedException.class,
            e -> assertThat(e.code()).isEqualTo(StatusCode.FAILED_PRECONDITION));
  }

  @Test
  void framesStreamEndsWhenTheSessionIsTerminated() throws Exception {
    RelayClient client = relay.client();
    SessionInvite invite = client.createSession();
    try (RelaySession verifier = client.join(invite.verifierTicket());
        RelaySession prover = client.join(invite.proverTicket())) {
      for (String s : List.of("a", "b", "c")) {
        prover.send(bytes(s));
      }
      prover.terminate("done");
      assertThat(verifier.frames().map(RelayClientTest::text).collect(Collectors.joining()))
          .isEqualTo("abc");
    }
  }

  @Test
  void unaryTerminateEndsBothStreamsAndIsIdempotent() throws Exception {
    RelayClient client = relay.client();
    SessionInvite invite = client.createSession();
    try (RelaySession verifier = client.join(invite.verifierTicket())) {
      assertThat(client.terminate(invite.proverTicket(), "cancelled by the user")).isTrue();
      assertThatThrownBy(() -> verifier.receive(WAIT))
          .isInstanceOfSatisfying(SessionEndedException.class, e -> {
            assertThat(e.endReason()).isEqualTo(EndReason.TERMINATED);
            assertThat(e.endedBy()).isEqualTo(Role.PROVER);
            assertThat(e.reason()).isEqualTo("cancelled by the user");
          });
      assertThat(client.terminate(invite.proverTicket(), "again")).isFalse();
    }
  }

  @Test
  void forgedTicketIsRejected() throws Exception {
    RelayClient client = relay.client();
    SessionInvite invite = client.createSession();
    String ticket = invite.proverTicket();
    // Same header and claims, different signature.
    int dot = ticket.lastIndexOf('.');
    char last = ticket.charAt(dot + 1);
    String forged = ticket.substring(0, dot + 1) + (last == 'A' ? 'B' : 'A') + ticket.substring(dot + 2);
    assertThatThrownBy(() -> client.join(forged))
        .isInstanceOfSatisfying(TicketRejectedException.class, e -> {
          assertThat(e.code()).isEqualTo(StatusCode.UNAUTHENTICATED);
          assertThat(e.reason()).isNotEmpty();
        });
    assertThatThrownBy(() -> client.join("not-a-ticket")).isInstanceOf(TicketRejectedException.class);
    assertThatThrownBy(() -> client.terminate(forged, "x")).isInstanceOf(TicketRejectedException.class);
  }

  @Test
  void anotherTicketForATakenRoleIsRefused() throws Exception {
    RelayClient client = relay.client();
    SessionInvite invite = client.createSession();
    // A second, validly signed prover ticket for the same session (only the relay's key can make it).
    String secondProverTicket =
        new TicketIssuer(
                relay.relay().keys().signingKey().orElseThrow(),
                relay.relay().config().audience(),
                Clock.systemUTC())
            .issue(invite.sessionId(), dev.checkmate.relay.proto.v1.Role.PROVER, invite.expiresAt());
    try (RelaySession prover = client.join(invite.proverTicket())) {
      assertThatThrownBy(() -> client.join(secondProverTicket))
          .isInstanceOfSatisfying(RoleTakenException.class,
              e -> assertThat(e.code()).isEqualTo(StatusCode.ALREADY_EXISTS));
      assertThat(prover.isOpen()).isTrue();
    }
  }

  @Test
  void rejoiningWithTheSameTicketReplacesTheOldStream() throws Exception {
    RelayClient client = relay.client();
    SessionInvite invite = client.createSession();
    RelaySession first = relay.closeLater(client.join(invite.proverTicket()));
    try (RelaySession second = client.join(invite.proverTicket());
        RelaySession verifier = client.join(invite.verifierTicket())) {
      assertThatThrownBy(() -> first.receive(WAIT))
          .isInstanceOfSatisfying(RelayException.class,
              e -> assertThat(e.code()).isEqualTo(StatusCode.ABORTED));
      second.sendBlocking(bytes("from the new stream"));
      assertThat(text(verifier.receive(WAIT))).isEqualTo("from the new stream");
    }
  }

  @Test
  void createSessionNeedsTheIssuerKeyWhenTheRelayHasOne() throws Exception {
    try (RelayExtensionScope scope = new RelayExtensionScope(b -> b.issuerKeys(List.of("issuer-key-0123456789")))) {
      RelayClient anonymous = scope.client(b -> b);
      assertThatThrownBy(anonymous::createSession)
          .isInstanceOfSatisfying(NotAuthorizedException.class,
              e -> assertThat(e.code()).isEqualTo(StatusCode.PERMISSION_DENIED));
      RelayClient wrong = scope.client(b -> b.issuerKey("not-the-issuer-key-at-all"));
      assertThatThrownBy(wrong::createSession).isInstanceOf(NotAuthorizedException.class);
      RelayClient issuer = scope.client(b -> b.issuerKey("issuer-key-0123456789"));
      assertThat(issuer.createSession().sessionId()).isNotEmpty();
    }
  }

  @Test
  void breakingTheRateLimitEndsTheSessionForBoth() throws Exception {
    try (RelayExtensionScope scope = new RelayExtensionScope(b -> b.maxFramesPerSecond(5))) {
      RelayClient client = scope.client(b -> b);
      SessionInvite invite = client.createSession();
      try (RelaySession verifier = client.join(invite.verifierTicket());
          RelaySession prover = client.join(invite.proverTicket())) {
        for (int i = 0; i < 50 && prover.isOpen(); i++) {
          prover.send(bytes("flood " + i));
        }
        assertThatThrownBy(() -> {
          while (true) {
            prover.receive(WAIT);
          }
        }).isInstanceOfSatisfying(SessionEndedException.class, e -> {
          assertThat(e.endReason()).isEqualTo(EndReason.LIMIT_EXCEEDED);
          assertThat(e.endedBy()).isEqualTo(Role.PROVER);
          assertThat(e.code()).isEqualTo(StatusCode.RESOURCE_EXHAUSTED);
        });
        assertThatThrownBy(() -> verifier.frames().count())
            .isInstanceOfSatisfying(SessionEndedException.class, e -> {
              assertThat(e.endReason()).isEqualTo(EndReason.LIMIT_EXCEEDED);
              assertThat(e.code()).isEqualTo(StatusCode.ABORTED);
            });
      }
    }
  }

  @Test
  void unreachableRelayIsUnavailable() throws Exception {
    int port;
    try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
      port = s.getLocalPort();
    }
    RelayClient client = relay.closeLater(
        RelayClient.builder().target("127.0.0.1:" + port).usePlaintext().build());
    assertThatThrownBy(client::createSession).isInstanceOf(RelayUnavailableException.class);
    assertThatThrownBy(() -> client.join("a.b.c")).isInstanceOf(RelayUnavailableException.class);
  }

  /**
   * A receiver that stops reading stops the sender's futures after a bounded number of bytes
   * (its queue + both HTTP/2 windows + the relay's buffer); when it reads again, they complete.
   */
  @Test
  void aSlowReceiverBackPressuresTheSender() throws Exception {
    RelayClient senderClient = relay.client();
    RelayClient receiverClient =
        relay.client(b -> b.receiveQueueFrames(4).flowControlWindow(64 * 1024));
    SessionInvite invite = senderClient.createSession();
    RelaySession receiver = relay.closeLater(receiverClient.join(invite.verifierTicket()));
    RelaySession sender = relay.closeLater(senderClient.join(invite.proverTicket()));
    assertThat(receiver.awaitPeer(WAIT)).isTrue();

    int frameSize = 16 * 1024;
    long bound = 4L * 1024 * 1024; // far above what the windows allow, far below "unbounded"
    List<CompletableFuture<Void>> futures = new ArrayList<>();
    long accepted = 0;
    CompletableFuture<Void> stalled = null;
    while (accepted <= bound) {
      byte[] payload = new byte[frameSize];
      ByteBuffer.wrap(payload).putInt(futures.size());
      CompletableFuture<Void> f = sender.send(payload);
      futures.add(f);
      try {
        f.get(500, TimeUnit.MILLISECONDS);
        accepted += frameSize;
      } catch (java.util.concurrent.TimeoutException e) {
        stalled = f;
        break;
      }
    }
    assertThat(stalled).as("send stalls while nobody reads (accepted %d bytes)", accepted).isNotNull();
    System.out.printf("back-pressure: sender stalled after %d KiB%n", accepted / 1024);
    assertThat(accepted).isLessThan(bound).isGreaterThan(0);
    // More sends queue up behind the stalled one, in order, and stay incomplete too.
    for (int i = 0; i < 3; i++) {
      byte[] payload = new byte[frameSize];
      ByteBuffer.wrap(payload).putInt(futures.size());
      futures.add(sender.send(payload));
    }
    Thread.sleep(300);
    assertThat(stalled).isNotDone();
    assertThat(futures.get(futures.size() - 1)).isNotDone();

    // Reading resumes the flow: every frame arrives, in order, and every future completes.
    for (int i = 0; i < futures.size(); i++) {
      byte[] frame = receiver.receive(WAIT);
      assertThat(frame).as("frame %d", i).isNotNull();
      assertThat(ByteBuffer.wrap(frame).getInt()).isEqualTo(i);
    }
    CompletableFuture.allOf(futures.toArray(new CompletableFuture[0])).get(10, TimeUnit.SECONDS);
  }

  @Test
  void aSlowCallbackBackPressuresTheSenderToo() throws Exception {
    RelayClient senderClient = relay.client();
    RelayClient receiverClient = relay.client(b -> b.flowControlWindow(64 * 1024));
    SessionInvite invite = senderClient.createSession();
    CountDownLatch release = new CountDownLatch(1);
    BlockingQueue<byte[]> got = new LinkedBlockingQueue<>();
    RelaySession receiver = relay.closeLater(receiverClient.join(invite.verifierTicket(),
        (session, payload) -> {
          try {
            release.await(); // the application is busy
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          got.add(payload);
        }));
    RelaySession sender = relay.closeLater(senderClient.join(invite.proverTicket()));
    assertThat(receiver.awaitPeer(WAIT)).isTrue();

    List<CompletableFuture<Void>> futures = new ArrayList<>();
    CompletableFuture<Void> stalled = null;
    for (int i = 0; i < 256 && stalled == null; i++) {
      CompletableFuture<Void> f = sender.send(new byte[16 * 1024]);
      futures.add(f);
      try {
        f.get(500, TimeUnit.MILLISECONDS);
      } catch (java.util.concurrent.TimeoutException e) {
        stalled = f;
      }
    }
    assertThat(stalled).as("send stalls while the callback blocks").isNotNull();
    release.countDown();
    CompletableFuture.allOf(futures.toArray(new CompletableFuture[0])).get(10, TimeUnit.SECONDS);
    for (int i = 0; i < futures.size(); i++) {
      assertThat(got.poll(10, TimeUnit.SECONDS)).isNotNull();
    }
  }

  @ParameterizedTest(name = "resume={0}")
  @ValueSource(booleans = {true, false})
  void aPeerThatRejoinsByHandIsANewIncarnationAndTheRestartIsReportedInOrder(boolean resume) throws Exception {
    // A new RelaySession for the same ticket is a new incarnation: it numbers from 1, and the
    // peer learns it at the exact point in its stream (never a silent splice of two peers).
    RelayClient client = relay.client(b -> b.resume(resume));
    SessionInvite invite = client.createSession();
    try (RelaySession verifier = client.join(invite.verifierTicket())) {
      RelaySession first = relay.closeLater(client.join(invite.proverTicket()));
      assertThat(first.rejoinedAfterRestart()).isFalse();
      first.sendBlocking(bytes("a"));
      first.sendBlocking(bytes("b"));
      assertThat(text(verifier.receive(WAIT))).isEqualTo("a");
      assertThat(text(verifier.receive(WAIT))).isEqualTo("b");
      first.close();
      try (RelaySession second = client.join(invite.proverTicket())) {
        assertThat(second.rejoinedAfterRestart()).isTrue();
        second.sendBlocking(bytes("c")); // seq 1 again: a new incarnation, not a repeat
        assertThatThrownBy(() -> verifier.receive(WAIT))
            .isInstanceOfSatisfying(PeerRestartedException.class, e -> {
              assertThat(e.code()).isEqualTo(StatusCode.ABORTED);
              assertThat(e.framesFromPreviousPeer()).isEqualTo(2);
              assertThat(e.lostFrames()).isZero();
            });
        assertThat(text(verifier.receive(WAIT))).isEqualTo("c");
        verifier.sendBlocking(bytes("d"));
        assertThat(text(second.receive(WAIT))).isEqualTo("d");
        assertThat(verifier.isOpen()).isTrue();
      }
    }
  }

  @Test
  void aListenerThatDoesNotHandleRestartsEndsTheSessionForBothInsteadOfGoingOnWithANewPeer() throws Exception {
    RelayClient client = relay.client();
    SessionInvite invite = client.createSession();
    java.util.concurrent.CompletableFuture<RelayException> ended = new java.util.concurrent.CompletableFuture<>();
    RelaySession verifier = relay.closeLater(client.join(invite.verifierTicket(), new SessionListener() {
      @Override
      public void onFrame(RelaySession session, byte[] payload) {}

      @Override
      public void onEnded(RelaySession session, RelayException reason) {
        ended.complete(reason);
      }
    }));
    RelaySession first = relay.closeLater(client.join(invite.proverTicket()));
    first.sendBlocking(bytes("a"));
    first.close();
    RelaySession second = relay.closeLater(client.join(invite.proverTicket()));
    assertThat(ended.get(10, TimeUnit.SECONDS)).isInstanceOf(PeerRestartedException.class);
    assertThat(verifier.isOpen()).isFalse();
    assertThatThrownBy(() -> second.receive(WAIT))
        .isInstanceOfSatisfying(SessionEndedException.class, e -> {
          assertThat(e.endReason()).isEqualTo(EndReason.TERMINATED);
          assertThat(e.reason()).contains("does not handle restarts");
        });
  }

  @Test
  void heartbeatsKeepTheSessionHealthy() throws Exception {
    // Fast for a test, yet within the relay's keep-alive budget (2/s, burst 20).
    RelayClient client = relay.client(b -> b.heartbeatInterval(Duration.ofMillis(250)));
    SessionInvite invite = client.createSession();
    try (RelaySession verifier = client.join(invite.verifierTicket());
        RelaySession prover = client.join(invite.proverTicket())) {
      Thread.sleep(1500); // ~6 heartbeats each way, answered by the relay
      prover.sendBlocking(bytes("still here"));
      assertThat(text(verifier.receive(WAIT))).isEqualTo("still here");
      assertThat(verifier.isOpen()).isTrue();
      assertThat(prover.isOpen()).isTrue();
    }
  }

  @Test
  void relayShutdownEndsOpenSessionsWithUnavailable() throws Exception {
    RelayClient client = relay.client();
    SessionInvite invite = client.createSession();
    RelaySession verifier = relay.closeLater(client.join(invite.verifierTicket()));
    relay.relay().close();
    assertThatThrownBy(() -> verifier.receive(WAIT))
        .isInstanceOfSatisfying(SessionEndedException.class, e -> {
          assertThat(e.endReason()).isEqualTo(EndReason.RELAY_SHUTDOWN);
          assertThat(e.code()).isEqualTo(StatusCode.UNAVAILABLE);
        });
  }

  /** A second relay with its own configuration, for the few tests that need one. */
  private static final class RelayExtensionScope implements AutoCloseable {
    private final RelayExtension extension;

    RelayExtensionScope(java.util.function.UnaryOperator<dev.checkmate.relay.RelayConfig.Builder> c)
        throws Exception {
      extension = new RelayExtension(c);
      extension.beforeEach(null);
    }

    RelayClient client(java.util.function.UnaryOperator<RelayClient.Builder> c) {
      return extension.client(c);
    }

    @Override
    public void close() throws Exception {
      extension.afterEach(null);
    }
  }
}
