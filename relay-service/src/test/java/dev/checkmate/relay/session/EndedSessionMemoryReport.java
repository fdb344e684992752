package dev.checkmate.relay.session;

import dev.checkmate.relay.RelayConfig;
import dev.checkmate.relay.proto.v1.Role;
import dev.checkmate.relay.ticket.Ticket;
import dev.checkmate.relay.ticket.TicketIssuer;
import java.lang.management.ManagementFactory;
import java.time.Clock;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * On demand: heap per ended session the relay remembers (so its tickets stay dead) until its
 * tickets expire — a per-session memory cost of rate × (ticket lifetime + clock skew):
 *
 * <pre>mvn -B -pl relay-service -am verify -Dtest=EndedSessionMemoryReport -Dended.report=true \
 *     -Dsurefire.failIfNoSpecifiedTests=false</pre>
 *
 * Prints bytes per remembered session (heap after GC, 200,000 real session ids, measured against
 * the same hub before they ended).
 */
@EnabledIfSystemProperty(named = "ended.report", matches = "true")
class EndedSessionMemoryReport {
  @Test
  void report() throws Exception {
    int n = Integer.getInteger("ended.sessions", 200_000);
    SessionHub hub = new SessionHub(RelayConfig.builder().telemetryEnabled(false).build().sessionSettings(), Clock.systemUTC());
    TicketIssuer issuer = new TicketIssuer(dev.checkmate.relay.ticket.KeyRing.ephemeral().signingKey().orElseThrow(),
        "checkmate-relay", Clock.systemUTC());
    String[] ids = new String[n];
    for (int i = 0; i < n; i++) {
      ids[i] = issuer.newSessionId();
    }
    Instant exp = Instant.now().plusSeconds(600);
    long before = heapAfterGc();
    for (int i = 0; i < n; i++) {
      hub.terminateHere(new Ticket(ids[i], Role.PROVER, "t", exp), "done");
    }
    long after = heapAfterGc();
    if (hub.endedSessionCount() != n) {
      throw new AssertionError("expected " + n + " remembered sessions, got " + hub.endedSessionCount());
    }
    // The ids themselves were already on the heap (ids[]): a relay holds them only in its memory,
    // so their size counts too.
    long idBytes = 0;
    for (String id : ids) {
      idBytes += 24 + 16 + id.length(); // String object + byte[] header + Latin-1 bytes (compact strings)
    }
    System.out.printf("%nENDED-SESSION MEMORY: %d sessions remembered: %.0f B each beyond their ids, %.0f B each with their ids%n%n",
        n, (after - before) / (double) n, (after - before + idBytes) / (double) n);
  }

  private static long heapAfterGc() throws InterruptedException {
    for (int i = 0; i < 3; i++) {
      System.gc();
      Thread.sleep(200);
    }
    return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
  }
}
