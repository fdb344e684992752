package dev.checkmate.relay.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.checkmate.relay.testing.HashChain;
import dev.checkmate.relay.testing.JvmProcess;
import dev.checkmate.relay.testing.SplitAtMarker;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A prover process is killed with kill -9 in the middle of a two-way stream and a new prover
 * process joins with the same ticket (a restarted app): a new incarnation. The verifier (this JVM,
 * blocking style) must see the first prover's frames exactly once and in order, then one
 * {@link PeerRestartedException} at that very point, then the second prover's frames exactly once
 * and in order; its own frames must each have reached the first prover (exactly once, in order) or
 * been reported lost by count, or reached the second prover (exactly once, in order, from the first
 * frame sent after the restart). Checked frame by frame and with SHA-256 hash chains over the
 * payloads, with and without end-to-end encryption (where the two provers hold different keys, so
 * a splice could not even be decrypted).
 */
@Timeout(180)
class ProverRestartProcessIT {
  private static final int SECOND_PROVER_FRAMES = 60;
  private static final Pattern JOINED = Pattern.compile("(?m)^JOINED (\\w+)$");

  @RegisterExtension
  final RelayExtension relay = new RelayExtension(b -> b.maxFramesPerSecond(100_000));

  static List<String> expected(String label, long from, long to) {
    List<String> out = new ArrayList<>();
    for (long i = from; i <= to; i++) {
      out.add(ProverProcess.payload(label, i));
    }
    return out;
  }

  /** The index of a frame {@code "<label>-<i> xx..."} of the given label, else -1. */
  static long indexOf(String payload, String label) {
    if (!payload.startsWith(label + "-")) {
      return -1;
    }
    return Long.parseLong(payload.substring(label.length() + 1, payload.indexOf(' ')));
  }

  /** A prover process (ProverProcess in a JVM of its own, so that it can be killed with kill -9). */
  private static JvmProcess prover(String... args) throws java.io.IOException {
    List<String> command = new ArrayList<>(JvmProcess.classPathMain(ProverProcess.class));
    command.addAll(0, List.of("-Xmx128m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"));
    command.addAll(List.of(args));
    return JvmProcess.start(command);
  }

  private static List<String> lines(JvmProcess p) {
    return List.of(p.output().split("\n"));
  }

  private static long count(JvmProcess p, String prefix) {
    return lines(p).stream().filter(l -> l.startsWith(prefix)).count();
  }

  private static void awaitCount(JvmProcess p, String prefix, long n) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (count(p, prefix) < n) {
      assertThat(System.nanoTime()).as("%s lines starting with %s; output:%n%s", n, prefix, p.output()).isLessThan(deadline);
      Thread.sleep(5);
    }
  }

  /** The payloads a prover printed as received ("RECV <payload>"), of one label, in order. */
  private static List<String> received(JvmProcess prover, String label) {
    List<String> out = new ArrayList<>();
    for (String line : lines(prover)) {
      if (line.startsWith("RECV " + label + "-")) {
        out.add(line.substring("RECV ".length()));
      }
    }
    return out;
  }

  @ParameterizedTest(name = "endToEnd={0}")
  @ValueSource(booleans = {false, true})
  void aKilledProverRestartedWithTheSameTicketIsReportedAndNoFrameIsSplicedLostSilentlyOrDuplicated(boolean endToEnd)
      throws Exception {
    RelayClient client = relay.client();
    SessionInvite invite = client.createSession();
    byte[] secret = JoinOptions.newPairingSecret();
    String[] e2eArg = endToEnd ? new String[] {JoinOptions.encodePairingSecret(secret)} : new String[0];
    RelaySession verifier = relay.closeLater(
        client.join(invite.verifierTicket(), endToEnd ? JoinOptions.endToEnd(secret) : JoinOptions.defaults()));

    // The verifier reads everything in order (frames as text, the restart as the exception).
    List<Object> got = new CopyOnWriteArrayList<>();
    CompletableFuture<Void> reading = CompletableFuture.runAsync(() -> {
      while (true) {
        try {
          String text = new String(verifier.receive(), StandardCharsets.UTF_8);
          got.add(text);
          if (text.startsWith("b-" + SECOND_PROVER_FRAMES + " ")) {
            return;
          }
        } catch (PeerRestartedException e) {
          got.add(e);
        } catch (InterruptedException e) {
          throw new IllegalStateException(e);
        }
      }
    });
    // The verifier sends v-1, v-2, ... all along; a send that fails with the restart was not sent.
    AtomicBoolean stop = new AtomicBoolean();
    AtomicLong lastSent = new AtomicLong();
    List<Long> failedWithRestart = new CopyOnWriteArrayList<>();
    CompletableFuture<Void> sending = CompletableFuture.runAsync(() -> {
      for (long i = 1; !stop.get(); i++) {
        try {
          verifier.sendBlocking(ProverProcess.payload("v", i).getBytes(StandardCharsets.UTF_8));
        } catch (PeerRestartedException e) {
          failedWithRestart.add(i);
        } catch (InterruptedException e) {
          throw new IllegalStateException(e);
        }
        lastSent.set(i);
        try {
          Thread.sleep(3);
        } catch (InterruptedException e) {
          throw new IllegalStateException(e);
        }
      }
    });

    String target = relay.target();
    try (JvmProcess first = prover(concat(new String[] {target, invite.proverTicket(), "a", "1000000", "3"}, e2eArg))) {
      assertThat(first.await(JOINED, Duration.ofSeconds(60))).isEqualTo("false");
      // Mid-stream both ways, then kill -9.
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (got.size() < 50 && System.nanoTime() < deadline) {
        Thread.sleep(5);
      }
      awaitCount(first, "RECV v-", 20);
      first.close(); // kill -9
      first.awaitExit(Duration.ofSeconds(10)); // and every line it printed was read
      List<String> firstGot = received(first, "v");
      long firstSent = count(first, "SENT ");

      try (JvmProcess second = prover(
              concat(new String[] {target, invite.proverTicket(), "b", String.valueOf(SECOND_PROVER_FRAMES), "5"}, e2eArg))) {
        assertThat(second.await(JOINED, Duration.ofSeconds(60)))
            .as("the second prover knows it took over from an earlier one").isEqualTo("true");
        reading.get(90, TimeUnit.SECONDS);
        awaitCount(second, "RECV v-", 20);
        stop.set(true);
        sending.get(10, TimeUnit.SECONDS);
        long last = lastSent.get();
        second.awaitMatch(Pattern.compile("(?m)^RECV " + Pattern.quote(ProverProcess.payload("v", last)) + "$"),
            Duration.ofSeconds(30));
        assertThat(count(second, "SENT ")).isEqualTo(SECOND_PROVER_FRAMES);
        verifier.terminate("done");
        second.awaitMatch(Pattern.compile("(?m)^END "), Duration.ofSeconds(30));
        assertThat(second.awaitExit(Duration.ofSeconds(30))).isZero();

        // ---- the verifier's side: a-1..a-k, the restart, b-1..b-60 ----
        var split = SplitAtMarker.of(got, PeerRestartedException.class); // reported once
        PeerRestartedException restart = split.marker();
        List<String> fromFirst = split.before();
        List<String> fromSecond = split.after();
        long k = fromFirst.size();
        assertThat(restart.framesFromPreviousPeer()).isEqualTo(k);
        assertThat(fromFirst).as("the first prover's frames, exactly once, in order").isEqualTo(expected("a", 1, k));
        assertThat(HashChain.of(fromFirst)).isEqualTo(HashChain.of(expected("a", 1, k)));
        assertThat(k).as("no more than the first prover could have sent").isLessThanOrEqualTo(firstSent + 1);
        assertThat(fromSecond).as("the second prover's frames, exactly once, in order").isEqualTo(expected("b", 1, SECOND_PROVER_FRAMES));
        assertThat(HashChain.of(fromSecond)).isEqualTo(HashChain.of(expected("b", 1, SECOND_PROVER_FRAMES)));

        // ---- the verifier's frames: to the first prover, reported lost, or to the second ----
        List<String> secondGot = received(second, "v");
        long j = indexOf(secondGot.get(0), "v") - 1; // the last frame passed to send before the restart
        assertThat(secondGot).as("the second prover got everything sent after the restart, once, in order")
            .isEqualTo(expected("v", j + 1, last));
        assertThat(HashChain.of(secondGot)).isEqualTo(HashChain.of(expected("v", j + 1, last)));
        assertThat(firstGot).as("the first prover got a prefix, once, in order").isEqualTo(expected("v", 1, firstGot.size()));
        long confirmed = j - restart.lostFrames(); // acknowledged by the first prover
        // Acknowledged means delivered to its application, which prints right after: all of them
        // were printed but at most the one it was holding when it was killed.
        assertThat((long) firstGot.size()).as("every frame not reported lost reached the first prover")
            .isBetween(confirmed - 1, j);
        assertThat(failedWithRestart).allSatisfy(i -> assertThat(i).isLessThanOrEqualTo(j));
        assertThat(lines(second)).noneMatch(l -> l.startsWith("RESTART"));
        if (endToEnd) {
          assertThat(lines(second)).contains("SECURE");
        }
        System.out.printf("endToEnd=%s: verifier got %d frames from the killed prover, %d from the new one;"
                + " sent %d: %d reached the killed prover, %d reported lost, %d reached the new one%n",
            endToEnd, k, fromSecond.size(), last, firstGot.size(), restart.lostFrames(), secondGot.size());
      }
    }
  }

  private static String[] concat(String[] a, String[] b) {
    String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }
}
