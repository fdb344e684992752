package dev.checkmate.relay.examples.schnorr;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.checkmate.relay.client.RelayClient;
import dev.checkmate.relay.client.RelayException;
import dev.checkmate.relay.client.SessionInvite;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * The browser demo in one command: creates a session, serves the demo page (the browser is the
 * verifier), prints the URL to open, and runs the Java prover as soon as the page has loaded, so
 * both join within the relay's join deadline however long the user takes to open the link.
 */
@Command(
    name = "browser",
    mixinStandardHelpOptions = true,
    description = {
      "The browser verifies: create a session, serve the demo page from --page-dir, print the URL to open, and run the"
          + " Java prover when the page has loaded. The page talks to the relay's HTTP port (--web) over WebSocket or"
          + " gRPC-Web; a relay bound to loopback accepts the page's loopback origin.",
      "Exit status: 0 proof verified, 1 proof rejected, 2 usage error, 3 relay error or no browser in time."
    })
final class BrowserCommand implements Callable<Integer> {
  /** The script the page loads last: once it is fetched, the page is about to join. */
  static final String PAGE_SCRIPT = "/demo/demo.js";

  @Spec CommandSpec spec;

  @Mixin RelayOptions relay;

  @Mixin SessionOptions created;

  @Mixin ProverOptions secret;

  @Option(
      names = "--web",
      paramLabel = "URL",
      defaultValue = "http://127.0.0.1:8080",
      description = "The relay's HTTP port (WebSocket, gRPC-Web) as the browser reaches it (default: ${DEFAULT-VALUE}, the relay's --ws-port).")
  String web;

  @Option(
      names = "--transport",
      paramLabel = "auto|websocket|grpc-web",
      defaultValue = "auto",
      description = "The page's transport (default: ${DEFAULT-VALUE}: WebSocket, gRPC-Web if blocked).")
  String transport;

  @Option(
      names = "--page-dir",
      paramLabel = "DIR",
      defaultValue = "client-web/www",
      description = "The built pages of client-web (default: ${DEFAULT-VALUE}, from the repository root).")
  Path pageDir;

  @Option(
      names = "--page-port",
      paramLabel = "PORT",
      defaultValue = "0",
      description = "Port of the page on 127.0.0.1 (default: any free port).")
  int pagePort;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    if (!transport.matches("auto|websocket|grpc-web")) {
      err.println("error: --transport takes auto, websocket or grpc-web");
      return 2;
    }
    if (!Files.isRegularFile(pageDir.resolve("demo/index.html")) || !Files.isRegularFile(pageDir.resolve(PAGE_SCRIPT.substring(1)))) {
      err.println("error: the demo page is not built in " + pageDir + " (no demo/index.html and demo/demo.js). Build it with");
      err.println("  mvn -B -q -pl client-web package -DskipTests");
      err.println("(Maven runs npm ci and the page bundler; Node.js 18+ and npm must be installed), from the repository root.");
      return 2;
    }
    BigInteger x = secret.secret(out, err);
    if (x == null) {
      return 2;
    }
    URI webUri;
    try {
      webUri = URI.create(web.endsWith("/") ? web.substring(0, web.length() - 1) : web);
    } catch (IllegalArgumentException e) {
      err.println("error: --web is not a URL: " + web);
      return 2;
    }
    String unreachable = healthz(webUri);
    if (unreachable != null) {
      err.println("error: the relay's HTTP port at " + webUri + " " + unreachable + ".");
      err.println("Start the relay first (it serves WebSocket and gRPC-Web on --ws-port, 8080 by default):");
      err.println("  java -jar relay-service/target/relay.jar");
      return Friendly.RELAY_ERROR;
    }

    CountDownLatch pageLoaded = new CountDownLatch(1);
    HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), pagePort), 16);
    server.createContext("/", exchange -> serve(exchange, pageLoaded));
    server.start();
    try (RelayClient client = relay.clientBuilder().issuerKey(created.issuerKey).build()) {
      SessionInvite invite = client.createSession(created.ttl());
      out.println("Session " + invite.sessionId() + " created (expires " + invite.expiresAt() + ").");
      out.println("Open this page in a browser on this machine; it joins as the verifier by itself:");
      out.println();
      out.println("  " + pageUrl(server.getAddress().getPort(), webUri, transport, invite.verifierTicket()));
      out.println();
      out.println("Waiting up to " + relay.timeoutSeconds + " s for the page to load; the Java prover joins once it has.");
      out.flush();
      if (!pageLoaded.await(relay.timeoutSeconds, TimeUnit.SECONDS)) {
        err.println("error: no browser loaded the page within " + relay.timeoutSeconds + " s (--timeout)");
        return Friendly.RELAY_ERROR;
      }
      out.println("The page has loaded; starting the prover.");
      out.flush();
      return ProverCommand.prove(client, invite.proverTicket(), x, relay, out, err);
    } catch (RelayException e) {
      err.println("error: " + Friendly.describe(e, relay.relay));
      return Friendly.RELAY_ERROR;
    } finally {
      server.stop(0);
    }
  }

  /** The page's URL: everything it needs in the fragment, which the browser never sends to a server. */
  static String pageUrl(int port, URI web, String transport, String verifierTicket) {
    return "http://127.0.0.1:" + port + "/demo/#endpoint=" + URLEncoder.encode(web.toString(), StandardCharsets.UTF_8)
        + "&transport=" + transport + "&autostart=1&ticket=" + URLEncoder.encode(verifierTicket, StandardCharsets.UTF_8);
  }

  /** Null when the relay's HTTP port answers /healthz with 200, else what went wrong. */
  private static String healthz(URI web) throws InterruptedException {
    try {
      HttpResponse<String> r = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(3)).build()
          .send(HttpRequest.newBuilder(URI.create(web + "/healthz")).timeout(Duration.ofSeconds(3)).GET().build(),
              HttpResponse.BodyHandlers.ofString());
      return r.statusCode() == 200 ? null : "answers /healthz with HTTP " + r.statusCode();
    } catch (IOException | IllegalArgumentException e) {
      return "does not answer (" + e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage()) + ")";
    }
  }

  /** GET of a file under the page folder; nothing outside it, nothing but GET. */
  private void serve(HttpExchange exchange, CountDownLatch pageLoaded) throws IOException {
    try (exchange) {
      String path = exchange.getRequestURI().getPath();
      if (!exchange.getRequestMethod().equals("GET")) {
        exchange.sendResponseHeaders(405, -1);
        return;
      }
      Path root = pageDir.toAbsolutePath().normalize();
      Path file = root.resolve(path.substring(1) + (path.endsWith("/") ? "index.html" : "")).normalize();
      if (!file.startsWith(root) || !Files.isRegularFile(file)) {
        exchange.sendResponseHeaders(404, -1);
        return;
      }
      byte[] body = Files.readAllBytes(file);
      exchange.getResponseHeaders().set("Content-Type", contentType(file));
      exchange.getResponseHeaders().set("Cache-Control", "no-store");
      exchange.sendResponseHeaders(200, body.length);
      try (OutputStream o = exchange.getResponseBody()) {
        o.write(body);
      }
      if (path.equals(PAGE_SCRIPT)) {
        pageLoaded.countDown();
      }
    }
  }

  private static String contentType(Path file) {
    String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
    if (name.endsWith(".html")) {
      return "text/html; charset=utf-8";
    }
    if (name.endsWith(".js")) {
      return "text/javascript; charset=utf-8";
    }
    if (name.endsWith(".map") || name.endsWith(".json")) {
      return "application/json";
    }
    return "application/octet-stream";
  }
}
