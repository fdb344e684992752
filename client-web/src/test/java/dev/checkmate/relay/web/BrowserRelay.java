package dev.checkmate.relay.web;

import dev.checkmate.relay.RelayConfig;
import dev.checkmate.relay.testing.TestRelay;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * The browser tests' relay: a real relay on loopback whose HTTP port serves client-web/www (the
 * pages), WebSocket and gRPC-Web, started before each test and stopped after it; it first checks
 * that Chromium and the built page are there.
 */
final class BrowserRelay implements BeforeEachCallback, AfterEachCallback {
  private final String page;
  private TestRelay relay;

  /** {@code page}: the built script the tests open (under www/), e.g. "test-page.js". */
  BrowserRelay(String page) {
    this.page = page;
  }

  @Override
  public void beforeEach(ExtensionContext context) throws Exception {
    Chromium.require(page);
    relay = TestRelay.start(RelayConfig.builder().webSocketPort(0).devStaticDir(Chromium.WEB.resolve("www")));
  }

  @Override
  public void afterEach(ExtensionContext context) throws Exception {
    relay.close();
  }

  TestRelay relay() {
    return relay;
  }

  /** The relay's HTTP origin, e.g. {@code http://127.0.0.1:43121}. */
  String origin() {
    return "http://127.0.0.1:" + relay.server.webSocketPort();
  }
}
