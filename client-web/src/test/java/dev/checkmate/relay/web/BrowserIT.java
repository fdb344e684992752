package dev.checkmate.relay.web;

import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.DATA;
import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.JOINED;
import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.PEER_JOINED;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;


import dev.checkmate.relay.client.EndToEndSecurityException;
import dev.checkmate.relay.client.JoinOptions;
import dev.checkmate.relay.client.RelayClient;
import dev.checkmate.relay.client.RelaySession;
import dev.checkmate.relay.client.e2e.E2eException;
import dev.checkmate.relay.proto.v1.CreateSessionResponse;
import dev.checkmate.relay.testing.TestPeer;
import dev.checkmate.relay.testing.TestRelay;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;


import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.Test;

/**
 * Real-browser tests: Debian's Chromium, driven by playwright-core (test/browser.mjs), opens the
 * SDK's test page served by a real relay's HTTP port; this test is the Java peer over gRPC.
 */
class BrowserIT {
  @RegisterExtension
  final BrowserRelay browser = new BrowserRelay("test-page.js");
  private TestRelay relay;

  @BeforeEach
  void start() {
    relay = browser.relay();
  }

  /** Runs the browser on the test page; completes with the page's result JSON line. */
  private CompletableFuture<String> browse(String ticket, String sessionId, String transport, String screenshot) throws IOException {
    String fragment = "ticket=" + enc(ticket) + "&transport=" + transport + (sessionId == null ? "" : "&session=" + enc(sessionId));
    return open("/test.html#" + fragment, screenshot);
  }

  private CompletableFuture<String> open(String pathAndFragment, String screenshot) throws IOException {
    return Chromium.open(browser.origin() + pathAndFragment, screenshot);
  }

  /**
   * The next DATA message, skipping the browser SDK's resume acknowledgements (ServerMessage.ack:
   * the page acknowledges the frames it received; this raw peer has nothing to do with them).
   */
  private static dev.checkmate.relay.proto.v1.ServerMessage nextData(TestPeer peer, Duration timeout)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      dev.checkmate.relay.proto.v1.ServerMessage m =
          peer.received.poll(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      if (m == null) {
        throw new AssertionError("no DATA within " + timeout);
      }
      if (m.hasAck() || m.hasHeartbeat()) {
        continue;
      }
      assertThat(m.hasData()).as("expected DATA but got " + m).isTrue();
      return m;
    }
  }

  private static String enc(String s) {
    return Chromium.enc(s);
  }


  private void exchangeWithBrowser(String transport) throws Exception {
    CreateSessionResponse s = relay.createSession();
    try (TestPeer prover = relay.join(s.getProverTicket())) {
      prover.next(JOINED);
      CompletableFuture<String> page = browse(s.getVerifierTicket(), s.getSessionId(), transport, transport + ".png");
      prover.next(PEER_JOINED, Duration.ofSeconds(60));
      assertThat(nextData(prover, Duration.ofSeconds(60)).getData().getPayload().toStringUtf8()).isEqualTo("hello from the browser");
      for (int i = 1; i <= 3; i++) {
        prover.sendData(("ping-" + i).getBytes(StandardCharsets.UTF_8));
        assertThat(nextData(prover, Duration.ofSeconds(20)).getData().getPayload().toStringUtf8()).isEqualTo("echo:ping-" + i);
      }
      prover.terminate("verified");
      String result = page.get(90, TimeUnit.SECONDS);
      assertThat(result)
          .contains("\"ok\":true")
          .contains("\"transport\":\"" + transport + "\"")
          .contains("\"received\":[\"ping-1\",\"ping-2\",\"ping-3\"]")
          .contains("\"reason\":\"TERMINATED\"")
          .contains("\"message\":\"verified\"");
    }
  }

  @Test
  void aPageJoinsOverWebSocketAndExchangesFramesBothWaysWithAJavaPeer() throws Exception {
    exchangeWithBrowser("websocket");
  }

  @Test
  void aPageJoinsOverGrpcWebAndExchangesFramesBothWaysWithAJavaPeer() throws Exception {
    exchangeWithBrowser("grpc-web");
  }

  /**
   * The demo page as the Schnorr verifier against a Java prover speaking the examples module's
   * frame format (tag byte + unsigned big-endian number; see examples' Messages).
   */
  @Test
  void theDemoPageVerifiesAJavaSchnorrProverAndRejectsALiar() throws Exception {
    for (boolean honest : new boolean[] {true, false}) {
      CreateSessionResponse s = relay.createSession();
      try (TestPeer prover = relay.join(s.getProverTicket())) {
        prover.next(JOINED);
        CompletableFuture<String> page = open("/demo/#autostart=1&transport=websocket&ticket=" + enc(s.getVerifierTicket()),
            "demo-" + (honest ? "honest" : "liar") + ".png");
        prover.next(PEER_JOINED, Duration.ofSeconds(60));
        BigInteger x = Schnorr.demoSecret();
        BigInteger r = new BigInteger(256, new SecureRandom()).mod(Schnorr.Q);
        prover.sendData(Schnorr.frame(1, Schnorr.G.modPow(r, Schnorr.P)));
        byte[] challenge = nextData(prover, Duration.ofSeconds(20)).getData().getPayload().toByteArray();
        assertThat(challenge[0]).isEqualTo((byte) 2);
        BigInteger c = new BigInteger(1, java.util.Arrays.copyOfRange(challenge, 1, challenge.length));
        BigInteger secret = honest ? x : x.add(BigInteger.ONE);
        prover.sendData(Schnorr.frame(3, r.add(c.multiply(secret)).mod(Schnorr.Q)));
        byte[] result = nextData(prover, Duration.ofSeconds(20)).getData().getPayload().toByteArray();
        assertThat(result).containsExactly(4, honest ? 1 : 0);
        assertThat(page.get(90, TimeUnit.SECONDS)).contains("\"ok\":" + honest)
            .contains(honest ? "proof verified" : "proof rejected");
      }
    }
  }

  /** The Java prover's side of the demo (mirrors dev.checkmate.relay.examples.schnorr). */
  private static final class Schnorr {
    static final BigInteger P = new BigInteger(
        "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD"
            + "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
            + "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F"
            + "83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
            + "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510"
            + "15728E5A8AACAA68FFFFFFFFFFFFFFFF", 16);
    static final BigInteger Q = P.subtract(BigInteger.ONE).shiftRight(1);
    static final BigInteger G = BigInteger.TWO;

    static BigInteger demoSecret() throws Exception {
      byte[] digest = MessageDigest.getInstance("SHA-256")
          .digest("CheckMate Relay Schnorr demo key, v1".getBytes(StandardCharsets.UTF_8));
      return new BigInteger(1, digest).mod(Q.subtract(BigInteger.ONE)).add(BigInteger.ONE);
    }

    /** Like Messages.number: tag, then BigInteger.toByteArray() (may start with a zero byte). */
    static byte[] frame(int tag, BigInteger v) {
      byte[] m = v.toByteArray();
      byte[] out = new byte[m.length + 1];
      out[0] = (byte) tag;
      System.arraycopy(m, 0, out, 1, m.length);
      return out;
    }
  }

  // ---- end-to-end encryption: the browser SDK (WebCrypto) against the Java SDK ----

  private RelayClient javaClient() {
    return RelayClient.builder().target("127.0.0.1:" + relay.server.grpcPort()).usePlaintext().build();
  }

  /** The page joins with #e2e=<secret or "sas">; the Java SDK peer with the matching JoinOptions. */
  private void endToEndWithBrowser(String transport, byte[] secret) throws Exception {
    CreateSessionResponse s = relay.createSession();
    String e2e = secret == null ? "sas" : JoinOptions.encodePairingSecret(secret);
    try (RelayClient client = javaClient();
        RelaySession prover = client.join(s.getProverTicket(),
            secret == null ? JoinOptions.endToEndWithSas() : JoinOptions.endToEnd(secret))) {
      assertThat(prover.endToEndEncrypted()).isTrue();
      CompletableFuture<String> page = open("/test.html#ticket=" + enc(s.getVerifierTicket()) + "&transport=" + transport
          + "&session=" + enc(s.getSessionId()) + "&e2e=" + enc(e2e), "e2e-" + transport + (secret == null ? "-sas" : "-secret") + ".png");
      assertThat(prover.awaitSecure(Duration.ofSeconds(60))).isTrue();
      String sas = prover.shortAuthenticationString().orElseThrow();
      assertThat(new String(prover.receive(Duration.ofSeconds(30)), StandardCharsets.UTF_8)).isEqualTo("hello from the browser");
      for (int i = 1; i <= 3; i++) {
        prover.sendBlocking(("ping-" + i).getBytes(StandardCharsets.UTF_8));
        assertThat(new String(prover.receive(Duration.ofSeconds(20)), StandardCharsets.UTF_8)).isEqualTo("echo:ping-" + i);
      }
      // Near the largest plaintext (frame limit minus 28 bytes of overhead; the echo adds 5 bytes).
      byte[] big = new byte[prover.limits().maxFrameBytes() - 28 - "echo:".length()];
      java.util.Arrays.fill(big, (byte) 'x');
      prover.sendBlocking(big);
      assertThat(new String(prover.receive(Duration.ofSeconds(20)), StandardCharsets.UTF_8)).isEqualTo("echo:" + new String(big, StandardCharsets.UTF_8));
      prover.terminate("verified");
      String result = page.get(90, TimeUnit.SECONDS);
      assertThat(result)
          .contains("\"ok\":true")
          .contains("\"transport\":\"" + transport + "\"")
          .contains("\"received\":[\"ping-1\",\"ping-2\",\"ping-3\",\"xxx")
          .contains("\"reason\":\"TERMINATED\"")
          // Both sides derived the same keys: the page shows the Java side's SAS.
          .contains("\"sas\":\"" + sas + "\"");
    }
  }

  @Test
  void aPageWithAPairingSecretExchangesEncryptedFramesBothWaysWithAJavaSdkPeer() throws Exception {
    endToEndWithBrowser("websocket", JoinOptions.newPairingSecret());
  }

  @Test
  void aPageInSasModeOverGrpcWebShowsTheSameSasAsTheJavaSdkPeer() throws Exception {
    endToEndWithBrowser("grpc-web", null);
  }

  @Test
  void aMismatchedPairingSecretFailsInThePageWithTheEndToEndError() throws Exception {
    CreateSessionResponse s = relay.createSession();
    try (RelayClient client = javaClient();
        RelaySession prover = client.join(s.getProverTicket(), JoinOptions.endToEnd(JoinOptions.newPairingSecret()))) {
      CompletableFuture<String> page = open("/test.html#ticket=" + enc(s.getVerifierTicket()) + "&transport=websocket&e2e="
          + enc(JoinOptions.encodePairingSecret(JoinOptions.newPairingSecret())), "e2e-mismatch.png");
      assertThatThrownBy(() -> prover.awaitSecure(Duration.ofSeconds(60)))
          .isInstanceOfSatisfying(EndToEndSecurityException.class,
              e -> assertThat(e.check()).isEqualTo(E2eException.Check.KEY_CONFIRMATION_FAILED));
      String result = page.get(90, TimeUnit.SECONDS);
      assertThat(result)
          .contains("\"ok\":false")
          .contains("\"name\":\"EndToEndSecurityError\"")
          .contains("\"code\":\"DATA_LOSS\"")
          .contains("\"check\":\"KEY_CONFIRMATION_FAILED\"")
          .contains("\"status\":\"EndToEndSecurityError: ");
    }
  }

  @Test
  void aForgedTicketShowsTheRelaysReasonInThePage() throws Exception {
    String ticket = relay.createSession().getVerifierTicket();
    String forged = ticket.substring(0, ticket.length() - 4) + (ticket.endsWith("AAAA") ? "BBBB" : "AAAA");
    String result = browse(forged, null, "websocket", "forged.png").get(90, TimeUnit.SECONDS);
    assertThat(result)
        .contains("\"ok\":false")
        .contains("\"name\":\"TicketRejectedError\"")
        .contains("\"code\":\"UNAUTHENTICATED\"")
        .contains("\"closeCode\":4401")
        .contains("\"status\":\"TicketRejectedError: ");
  }
}
