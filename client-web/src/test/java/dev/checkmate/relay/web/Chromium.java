package dev.checkmate.relay.web;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Debian's Chromium driven by playwright-core (test/browser.mjs), the fixture of the browser
 * tests: opens a page, waits for its {@code window.__result} and completes with that JSON line
 * (which also carries the page's console lines, of every load, as {@code console}).
 */
final class Chromium {
  /** The client-web module: Maven runs the tests from it. */
  static final Path WEB = Path.of(System.getProperty("user.dir"));
  private static final Path EXECUTABLE = Path.of(System.getenv().getOrDefault("CHROMIUM_PATH", "/usr/bin/chromium"));

  private Chromium() {}

  /** Fails the test class early, with what to install, when Chromium or the built pages are missing. */
  static void require(String page) {
    assertThat(EXECUTABLE).as("Chromium is needed: apt-get install -y chromium").isExecutable();
    assertThat(WEB.resolve("www/" + page)).as("run npm ci && npm run build in client-web").exists();
  }

  /**
   * Opens {@code url} and completes with the page's result line; {@code screenshot} is written to
   * target/. {@code reloadWhen}: a JavaScript expression; once it holds, the page is reloaded (the
   * result then comes from the reloaded page).
   */
  static CompletableFuture<String> open(String url, String screenshot, String reloadWhen) throws IOException {
    Path shot = WEB.resolve("target/" + screenshot);
    Files.createDirectories(shot.getParent());
    List<String> cmd = new ArrayList<>(List.of("node", "test/browser.mjs", url, shot.toString()));
    if (reloadWhen != null) {
      cmd.addAll(List.of("--reload-when", reloadWhen));
    }
    Process node = new ProcessBuilder(cmd).directory(WEB.toFile()).redirectError(ProcessBuilder.Redirect.INHERIT).start();
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

  static CompletableFuture<String> open(String url, String screenshot) throws IOException {
    return open(url, screenshot, null);
  }

  static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }
}
