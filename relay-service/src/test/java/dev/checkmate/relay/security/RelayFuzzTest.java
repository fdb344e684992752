package dev.checkmate.relay.security;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.checkmate.relay.RelayConfig;
import dev.checkmate.relay.error.RelayException;
import dev.checkmate.relay.proto.v1.ClientMessage;
import dev.checkmate.relay.proto.v1.EndReason;
import dev.checkmate.relay.proto.v1.Frame;
import dev.checkmate.relay.proto.v1.Role;
import dev.checkmate.relay.proto.v1.ServerMessage;
import dev.checkmate.relay.session.Participant;
import dev.checkmate.relay.session.Seat;
import dev.checkmate.relay.session.SessionHub;
import dev.checkmate.relay.ticket.KeyRing;
import dev.checkmate.relay.ticket.Ticket;
import dev.checkmate.relay.ticket.TicketIssuer;
import dev.checkmate.relay.ticket.TicketVerifier;
import io.grpc.Status;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Fuzz harnesses (Jazzer through JUnit). In a normal build ({@code mvn verify}) each
 * {@code @FuzzTest} runs its seed corpus (src/test/resources/.../RelayFuzzTestInputs/) and the
 * plain tests below push ~3400 seeded random inputs through the same harnesses. A real fuzzing run:
 *
 * <pre>JAZZER_FUZZ=1 mvn -B -pl relay-service test -Dtest=RelayFuzzTest#ticketParsing   (or #clientMessagesThroughTheHub)</pre>
 *
 * Invariants: only the relay's own typed refusals ({@link RelayException}) come out, each with a
 * short message; nothing hangs; after every input the hub holds no session, seat or buffered byte.
 */
class RelayFuzzTest {
  private static final Clock CLOCK = Clock.systemUTC();
  private static final KeyRing KEYS = KeyRing.ephemeral();
  private static final TicketVerifier VERIFIER = new TicketVerifier(KEYS, "checkmate-relay", Duration.ofSeconds(30), CLOCK);
  private static final TicketIssuer ISSUER = new TicketIssuer(KEYS.signingKey().orElseThrow(), "checkmate-relay", CLOCK);
  private static final RelayConfig CONFIG = RelayConfig.builder().maxFrameBytes(512).rendezvousMaxFrames(4)
      .rendezvousMaxBytes(2048).maxBytesPerSecond(4096).maxFramesPerSecond(50).telemetryEnabled(false).build();

  private static final String SESSION_ID = ISSUER.newSessionId();
  private static final String[] TICKETS = {
      ISSUER.issue(SESSION_ID, Role.PROVER, Instant.now().plusSeconds(3600)),
      ISSUER.issue(SESSION_ID, Role.VERIFIER, Instant.now().plusSeconds(3600))};

  // ---- harness 1: ticket parsing ----

  @FuzzTest(maxDuration = "60s")
  void ticketParsing(byte[] input) {
    checkTicket(new String(input, StandardCharsets.UTF_8));
  }

  static void checkTicket(String token) {
    try {
      VERIFIER.verify(token, "some-session-id-0000000", Role.PROVER);
      throw new AssertionError("a ticket nobody signed verified: " + token);
    } catch (RelayException e) {
      assertThat(e.getMessage()).isNotBlank();
      assertThat(e.getMessage().length()).as(e.getMessage()).isLessThanOrEqualTo(120);
    }
  }

  // ---- harness 2: ClientMessage bytes through parsing + the hub's seat logic ----

  @FuzzTest(maxDuration = "60s")
  void clientMessagesThroughTheHub(byte[] input) {
    runScript(input);
  }

  /** A participant that records what the hub sends it; readiness is driven by the script. */
  private static final class FakeParticipant implements Participant {
    boolean ready = true;
    boolean closed;
    int requested;

    @Override
    public void send(ServerMessage message) {
      if (closed) {
        return;
      }
      assertThat(message.getKindCase()).isNotEqualTo(ServerMessage.KindCase.KIND_NOT_SET);
    }

    @Override
    public boolean isReady() {
      return ready && !closed;
    }

    @Override
    public void requestNext() {
      requested++;
    }

    @Override
    public void close(Status status) {
      closed = true;
    }

    @Override
    public String transport() {
      return "grpc";
    }
  }

  /**
   * Interprets the bytes as a script of participant actions on one session: joins with real
   * tickets, frames of fuzzed sizes, readiness flips, leaves, terminates, and raw bytes parsed as a
   * ClientMessage and dispatched the way the Connect stream does.
   */
  static void runScript(byte[] input) {
    SessionHub hub = new SessionHub(CONFIG.sessionSettings(), CLOCK); // fresh hub: the same tickets start a fresh session
    String[] tickets = TICKETS;
    FakeParticipant[] parts = {new FakeParticipant(), new FakeParticipant()};
    Seat[] seats = new Seat[2];
    int i = 0;
    while (i < input.length) {
      int op = input[i++] & 0xff;
      int who = (op >> 3) & 1;
      try {
        switch (op & 7) {
          case 0 -> {
            if (seats[who] == null) {
              parts[who] = new FakeParticipant();
              seats[who] = hub.join(VERIFIER.verify(tickets[who]), parts[who]);
            }
          }
          case 1 -> {
            int size = i < input.length ? (input[i++] & 0xff) * 3 : 0;
            if (seats[who] != null) {
              seats[who].onFrame(Frame.newBuilder().setSeq(i).setPayload(ByteString.copyFrom(new byte[size])).build());
            }
          }
          case 2 -> {
            parts[who].ready = !parts[who].ready;
            if (seats[who] != null) {
              seats[who].onWritable();
            }
          }
          case 3 -> {
            if (seats[who] != null) {
              seats[who].left("fuzz");
              seats[who] = null;
            }
          }
          case 4 -> {
            if (seats[who] != null) {
              seats[who].terminate(new String(input, i, Math.min(8, input.length - i), StandardCharsets.ISO_8859_1));
            }
          }
          case 5 -> hub.sweep();
          default -> {
            int len = i < input.length ? input[i++] & 0x3f : 0;
            len = Math.min(len, input.length - i);
            byte[] raw = java.util.Arrays.copyOfRange(input, i, i + len);
            i += len;
            dispatch(hub, raw, seats, parts, who, tickets);
          }
        }
      } catch (RelayException e) {
        assertThat(e.getMessage()).isNotBlank();
      }
      for (int k = 0; k < 2; k++) {
        if (parts[k].closed) {
          seats[k] = null;
        }
      }
    }
    hub.endAll(EndReason.RELAY_SHUTDOWN, "fuzz done");
    hub.sweep();
    assertThat(hub.sessionCount()).isZero();
    assertThat(hub.participantCount()).isZero();
    assertThat(hub.rendezvousBytes()).isZero();
  }

  /** The Connect stream's dispatch (ConnectCall.onNext) on raw, possibly malformed bytes. */
  private static void dispatch(SessionHub hub, byte[] raw, Seat[] seats, FakeParticipant[] parts, int who, String[] tickets)
      throws RelayException {
    ClientMessage m;
    try {
      m = ClientMessage.parseFrom(raw);
    } catch (InvalidProtocolBufferException e) {
      return; // gRPC ends such a stream with INTERNAL before the relay sees it
    }
    Seat s = seats[who];
    if (s == null) {
      if (m.getKindCase() != ClientMessage.KindCase.JOIN) {
        return; // refused: first message must be a Join
      }
      String t = m.getJoin().getTicket().isEmpty() ? tickets[who] : m.getJoin().getTicket();
      Ticket ticket = VERIFIER.verify(t, null, m.getJoin().getExpectedRole());
      parts[who] = new FakeParticipant();
      seats[who] = hub.join(ticket, parts[who]);
      return;
    }
    switch (m.getKindCase()) {
      case DATA -> s.onFrame(m.getData());
      case TERMINATE -> s.terminate(m.getTerminate().getReason());
      case HEARTBEAT -> { }
      case JOIN -> s.protocolError("already joined");
      default -> s.protocolError("empty or unknown message kind");
    }
  }

  // ---- bounded random inputs in every build (Jazzer's regression mode only replays the corpus) ----

  @Test
  void randomTicketsAreRefusedWithShortTypedErrors() {
    Random r = new Random(8);
    String valid = ISSUER.issue(ISSUER.newSessionId(), Role.PROVER, Instant.now().plusSeconds(60));
    for (int n = 0; n < 1500; n++) {
      StringBuilder sb = new StringBuilder(valid);
      int edits = 1 + r.nextInt(4);
      for (int e = 0; e < edits && sb.length() > 0; e++) {
        int at = r.nextInt(sb.length());
        switch (r.nextInt(3)) {
          case 0 -> sb.setCharAt(at, (char) (32 + r.nextInt(95)));
          case 1 -> sb.deleteCharAt(at);
          default -> sb.insert(at, (char) r.nextInt(0x3000));
        }
      }
      String t = sb.toString();
      if (!t.equals(valid)) {
        try {
          VERIFIER.verify(t);
          // A flipped base64 padding bit can decode to the same bytes: then it is the valid ticket.
        } catch (RelayException e) {
          assertThat(e.getMessage().length()).isLessThanOrEqualTo(120);
        }
      }
      byte[] junk = new byte[r.nextInt(600)];
      r.nextBytes(junk);
      checkTicket(new String(junk, StandardCharsets.ISO_8859_1));
    }
  }

  @Test
  void randomScriptsLeaveTheHubEmpty() {
    Random r = new Random(7);
    for (int n = 0; n < 400; n++) {
      byte[] script = new byte[r.nextInt(200)];
      r.nextBytes(script);
      runScript(script);
    }
  }
}
