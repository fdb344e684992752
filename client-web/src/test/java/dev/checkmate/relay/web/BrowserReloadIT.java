package dev.checkmate.relay.web;

import static org.assertj.core.api.Assertions.assertThat;


import dev.checkmate.relay.client.PeerRestartedException;
import dev.checkmate.relay.client.RelayClient;
import dev.checkmate.relay.client.RelaySession;
import dev.checkmate.relay.proto.v1.CreateSessionResponse;
import dev.checkmate.relay.testing.HashChain;
import dev.checkmate.relay.testing.SplitAtMarker;
import dev.checkmate.relay.testing.TestRelay;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;



import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A page that joined with the ticket in its URL is reloaded in the middle of a two-way exchange:
 * the reloaded page joins again with the same ticket as a new incarnation (it remembers nothing).
 * The Java SDK peer must see the first page's frames exactly once and in order, then one {@link
 * PeerRestartedException} at that point, then the reloaded page's frames; each of its own frames
 * must have reached the first page (exactly once, in order) or been reported lost by count, or
 * reached the reloaded page (exactly once, in order, from the first frame sent after the restart).
 * Checked frame by frame and with SHA-256 hash chains, over WebSocket and gRPC-Web in Chromium.
 */
class BrowserReloadIT {
  private static final Pattern RECEIVED = Pattern.compile("^received (ping-\\d+)$");
  @RegisterExtension
  final BrowserRelay browser = new BrowserRelay("test-page.js");

  static List<String> pings(String prefix, long from, long to) {
    List<String> out = new ArrayList<>();
    for (long i = from; i <= to; i++) {
      out.add(prefix + "ping-" + i);
    }
    return out;
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"websocket", "grpc-web"})
  void aReloadedPageRejoinsAsANewIncarnationAndNoFrameIsSplicedLostSilentlyOrDuplicated(String transport) throws Exception {
    TestRelay relay = browser.relay();
    CreateSessionResponse s = relay.createSession();
    try (RelayClient client = RelayClient.builder().target("127.0.0.1:" + relay.server.grpcPort()).usePlaintext().build();
        RelaySession prover = client.join(s.getProverTicket())) {
      CompletableFuture<String> page = Chromium.open(browser.origin()
              + "/test.html#ticket=" + Chromium.enc(s.getVerifierTicket()) + "&transport=" + transport
              + "&session=" + Chromium.enc(s.getSessionId()),
          "reload-" + transport + ".png", "window.__echoes >= 10");

      // The prover reads everything in order (frames as text, the restart as the exception)...
      List<Object> got = new CopyOnWriteArrayList<>();
      AtomicLong echoesAfterRestart = new AtomicLong();
      CompletableFuture<Void> reading = CompletableFuture.runAsync(() -> {
        try {
          while (true) {
            try {
              String text = new String(prover.receive(), StandardCharsets.UTF_8);
              got.add(text);
              if (got.stream().anyMatch(o -> o instanceof PeerRestartedException) && text.startsWith("echo:")) {
                echoesAfterRestart.incrementAndGet();
              }
            } catch (PeerRestartedException e) {
              got.add(e);
            }
          }
        } catch (InterruptedException e) {
          throw new IllegalStateException(e);
        } catch (RuntimeException ended) {
          // the session is over
        }
      });
      // ... and sends ping-1, ping-2, ... until the reloaded page has echoed a few.
      AtomicBoolean stop = new AtomicBoolean();
      AtomicLong last = new AtomicLong();
      CompletableFuture<Void> sending = CompletableFuture.runAsync(() -> {
        for (long i = 1; !stop.get(); i++) {
          try {
            prover.sendBlocking(("ping-" + i).getBytes(StandardCharsets.UTF_8));
          } catch (PeerRestartedException e) {
            // queued when the page reloaded: counted in lostFrames, not sent
          } catch (InterruptedException e) {
            throw new IllegalStateException(e);
          }
          last.set(i);
          try {
            Thread.sleep(20);
          } catch (InterruptedException e) {
            throw new IllegalStateException(e);
          }
        }
      });
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (echoesAfterRestart.get() < 10 && System.nanoTime() < deadline) {
        Thread.sleep(10);
      }
      stop.set(true);
      sending.get(10, TimeUnit.SECONDS);
      String lastEcho = "echo:ping-" + last.get();
      while (!got.contains(lastEcho) && System.nanoTime() < deadline) {
        Thread.sleep(10);
      }
      assertThat(got).as("the reloaded page echoed the last ping").contains(lastEcho);
      prover.terminate("verified");
      String result = page.get(90, TimeUnit.SECONDS);
      reading.get(10, TimeUnit.SECONDS);
      assertThat(result)
          .contains("\"ok\":true")
          .contains("\"transport\":\"" + transport + "\"")
          .contains("\"reason\":\"TERMINATED\"")
          .contains("\"rejoinedAfterRestart\":true");

      // ---- the prover's side: hello, echoes of the first page, the restart, hello, echoes ----
      var split = SplitAtMarker.of(got, PeerRestartedException.class); // reported once
      PeerRestartedException restart = split.marker();
      List<String> first = split.before();
      List<String> second = split.after();
      assertThat(restart.framesFromPreviousPeer()).isEqualTo(first.size());
      assertThat(first.get(0)).isEqualTo("hello from the browser");
      List<String> firstEchoes = first.subList(1, first.size());
      assertThat(firstEchoes).as("the first page's echoes, once, in order").isEqualTo(pings("echo:", 1, firstEchoes.size()));
      assertThat(second.get(0)).isEqualTo("hello from the browser");
      List<String> secondEchoes = second.subList(1, second.size());
      long j = Long.parseLong(secondEchoes.get(0).substring("echo:ping-".length())) - 1;
      assertThat(secondEchoes).as("the reloaded page's echoes, once, in order").isEqualTo(pings("echo:", j + 1, last.get()));
      assertThat(HashChain.of(secondEchoes)).isEqualTo(HashChain.of(pings("echo:", j + 1, last.get())));

      // ---- the pages' side (their console lines, both loads) ----
      List<List<String>> loads = new ArrayList<>();
      for (String line : consoleLines(result)) {
        if (line.startsWith("joined ")) {
          loads.add(new ArrayList<>());
        }
        Matcher m = RECEIVED.matcher(line);
        if (m.matches()) {
          loads.get(loads.size() - 1).add(m.group(1));
        }
      }
      assertThat(loads).as("two page loads").hasSize(2);
      List<String> firstPage = loads.get(0);
      assertThat(firstPage).as("the first page got a prefix, once, in order").isEqualTo(pings("", 1, firstPage.size()));
      assertThat(loads.get(1)).as("the reloaded page got everything sent after the restart, once, in order")
          .isEqualTo(pings("", j + 1, last.get()));
      assertThat(HashChain.of(loads.get(1))).isEqualTo(HashChain.of(pings("", j + 1, last.get())));
      long confirmed = j - restart.lostFrames(); // acknowledged by the first page
      assertThat((long) firstPage.size()).as("every ping not reported lost reached the first page")
          .isBetween(confirmed - 1, j);
      System.out.printf("%s: sent %d pings: %d reached the first page, %d reported lost, %d reached the reloaded page%n",
          transport, last.get(), firstPage.size(), restart.lostFrames(), loads.get(1).size());
    }
  }

  /** The `console` array of the result line (test/browser.mjs puts it last). */
  private static List<String> consoleLines(String result) {
    int at = result.indexOf("\"console\":[");
    assertThat(at).as("console lines in " + result).isNotNegative();
    List<String> out = new ArrayList<>();
    Matcher m = Pattern.compile("\"((?:[^\"\\\\]|\\\\.)*)\"").matcher(result.substring(at + "\"console\":[".length(),
        result.lastIndexOf(']')));
    while (m.find()) {
      out.add(m.group(1));
    }
    return out;
  }
}
