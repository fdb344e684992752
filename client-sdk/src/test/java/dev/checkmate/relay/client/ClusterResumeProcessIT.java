package dev.checkmate.relay.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.checkmate.relay.cluster.ProcessCluster;
import dev.checkmate.relay.cluster.RelayProcess;
import dev.checkmate.relay.testing.HashChain;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The SDK's resume against real relay processes in a cluster (3 nats-servers with routes, 3 relay
 * JVMs; fixtures from relay-service's test jar): kill -9 of the bridge relay and of the session's
 * home relay in the middle of a 1,500-frame stream. Both peers are plain {@link RelayClient}s with
 * resume (the default) and the three relays as targets; the receiver must get every frame exactly
 * once and in order, checked frame by frame by content and with a SHA-256 chain.
 *
 * <p>It lives in client-sdk because client-sdk's tests depend on relay-service, not the other way
 * round; the cluster is relay-service's {@link ProcessCluster} fixture, as in ClusterProcessIT.
 */
@Timeout(120)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ClusterResumeProcessIT {
  @TempDir
  static Path dir;
  static ProcessCluster cluster;
  static List<RelayProcess> relays;

  @BeforeAll
  static void startNats() throws Exception {
    cluster = ProcessCluster.startNats(dir);
    relays = cluster.relays();
  }

  @AfterAll
  static void stop() throws Exception {
    cluster.close();
  }

  /** Starts the relays that are not running (all at first; after a kill -9 test, the victim). */
  @BeforeEach
  void startRelays() throws Exception {
    cluster.startMissingRelays();
  }

  @Test
  @Order(1)
  void killingTheBridgeRelayMidStreamLosesNothingOnceTheSdkResumes() throws Exception {
    resumeAcrossKill(1);
  }

  @Test
  @Order(2)
  void killingTheHomeRelayMidStreamRebuildsTheSessionElsewhereAndLosesNothing() throws Exception {
    resumeAcrossKill(0);
  }

  static byte[] payload(long i) {
    return ("frame " + i + " " + "x".repeat((int) (i % 97))).getBytes(StandardCharsets.UTF_8);
  }


  /** Targets starting at relay {@code first}, then the others in order. */
  private static List<String> targets(int first) {
    List<String> t = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      t.add(cluster.target((first + i) % 3));
    }
    return t;
  }

  /** Sender (prover) joins relay 0, so relay 0 is home; the receiver (verifier) is bridged from relay 1. */
  private void resumeAcrossKill(int victim) throws Exception {
    int n = 1500;
    AtomicInteger resumed = new AtomicInteger();
    AtomicInteger peerReconnecting = new AtomicInteger();
    AtomicInteger peerJoined = new AtomicInteger();
    SessionListener events = new SessionListener() {
      @Override
      public void onFrame(RelaySession session, byte[] payload) {
        // the verifier sends nothing
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
    };
    try (RelayClient proverClient = RelayClient.builder().targets(targets(0)).usePlaintext().build();
        RelayClient verifierClient = RelayClient.builder().targets(targets(1)).usePlaintext().build()) {
      SessionInvite invite = proverClient.createSession();
      // Prover: callback style (it only sends; the listener sees the resume events); verifier: blocking.
      RelaySession prover = proverClient.join(invite.proverTicket(), events);
      Thread.sleep(300); // the prover's relay becomes the home
      RelaySession verifier = verifierClient.join(invite.verifierTicket());
      assertThat(prover.awaitPeer(Duration.ofSeconds(10))).isTrue();

      CompletableFuture<byte[]> sent = CompletableFuture.supplyAsync(() -> {
        try {
          byte[] chain = HashChain.start();
          for (long i = 1; i <= n; i++) {
            byte[] p = payload(i);
            chain = HashChain.fold(chain, p);
            prover.sendBlocking(p);
            Thread.sleep(1); // stay well under the relay's 2,000 frames/s
          }
          return chain;
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      });
      AtomicLong progress = new AtomicLong();
      CompletableFuture<byte[]> received = CompletableFuture.supplyAsync(() -> {
        try {
          byte[] chain = HashChain.start();
          for (long i = 1; i <= n; i++) {
            byte[] got = verifier.receive(Duration.ofSeconds(40));
            assertThat(got).as("frame %d", i).isNotNull();
            assertThat(new String(got, StandardCharsets.UTF_8))
                .as("frame %d, exactly once and in order", i)
                .isEqualTo(new String(payload(i), StandardCharsets.UTF_8));
            chain = HashChain.fold(chain, got);
            progress.set(i);
          }
          return chain;
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      });
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (progress.get() < n / 4 && !received.isDone() && System.nanoTime() < deadline) {
        Thread.sleep(2);
      }
      assertThat(progress.get()).as("killed mid-stream").isBetween((long) n / 4, (long) n - 1);
      relays.get(victim).kill();

      byte[] r = received.get(70, TimeUnit.SECONDS);
      byte[] w = sent.get(10, TimeUnit.SECONDS);
      assertThat(r).as("receiver's hash chain over payloads equals the sender's").isEqualTo(w);
      assertThat(verifier.receive(Duration.ofMillis(300))).as("no duplicate after the last frame").isNull();
      // Bridge killed: the verifier rejoins through another relay, which may replace its old binding
      // at the home before the home noticed it dead, so the prover sees PeerJoined again (and
      // maybe no PeerLeft). Home killed: the prover resumes itself.
      assertThat(resumed.get() > 0 || peerJoined.get() >= 2)
          .as("someone resumed (prover resumed %d, peer reconnecting %d, peer joined %d)",
              resumed.get(), peerReconnecting.get(), peerJoined.get())
          .isTrue();
      assertThat(prover.isOpen()).isTrue();
      assertThat(verifier.isOpen()).isTrue();
      prover.terminate("done");
      verifier.close();
    }
  }
}
