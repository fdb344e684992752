package dev.checkmate.relay.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.checkmate.relay.proto.v1.Role;
import dev.checkmate.relay.session.RelayError;
import dev.checkmate.relay.session.RelayException;
import dev.checkmate.relay.ticket.KeyRing;
import dev.checkmate.relay.ticket.Ticket;
import dev.checkmate.relay.ticket.TicketIssuer;
import dev.checkmate.relay.ticket.TicketVerifier;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** The home's ticket check: the local join's verifier, behind a per-node budget taken before any signature work. */
class HomeAdmissionTest {
  final KeyRing keys = KeyRing.ephemeral();
  final TicketIssuer issuer = new TicketIssuer(keys.signingKey().orElseThrow(), "checkmate-relay", Clock.systemUTC());
  final TicketVerifier verifier = new TicketVerifier(keys, "checkmate-relay", Duration.ofSeconds(30), Clock.systemUTC());

  @Test
  void aValidTicketForTheSessionPassesWithItsSessionKey() throws Exception {
    String sid = issuer.newSessionId();
    Ticket t = new HomeAdmission(verifier, 10).verify("node-x", issuer.issue(sid, Role.VERIFIER, Instant.now().plusSeconds(60)), sid);
    assertThat(t.role()).isEqualTo(Role.VERIFIER);
    assertThat(t.sessionKey()).hasSize(32);
  }

  @Test
  void theBudgetIsPerNodeAndTakenBeforeTheSignatureIsChecked() {
    HomeAdmission admission = new HomeAdmission(verifier, 5);
    int badTicket = 0;
    int rateLimited = 0;
    for (int i = 0; i < 20; i++) {
      RelayException e = catchThrowableOfType(() -> admission.verify("node-x", "forged.ticket.sig", "sid"), RelayException.class);
      if (e.error() == RelayError.RATE_LIMITED) {
        rateLimited++;
      } else {
        badTicket++;
      }
    }
    assertThat(badTicket).as("checked within the budget (burst of one second)").isBetween(5, 6);
    assertThat(rateLimited).as("refused before the check").isEqualTo(20 - badTicket);
    // Another node has its own budget.
    RelayException other = catchThrowableOfType(() -> admission.verify("node-y", "forged.ticket.sig", "sid"), RelayException.class);
    assertThat(other.error()).isNotEqualTo(RelayError.RATE_LIMITED);
  }

  @Test
  void aValidTicketOfAnotherSessionIsRefused() {
    String sid = issuer.newSessionId();
    String other = issuer.issue(issuer.newSessionId(), Role.VERIFIER, Instant.now().plusSeconds(60));
    RelayException e = catchThrowableOfType(() -> new HomeAdmission(verifier, 10).verify("node-x", other, sid), RelayException.class);
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
