package dev.checkmate.relay.web;

import static org.assertj.core.api.Assertions.assertThat;


import dev.checkmate.relay.client.RelayClient;
import dev.checkmate.relay.client.RelaySession;
import dev.checkmate.relay.proto.v1.CreateSessionResponse;
import dev.checkmate.relay.testing.CuttableProxy;
import dev.checkmate.relay.testing.TestRelay;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Resume in a real browser, over WebSocket and over gRPC-Web: the test page (served, and its
 * connections carried, through a TCP proxy in front of the relay's HTTP port) echoes a Java SDK
 * peer's frames; the test cuts the proxy's connections mid-exchange; the page's SDK reconnects with
 * the same ticket and incarnation (a new WebSocket, or a new Receive stream whose Sends continue
 * the numbering and carry the acks) and both sides get every frame exactly once and in order.
 */
class BrowserResumeIT {
  @RegisterExtension
  final BrowserRelay browser = new BrowserRelay("test-page.js");
  private TestRelay relay;
  private CuttableProxy proxy;

  @BeforeEach
  void start() throws Exception {
    relay = browser.relay();
    proxy = new CuttableProxy(relay.server.webSocketPort());
  }

  @AfterEach
  void stop() throws Exception {
    proxy.close();
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"websocket", "grpc-web"})
  void aPageWhoseConnectionsAreCutResumesAndEveryFrameArrivesOnceInOrderBothWays(String transport) throws Exception {
    CreateSessionResponse s = relay.createSession();
    try (RelayClient client = RelayClient.builder().target("127.0.0.1:" + relay.server.grpcPort()).usePlaintext().build();
        RelaySession prover = client.join(s.getProverTicket())) {
      CompletableFuture<String> page = Chromium.open("http://" + proxy.target() + "/test.html#ticket="
          + Chromium.enc(s.getVerifierTicket()) + "&transport=" + transport + "&session=" + Chromium.enc(s.getSessionId()),
          "resume-" + transport + ".png");
      assertThat(text(prover.receive(Duration.ofSeconds(60)))).isEqualTo("hello from the browser");
      int n = 30;
      List<String> expected = new ArrayList<>();
      for (int i = 1; i <= n; i++) {
        expected.add("ping-" + i);
        prover.sendBlocking(("ping-" + i).getBytes(StandardCharsets.UTF_8));
        if (i == 10 || i == 20) {
          proxy.cutAll(); // the page's connections die with frames possibly in flight both ways
        }
        assertThat(text(prover.receive(Duration.ofSeconds(20)))).as("echo %d", i).isEqualTo("echo:ping-" + i);
      }
      assertThat(prover.receive(Duration.ofMillis(300))).as("no duplicate echo").isNull();
      prover.terminate("verified");
      String result = page.get(90, TimeUnit.SECONDS);
      assertThat(result)
          .contains("\"ok\":true")
          .contains("\"transport\":\"" + transport + "\"")
          .contains("\"received\":[\"" + String.join("\",\"", expected) + "\"]")
          .contains("\"reason\":\"TERMINATED\"")
          .contains("\"resumed\":2");
    }
  }

  /**
   * The other way round: the page keeps its connections and its peer's are cut. The Java peer sends
   * twenty pings without reading, so the page's echoes pile up in the connection to the peer and die
   * with it; the peer resumes, the page sees it re-pair and resends every echo the peer has not
   * acknowledged, with the seqs it used before. Over gRPC-Web the relay had taken those resent Sends
   * for retries (already accepted: acknowledged, not forwarded), so the peer never got them and the
   * page's later frames were ahead for good; the soak found it.
   */
  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"websocket", "grpc-web"})
  void aPageWhosePeerReconnectsResendsWhatThePeerLostAndEveryEchoArrivesOnceInOrder(String transport) throws Exception {
    CreateSessionResponse s = relay.createSession();
    try (CuttableProxy peerPath = new CuttableProxy(relay.server.grpcPort());
        RelayClient client = RelayClient.builder().target(peerPath.target()).usePlaintext().build();
        RelaySession prover = client.join(s.getProverTicket())) {
      CompletableFuture<String> page = Chromium.open(browser.origin() + "/test.html#ticket="
          + Chromium.enc(s.getVerifierTicket()) + "&transport=" + transport + "&session=" + Chromium.enc(s.getSessionId()),
          "peer-resume-" + transport + ".png");
      assertThat(text(prover.receive(Duration.ofSeconds(60)))).isEqualTo("hello from the browser");
      int n = 20;
      List<String> expected = new ArrayList<>();
      for (int i = 1; i <= n; i++) {
        expected.add("ping-" + i);
        prover.sendBlocking(("ping-" + i).getBytes(StandardCharsets.UTF_8));
      }
      // hello + n pings + n echoes handed to their receivers' streams: the echoes wait, unread, on
      // the way to the prover.
      TestRelay.await("the page echoed every ping", () -> relay.server.hub().stats().framesRelayed() >= 1 + 2L * n);
      peerPath.cutAll(); // the echoes waiting in the peer's connection die with it
      for (int i = 1; i <= n; i++) {
        assertThat(text(prover.receive(Duration.ofSeconds(20)))).as("echo %d", i).isEqualTo("echo:ping-" + i);
      }
      assertThat(prover.receive(Duration.ofMillis(300))).as("no duplicate echo").isNull();
      prover.terminate("verified");
      assertThat(page.get(90, TimeUnit.SECONDS))
          .contains("\"ok\":true")
          .contains("\"received\":[\"" + String.join("\",\"", expected) + "\"]")
          .contains("\"reason\":\"TERMINATED\"");
    }
  }

  private static String text(byte[] b) {
    return b == null ? null : new String(b, StandardCharsets.UTF_8);
  }
}
