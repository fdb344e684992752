package dev.checkmate.relay.admission;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.checkmate.relay.RelayConfig;
import dev.checkmate.relay.error.RelayError;
import dev.checkmate.relay.error.RelayException;
import dev.checkmate.relay.proto.v1.Role;
import dev.checkmate.relay.security.AddressLimits;
import dev.checkmate.relay.session.SessionHub;
import dev.checkmate.relay.ticket.KeyRing;
import dev.checkmate.relay.ticket.Ticket;
import dev.checkmate.relay.ticket.TicketIssuer;
import dev.checkmate.relay.ticket.TicketVerifier;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/**
 * The cluster home's ticket check ({@link Admission#verifyFromNode}): the local join's verifier,
 * behind a per-node budget taken before any signature work, and the session the request is for.
 */
class NodeAdmissionTest {
  final KeyRing keys = KeyRing.ephemeral();
  final TicketIssuer issuer = new TicketIssuer(keys.signingKey().orElseThrow(), "checkmate-relay", Clock.systemUTC());
  final TicketVerifier verifier = new TicketVerifier(keys, "checkmate-relay", Duration.ofSeconds(30), Clock.systemUTC());
  final SessionHub hub = new SessionHub(RelayConfig.builder().telemetryEnabled(false).build().sessionSettings(), Clock.systemUTC());

  Admission admission(int perNode) {
    return new Admission(hub, verifier, new AddressLimits(10, 10), null, perNode);
  }

  @Test
  void aValidTicketForTheSessionPassesWithItsSessionKey() throws Exception {
    String sid = issuer.newSessionId();
    Ticket t = admission(10).verifyFromNode("node-x", issuer.issue(sid, Role.VERIFIER, Instant.now().plusSeconds(60)), sid);
    assertThat(t.role()).isEqualTo(Role.VERIFIER);
    assertThat(t.sessionKey()).hasSize(32);
  }

  @Test
  void theBudgetIsPerNodeAndTakenBeforeTheSignatureIsChecked() {
    Admission admission = admission(5);
    int badTicket = 0;
    int rateLimited = 0;
    for (int i = 0; i < 20; i++) {
      RelayException e = catchThrowableOfType(() -> admission.verifyFromNode("node-x", "forged.ticket.sig", "sid"), RelayException.class);
      if (e.error() == RelayError.JOIN_RATE_LIMITED) {
        rateLimited++;
      } else {
        badTicket++;
      }
    }
    assertThat(badTicket).as("checked within the budget (burst of one second)").isBetween(5, 6);
    assertThat(rateLimited).as("refused before the check").isEqualTo(20 - badTicket);
    assertThat(hub.stats().rejections(RelayError.JOIN_RATE_LIMITED)).as("every refusal counted").isEqualTo(rateLimited);
    // Another node has its own budget.
    RelayException other = catchThrowableOfType(() -> admission.verifyFromNode("node-y", "forged.ticket.sig", "sid"), RelayException.class);
    assertThat(other.error()).isNotEqualTo(RelayError.JOIN_RATE_LIMITED);
  }

  @Test
  void aValidTicketOfAnotherSessionIsRefused() {
    String sid = issuer.newSessionId();
    String other = issuer.issue(issuer.newSessionId(), Role.VERIFIER, Instant.now().plusSeconds(60));
    RelayException e = catchThrowableOfType(() -> admission(10).verifyFromNode("node-x", other, sid), RelayException.class);
    assertThat(e.error()).isEqualTo(RelayError.MALFORMED);
  }

  @Test
  void bothTicketsOfASessionShareItsSessionKeyAndOtherSessionsDoNot() throws Exception {
    String sid = issuer.newSessionId();
    Instant exp = Instant.now().plusSeconds(60);
    byte[] p = verifier.verify(issuer.issue(sid, Role.PROVER, exp)).sessionKey();
    byte[] v = verifier.verify(issuer.issue(sid, Role.VERIFIER, exp)).sessionKey();
    byte[] o = verifier.verify(issuer.issue(issuer.newSessionId(), Role.PROVER, exp)).sessionKey();
    assertThat(p).isEqualTo(v).isNotEqualTo(o);
  }
}
