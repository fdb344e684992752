package dev.checkmate.relay.examples.schnorr;

import static org.assertj.core.api.Assertions.assertThat;

import dev.checkmate.relay.RelayConfig;
import dev.checkmate.relay.proto.v1.ServerMessage;
import dev.checkmate.relay.testing.TestRelay;
import dev.checkmate.relay.testing.WsPeer;
import java.math.BigInteger;
import java.net.URI;
import java.net.URLDecoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code schnorr-demo.jar browser} against a real relay on loopback. The test is the browser: it
 * loads the page the command serves and then, like the page's script, joins over the relay's
 * WebSocket with the verifier ticket from the URL's fragment. (The real page against a Java prover
 * runs in Chromium in client-web's BrowserIT.)
 */
@Timeout(60)
class BrowserCommandIT {
  private static final Pattern URL = Pattern.compile(
      "(http://127\\.0\\.0\\.1:\\d+/demo/)#endpoint=(\\S+)&transport=auto&autostart=1&ticket=(\\S+)");

  @TempDir
  Path dir;
  private TestRelay relay;
  private Path pages;

  @BeforeEach
  void start() throws Exception {
    relay = TestRelay.start(RelayConfig.builder().webSocketPort(0));
    pages = dir.resolve("www");
    Files.createDirectories(pages.resolve("demo"));
    Files.writeString(pages.resolve("demo/index.html"), "<!doctype html><script type=module src=demo.js></script>");
    Files.writeString(pages.resolve("demo/demo.js"), "// the page's bundle");
    Files.writeString(dir.resolve("secret.txt"), "not for the browser");
  }

  @AfterEach
  void stop() throws Exception {
    relay.close();
  }

  private DemoRun browser(int timeoutSeconds, String... more) {
    String[] base = {"browser", "--relay", "127.0.0.1:" + relay.server.grpcPort(),
        "--web", "http://127.0.0.1:" + relay.server.webSocketPort(), "--page-dir", pages.toString(), "--timeout", "" + timeoutSeconds};
    String[] args = new String[base.length + more.length];
    System.arraycopy(base, 0, args, 0, base.length);
    System.arraycopy(more, 0, args, base.length, more.length);
    return new DemoRun(args);
  }

  private static HttpResponse<String> get(String url) throws Exception {
    return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  /** What the demo page does once loaded: verify over WebSocket, report the result, terminate. */
  private boolean verifyLikeThePage(String ticket) throws Exception {
    try (WsPeer page = WsPeer.join(relay.server.webSocketPort(), ticket)) {
      assertThat(page.next(ServerMessage.KindCase.JOINED).getJoined().getRole().name()).isEqualTo("VERIFIER");
      Schnorr.Verifier verifier = new Schnorr.Verifier(Schnorr.demoKeyPair().publicKey(), new SecureRandom());
      BigInteger t = Messages.readNumber(Messages.COMMITMENT, nextFrame(page));
      page.sendData(Messages.number(Messages.CHALLENGE, verifier.challenge(t))).get(5, TimeUnit.SECONDS);
      boolean ok = verifier.verify(Messages.readNumber(Messages.RESPONSE, nextFrame(page)));
      page.sendData(Messages.result(ok)).get(5, TimeUnit.SECONDS);
      page.terminate(ok ? "proof verified" : "proof rejected");
      return ok;
    }
  }

  private static byte[] nextFrame(WsPeer page) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (true) {
      ServerMessage m = page.received.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      assertThat(m).as("a frame from the prover").isNotNull();
      if (m.hasData()) {
        return m.getData().getPayload().toByteArray();
      }
      // Joined/PeerJoined/acks of the resuming Java SDK: not frames.
    }
  }

  @Test
  void thePageLoadsThenTheProverJoinsAndTheBrowserVerifiesIt() throws Exception {
    DemoRun run = browser(20);
    Matcher url = run.await(URL);
    assertThat(URLDecoder.decode(url.group(2), StandardCharsets.UTF_8)).isEqualTo("http://127.0.0.1:" + relay.server.webSocketPort());
    Thread.sleep(300);
    assertThat(relay.server.hub().sessionCount()).as("the prover waits for the page before it joins").isZero();

    HttpResponse<String> html = get(url.group(1));
    assertThat(html.statusCode()).isEqualTo(200);
    assertThat(html.headers().firstValue("content-type")).hasValueSatisfying(v -> assertThat(v).startsWith("text/html"));
    assertThat(get(url.group(1) + "demo.js").statusCode()).isEqualTo(200);

    assertThat(verifyLikeThePage(URLDecoder.decode(url.group(3), StandardCharsets.UTF_8))).isTrue();
    assertThat(run.exitCode()).as(run.err.toString()).isZero();
    assertThat(run.out.toString()).contains("The page has loaded; starting the prover.", "The verifier says: proof verified");
  }

  @Test
  void aLyingProverIsRejectedByThePage() throws Exception {
    DemoRun run = browser(20, "--lie");
    Matcher url = run.await(URL);
    get(url.group(1) + "demo.js");
    assertThat(verifyLikeThePage(URLDecoder.decode(url.group(3), StandardCharsets.UTF_8))).isFalse();
    assertThat(run.exitCode()).isEqualTo(1);
    assertThat(run.out.toString()).contains("Lying", "The verifier says: proof rejected");
  }

  @Test
  void thePageServerServesOnlyThePageFolder() throws Exception {
    DemoRun run = browser(3);
    String base = run.await(URL).group(1).replace("/demo/", "");
    assertThat(get(base + "/demo/..%2F..%2Fsecret.txt").statusCode()).isEqualTo(404);
    assertThat(get(base + "/nothing-here.js").statusCode()).isEqualTo(404);
    assertThat(HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(base + "/demo/index.html"))
        .POST(HttpRequest.BodyPublishers.ofString("x")).build(), HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(405);
    assertThat(run.exitCode()).as("nobody loaded demo.js").isEqualTo(Friendly.RELAY_ERROR);
    assertThat(run.err.toString()).contains("no browser loaded the page within 3 s");
  }

  @Test
  void withoutTheBuiltPageOrTheRelaysHttpPortItSaysWhatToRun() throws Exception {
    DemoRun unbuilt = new DemoRun("browser", "--page-dir", dir.resolve("nowhere").toString());
    assertThat(unbuilt.exitCode()).isEqualTo(2);
    assertThat(unbuilt.err.toString()).contains("mvn -B -q -pl client-web package -DskipTests");

    int port;
    try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
      port = s.getLocalPort();
    }
    DemoRun noRelay = new DemoRun("browser", "--page-dir", pages.toString(), "--web", "http://127.0.0.1:" + port);
    assertThat(noRelay.exitCode()).isEqualTo(Friendly.RELAY_ERROR);
    assertThat(noRelay.err.toString()).contains("java -jar relay-service/target/relay.jar");
  }
}
