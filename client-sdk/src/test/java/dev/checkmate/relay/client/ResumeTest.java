package dev.checkmate.relay.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.checkmate.relay.testing.CuttableProxy;
import dev.checkmate.relay.testing.HashChain;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Resume against a real relay on loopback, with a TCP proxy per peer that the test cuts mid-stream:
 * both SDK peers rejoin by themselves and every frame reaches the other application exactly once
 * and in order (checked frame by frame and with a SHA-256 chain over the payloads), with and
 * without end-to-end encryption.
 */
@Timeout(60)
class ResumeTest {
  @RegisterExtension
  final RelayExtension relay = new RelayExtension(b -> b.maxFramesPerSecond(100_000));

  static byte[] payload(String side, long i) {
    return (side + " frame " + i + " " + "x".repeat((int) (i % 97))).getBytes(StandardCharsets.UTF_8);
  }


  /** Counts the resume callbacks and hands frames to a queue (callback style). */
  static final class Recorder implements SessionListener {
    final BlockingQueue<byte[]> frames = new LinkedBlockingQueue<>();
    final AtomicInteger reconnecting = new AtomicInteger();
    final AtomicInteger resumed = new AtomicInteger();
    final AtomicInteger peerReconnecting = new AtomicInteger();
    final AtomicInteger peerJoined = new AtomicInteger();
    final CompletableFuture<RelayException> ended = new CompletableFuture<>();

    @Override
    public void onFrame(RelaySession session, byte[] payload) {
      frames.add(payload);
    }

    @Override
    public void onReconnecting(RelaySession session, RelayException cause) {
      reconnecting.incrementAndGet();
    }

    @Override
    public void onResumed(RelaySession session) {
      resumed.incrementAndGet();
    }

    @Override
    public void onPeerReconnecting(RelaySession session, String detail) {
      peerReconnecting.incrementAndGet();
    }

    @Override
    public void onPeerJoined(RelaySession session) {
      peerJoined.incrementAndGet();
    }

    @Override
    public void onEnded(RelaySession session, RelayException reason) {
      ended.complete(reason);
    }
  }

  @ParameterizedTest(name = "endToEnd={0}")
  @ValueSource(booleans = {false, true})
  void bothPeersResumeAfterTheirConnectionsAreCutMidStreamAndGetEveryFrameOnceInOrder(boolean endToEnd)
      throws Exception {
    int n = 1500;
    CuttableProxy proverPath = relay.closeLater(new CuttableProxy(relay.relay().grpcPort()));
    CuttableProxy verifierPath = relay.closeLater(new CuttableProxy(relay.relay().grpcPort()));
    RelayClient proverClient = relay.client(b -> b.target(proverPath.target()).usePlaintext());
    RelayClient verifierClient = relay.client(b -> b.target(verifierPath.target()).usePlaintext());
    SessionInvite invite = proverClient.createSession();
    byte[] secret = JoinOptions.newPairingSecret();
    JoinOptions options = endToEnd ? JoinOptions.endToEnd(secret) : JoinOptions.defaults();

    Recorder verifierEvents = new Recorder();
    // Verifier: callback style. Prover: blocking style.
    RelaySession verifier = relay.closeLater(verifierClient.join(invite.verifierTicket(), options, verifierEvents));
    RelaySession prover = relay.closeLater(proverClient.join(invite.proverTicket(), options));
    assertThat(prover.awaitPeer(Duration.ofSeconds(10))).isTrue();
    if (endToEnd) {
      assertThat(prover.awaitSecure(Duration.ofSeconds(10))).isTrue();
    }

    AtomicLong proverGot = new AtomicLong();
    AtomicLong verifierGot = new AtomicLong();
    CompletableFuture<byte[]> proverSent = sendAll(prover, "p", n);
    CompletableFuture<byte[]> verifierSent = sendAll(verifier, "v", n);
    CompletableFuture<byte[]> proverReceived = CompletableFuture.supplyAsync(() -> {
      try {
        byte[] chain = HashChain.start();
        for (long i = 1; i <= n; i++) {
          byte[] got = prover.receive(Duration.ofSeconds(20));
          assertThat(got).as("prover's frame %d", i).isNotNull();
          assertThat(new String(got, StandardCharsets.UTF_8)).isEqualTo(new String(payload("v", i), StandardCharsets.UTF_8));
          chain = HashChain.fold(chain, got);
          proverGot.set(i);
        }
        return chain;
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
    CompletableFuture<byte[]> verifierReceived = CompletableFuture.supplyAsync(() -> {
      try {
        byte[] chain = HashChain.start();
        for (long i = 1; i <= n; i++) {
          byte[] got = verifierEvents.frames.poll(20, TimeUnit.SECONDS);
          assertThat(got).as("verifier's frame %d", i).isNotNull();
          assertThat(new String(got, StandardCharsets.UTF_8)).isEqualTo(new String(payload("p", i), StandardCharsets.UTF_8));
          chain = HashChain.fold(chain, got);
          verifierGot.set(i);
        }
        return chain;
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });

    // Cut the prover's path, then the verifier's, then both at once, each mid-stream.
    awaitProgress(verifierGot, n / 5);
    proverPath.cutAll();
    // The verifier hears "peer reconnecting", then the prover is back (PeerJoined).
    awaitProgress(verifierEvents.peerReconnecting, 1);
    awaitProgress(verifierEvents.peerJoined, 1);
    awaitProgress(verifierGot, 2 * n / 5);
    verifierPath.cutAll();
    awaitProgress(verifierEvents.resumed, 1);
    awaitProgress(proverGot, 3 * n / 5);
    proverPath.cutAll();
    verifierPath.cutAll();

    assertThat(verifierReceived.get(40, TimeUnit.SECONDS)).as("verifier's chain").isEqualTo(proverSent.get(5, TimeUnit.SECONDS));
    assertThat(proverReceived.get(40, TimeUnit.SECONDS)).as("prover's chain").isEqualTo(verifierSent.get(5, TimeUnit.SECONDS));
    assertThat(verifierEvents.frames).as("nothing after the last frame: no duplicates").isEmpty();
    assertThat(prover.receive(Duration.ofMillis(300))).isNull();
    assertThat(verifierEvents.reconnecting.get()).isGreaterThanOrEqualTo(2);
    assertThat(verifierEvents.resumed.get()).isEqualTo(verifierEvents.reconnecting.get());
    assertThat(verifierEvents.peerReconnecting.get()).as("the prover's loss was reported as reconnecting").isPositive();
    assertThat(verifierEvents.ended).isNotDone();
    assertThat(proverPath.connections() + verifierPath.connections()).as("new connections after the cuts")
        .isGreaterThanOrEqualTo(4);
    assertThat(prover.isOpen()).isTrue();
    assertThat(verifier.isOpen()).isTrue();
    prover.terminate("done");
    assertThat(verifierEvents.ended.get(10, TimeUnit.SECONDS))
        .isInstanceOfSatisfying(SessionEndedException.class, e -> assertThat(e.endReason()).isEqualTo(EndReason.TERMINATED));
  }

  private static CompletableFuture<byte[]> sendAll(RelaySession s, String side, int n) {
    return CompletableFuture.supplyAsync(() -> {
      try {
        byte[] chain = HashChain.start();
        for (long i = 1; i <= n; i++) {
          byte[] p = payload(side, i);
          chain = HashChain.fold(chain, p);
          s.sendBlocking(p);
          if (i % 50 == 0) {
            Thread.sleep(2); // spread over ~a second so the cuts land mid-stream
          }
        }
        return chain;
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
  }

  private static void awaitProgress(AtomicInteger counter, long atLeast) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (counter.get() < atLeast) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("stuck at " + counter.get() + " < " + atLeast);
      }
      Thread.sleep(1);
    }
  }

  private static void awaitProgress(AtomicLong counter, long atLeast) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (counter.get() < atLeast) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("stuck at " + counter.get() + " < " + atLeast);
      }
      Thread.sleep(1);
    }
  }

  @Test
  void whenTheGraceWindowPassesTheSessionEndsWithRelayUnavailable() throws Exception {
    CuttableProxy path = relay.closeLater(new CuttableProxy(relay.relay().grpcPort()));
    RelayClient client = relay.client(b -> b.target(path.target()).usePlaintext()
        .resumeGrace(Duration.ofMillis(800)));
    SessionInvite invite = client.createSession();
    Recorder events = new Recorder();
    RelaySession verifier = relay.closeLater(client.join(invite.verifierTicket(), events));
    path.refuse(true);
    path.cutAll();
    long start = System.nanoTime();
    RelayException end = events.ended.get(10, TimeUnit.SECONDS);
    long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
    assertThat(end).isInstanceOf(RelayUnavailableException.class);
    assertThat(end.getMessage()).contains("could not resume");
    assertThat(tookMillis).isBetween(700L, 5_000L);
    assertThat(events.reconnecting.get()).isEqualTo(1);
    assertThat(events.resumed.get()).isZero();
    assertThat(verifier.isOpen()).isFalse();
    assertThatThrownBy(() -> verifier.send("late".getBytes(StandardCharsets.UTF_8)).join())
        .hasCauseInstanceOf(RelayUnavailableException.class);
  }

  @Test
  void withResumeOffALostStreamEndsTheSessionAtOnce() throws Exception {
    CuttableProxy path = relay.closeLater(new CuttableProxy(relay.relay().grpcPort()));
    RelayClient client = relay.client(b -> b.target(path.target()).usePlaintext().resume(false));
    SessionInvite invite = client.createSession();
    RelaySession verifier = relay.closeLater(client.join(invite.verifierTicket()));
    path.cutAll();
    assertThatThrownBy(() -> verifier.receive(Duration.ofSeconds(10))).isInstanceOf(RelayUnavailableException.class);
  }

  @Test
  void closingASessionWhileItResumesEndsItAsClosed() throws Exception {
    CuttableProxy path = relay.closeLater(new CuttableProxy(relay.relay().grpcPort()));
    RelayClient client = relay.client(b -> b.target(path.target()).usePlaintext());
    SessionInvite invite = client.createSession();
    Recorder events = new Recorder();
    RelaySession verifier = client.join(invite.verifierTicket(), events);
    path.refuse(true);
    path.cutAll();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (!verifier.isReconnecting() && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
    assertThat(verifier.isReconnecting()).isTrue();
    verifier.close();
    assertThat(events.ended.get(5, TimeUnit.SECONDS).code()).isEqualTo(StatusCode.CANCELLED);
  }

  @Test
  void aResumedSessionFallsBackToTheNextTarget() throws Exception {
    CuttableProxy first = relay.closeLater(new CuttableProxy(relay.relay().grpcPort()));
    CuttableProxy second = relay.closeLater(new CuttableProxy(relay.relay().grpcPort()));
    RelayClient client = relay.client(b -> b.targets(java.util.List.of(first.target(), second.target())).usePlaintext());
    RelayClient peerClient = relay.client();
    SessionInvite invite = client.createSession();
    Recorder events = new Recorder();
    RelaySession verifier = relay.closeLater(client.join(invite.verifierTicket(), events));
    RelaySession prover = relay.closeLater(peerClient.join(invite.proverTicket()));
    prover.sendBlocking("one".getBytes(StandardCharsets.UTF_8));
    assertThat(events.frames.poll(5, TimeUnit.SECONDS)).asString(StandardCharsets.UTF_8).isEqualTo("one");
    first.refuse(true);
    first.cutAll();
    prover.sendBlocking("two".getBytes(StandardCharsets.UTF_8));
    assertThat(events.frames.poll(10, TimeUnit.SECONDS)).asString(StandardCharsets.UTF_8).isEqualTo("two");
    assertThat(second.connections()).isPositive();
    assertThat(events.resumed.get()).isEqualTo(1);
    assertThat(verifier.isOpen()).isTrue();
  }
}
