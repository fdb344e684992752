package dev.checkmate.relay.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import org.junit.jupiter.api.Test;

class TicketsTest {
  private static String jwt(String payloadJson) {
    Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
    return b64.encodeToString("{\"alg\":\"EdDSA\",\"kid\":\"k1\"}".getBytes(StandardCharsets.UTF_8))
        + "." + b64.encodeToString(payloadJson.getBytes(StandardCharsets.UTF_8))
        + ".c2lnbmF0dXJl";
  }

  @Test
  void readsTheSidClaimWithoutVerifying() {
    String ticket = jwt("{\"iss\":\"checkmate-relay\",\"sid\":\"AbC-_123xyz\",\"role\":\"prover\"}");
    assertThat(Tickets.sessionId(ticket)).contains("AbC-_123xyz");
  }

  @Test
  void toleratesWhitespaceAndPadding() {
    String ticket = jwt("{ \"sid\" : \"s1\" }");
    String[] parts = ticket.split("\\.");
    String padded = parts[0] + "." + parts[1] + "==" + "." + parts[2];
    assertThat(Tickets.sessionId(padded)).contains("s1");
  }

  @Test
  void givesUpQuietlyOnAnythingElse() {
    assertThat(Tickets.sessionId(null)).isEmpty();
    assertThat(Tickets.sessionId("not-a-ticket")).isEmpty();
    assertThat(Tickets.sessionId("a.%%%.c")).isEmpty();
    assertThat(Tickets.sessionId(jwt("{\"role\":\"prover\"}"))).isEmpty();
  }
}
