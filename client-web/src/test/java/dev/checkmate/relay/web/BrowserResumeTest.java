package dev.checkmate.relay.web;

import static org.assertj.core.api.Assertions.assertThat;

import dev.checkmate.relay.RelayConfig;
import dev.checkmate.relay.client.RelayClient;
import dev.checkmate.relay.client.RelaySession;
import dev.checkmate.relay.proto.v1.CreateSessionResponse;
import dev.checkmate.relay.testing.TestRelay;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Resume in a real browser: the test page (served, and its WebSocket carried, through a TCP proxy
 * in front of the relay's HTTP port) echoes a Java SDK peer's frames; the test cuts the proxy's
 * connections mid-exchange; the page's SDK reopens the WebSocket with the same ticket and both
 * sides get every frame exactly once and in order.
 */
class BrowserResumeTest {
  private static final Path WEB = Path.of(System.getProperty("user.dir"));
  private static final Path CHROMIUM = Path.of(System.getenv().getOrDefault("CHROMIUM_PATH", "/usr/bin/chromium"));
  private TestRelay relay;
  private ServerSocket proxy;
  private final List<Socket> sockets = new CopyOnWriteArrayList<>();

  @BeforeAll
  static void needsBrowserAndBuild() {
    assertThat(CHROMIUM).as("Chromium is needed: apt-get install -y chromium").isExecutable();
    assertThat(WEB.resolve("www/test-page.js")).as("run npm ci && npm run build in client-web").exists();
  }

  @BeforeEach
  void start() throws Exception {
    relay = TestRelay.start(RelayConfig.builder().webSocketPort(0).devStaticDir(WEB.resolve("www")));
    proxy = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    int target = relay.server.webSocketPort();
    Thread t = new Thread(() -> {
      while (!proxy.isClosed()) {
        try {
          Socket client = proxy.accept();
          Socket upstream = new Socket();
          upstream.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), target), 2000);
          sockets.add(client);
          sockets.add(upstream);
          pump(client, upstream);
          pump(upstream, client);
        } catch (IOException e) {
          // closed
        }
      }
    }, "browser-proxy");
    t.setDaemon(true);
    t.start();
  }

  private static void pump(Socket from, Socket to) {
    Thread t = new Thread(() -> {
      byte[] buf = new byte[16384];
      try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
        for (int n; (n = in.read(buf)) >= 0; ) {
          out.write(buf, 0, n);
        }
      } catch (IOException ignored) {
        // cut
      } finally {
        try {
          from.close();
          to.close();
        } catch (IOException ignored) {
          // closed
        }
      }
    }, "browser-proxy-pump");
    t.setDaemon(true);
    t.start();
  }

  private void cutAll() throws IOException {
    for (Socket s : sockets) {
      s.close();
    }
    sockets.clear();
  }

  @AfterEach
  void stop() throws Exception {
    proxy.close();
    cutAll();
    relay.close();
  }

  private CompletableFuture<String> browse(String fragment) throws IOException {
    String url = "http://127.0.0.1:" + proxy.getLocalPort() + "/test.html#" + fragment;
    Path shot = WEB.resolve("target/resume.png");
    Files.createDirectories(shot.getParent());
    Process node = new ProcessBuilder("node", "test/browser.mjs", url, shot.toString())
        .directory(WEB.toFile())
        .redirectError(ProcessBuilder.Redirect.INHERIT)
        .start();
    return CompletableFuture.supplyAsync(() -> {
      try {
        String out = new String(node.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        if (!node.waitFor(90, TimeUnit.SECONDS)) {
          node.destroyForcibly();
          throw new AssertionError("browser did not finish");
        }
        assertThat(node.exitValue()).as("browser.mjs exit code; output: " + out).isZero();
        return out;
      } catch (IOException | InterruptedException e) {
        throw new IllegalStateException(e);
      }
    });
  }

  private static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }

  @Test
  void aPageWhoseWebSocketIsCutResumesAndEveryFrameArrivesOnceInOrderBothWays() throws Exception {
    CreateSessionResponse s = relay.createSession();
    try (RelayClient client = RelayClient.builder().target("127.0.0.1:" + relay.server.grpcPort()).usePlaintext().build();
        RelaySession prover = client.join(s.getProverTicket())) {
      CompletableFuture<String> page = browse("ticket=" + enc(s.getVerifierTicket()) + "&transport=websocket&session="
          + enc(s.getSessionId()));
      assertThat(text(prover.receive(Duration.ofSeconds(60)))).isEqualTo("hello from the browser");
      int n = 30;
      List<String> expected = new ArrayList<>();
      for (int i = 1; i <= n; i++) {
        expected.add("ping-" + i);
        prover.sendBlocking(("ping-" + i).getBytes(StandardCharsets.UTF_8));
        if (i == 10 || i == 20) {
          cutAll(); // the page's WebSocket dies (1006) with frames possibly in flight both ways
        }
        assertThat(text(prover.receive(Duration.ofSeconds(20)))).as("echo %d", i).isEqualTo("echo:ping-" + i);
      }
      assertThat(prover.receive(Duration.ofMillis(300))).as("no duplicate echo").isNull();
      prover.terminate("verified");
      String result = page.get(90, TimeUnit.SECONDS);
      assertThat(result)
          .contains("\"ok\":true")
          .contains("\"transport\":\"websocket\"")
          .contains("\"received\":[\"" + String.join("\",\"", expected) + "\"]")
          .contains("\"reason\":\"TERMINATED\"")
          .contains("\"resumed\":2");
    }
  }

  private static String text(byte[] b) {
    return b == null ? null : new String(b, StandardCharsets.UTF_8);
  }
}
