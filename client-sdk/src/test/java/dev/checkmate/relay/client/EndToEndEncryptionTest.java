package dev.checkmate.relay.client;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.checkmate.relay.client.e2e.E2eException.Check;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * End-to-end encryption through a real relay: plaintext in, plaintext out, ciphertext in between;
 * a relay that tampers, replays, drops, reorders or sits in the middle is detected.
 */
@Timeout(60)
class EndToEndEncryptionTest {
  private static final Duration WAIT = Duration.ofSeconds(10);

  // Telemetry off: these tests are about end-to-end security, not metrics.
  @RegisterExtension final RelayExtension relay = new RelayExtension(b -> b.telemetryEnabled(false));

  private RelayClient clientVia(MaliciousRelay evil) {
    return relay.closeLater(RelayClient.builder().target(evil.target()).usePlaintext().build());
  }

  @Test
  void bothPeersWithAPairingSecretExchangePlaintextWhileTheRelayOnlySeesCiphertext() throws Exception {
    try (MaliciousRelay tap = new MaliciousRelay(relay.target(), MaliciousRelay.Mode.PASSTHROUGH, 0, null)) {
      RelayClient client = clientVia(tap);
      SessionInvite invite = client.createSession(Duration.ofMinutes(1));
      byte[] secret = JoinOptions.newPairingSecret();
      try (RelaySession prover = client.join(invite.proverTicket(), JoinOptions.endToEnd(secret));
          RelaySession verifier = client.join(invite.verifierTicket(), JoinOptions.endToEnd(secret))) {
        assertThat(prover.endToEndEncrypted()).isTrue();
        // Data may be queued before the handshake finishes: it is sealed once the keys exist.
        prover.send("secret statement: x = 42".getBytes(UTF_8));
        assertThat(prover.awaitSecure(WAIT)).isTrue();
        assertThat(verifier.awaitSecure(WAIT)).isTrue();
        assertThat(prover.shortAuthenticationString()).isPresent().isEqualTo(verifier.shortAuthenticationString());
        assertThat(new String(verifier.receive(WAIT), UTF_8)).isEqualTo("secret statement: x = 42");
        for (int i = 0; i < 20; i++) {
          verifier.sendBlocking(("challenge " + i).getBytes(UTF_8));
          assertThat(new String(prover.receive(WAIT), UTF_8)).isEqualTo("challenge " + i);
          prover.sendBlocking(("response " + i).getBytes(UTF_8));
          assertThat(new String(verifier.receive(WAIT), UTF_8)).isEqualTo("response " + i);
        }
        // The largest plaintext is the frame limit minus the 28 bytes of E2E overhead.
        int max = prover.limits().maxFrameBytes() - 28;
        prover.sendBlocking(new byte[max]);
        assertThat(verifier.receive(WAIT)).hasSize(max);
        assertThatThrownBy(() -> prover.send(new byte[max + 1]))
            .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("end-to-end overhead");
        prover.terminate("done");
      }
      // What the relay saw: E2E messages only (version byte 1), never the plaintext.
      assertThat(tap.payloadsSeen).hasSizeGreaterThan(40);
      for (byte[] p : tap.payloadsSeen) {
        assertThat(p[0]).isEqualTo((byte) 0x01);
        assertThat(contains(p, "secret statement".getBytes(UTF_8))).isFalse();
        assertThat(contains(p, "challenge".getBytes(UTF_8))).isFalse();
        assertThat(contains(p, "response".getBytes(UTF_8))).isFalse();
      }
    }
  }

  @Test
  void callbackStyleAndSasModeWork() throws Exception {
    RelayClient client = relay.client();
    SessionInvite invite = client.createSession(Duration.ofMinutes(1));
    LinkedBlockingQueue<String> got = new LinkedBlockingQueue<>();
    CompletableFuture<String> sasSeen = new CompletableFuture<>();
    SessionListener listener = new SessionListener() {
      @Override
      public void onFrame(RelaySession session, byte[] payload) {
        got.add(new String(payload, UTF_8));
      }

      @Override
      public void onSecure(RelaySession session, String sas) {
        sasSeen.complete(sas);
      }
    };
    try (RelaySession verifier = client.join(invite.verifierTicket(), JoinOptions.endToEndWithSas(), listener);
        RelaySession prover = client.join(invite.proverTicket(), JoinOptions.endToEndWithSas())) {
      prover.sendBlocking("hello".getBytes(UTF_8));
      assertThat(got.poll(10, TimeUnit.SECONDS)).isEqualTo("hello");
      assertThat(prover.awaitSecure(WAIT)).isTrue();
      String sas = sasSeen.get(10, TimeUnit.SECONDS);
      assertThat(sas).matches("\\d{6}");
      assertThat(prover.shortAuthenticationString()).contains(sas);
    }
  }

  @ParameterizedTest
  @EnumSource(value = MaliciousRelay.Mode.class, names = {"FLIP", "DUPLICATE", "DROP", "SWAP"})
  void aRelayThatTampersReplaysDropsOrReordersFramesIsDetected(MaliciousRelay.Mode mode) throws Exception {
    try (MaliciousRelay evil = new MaliciousRelay(relay.target(), mode, 3, null)) {
      RelayClient client = clientVia(evil);
      SessionInvite invite = client.createSession(Duration.ofMinutes(1));
      byte[] secret = JoinOptions.newPairingSecret();
      try (RelaySession prover = client.join(invite.proverTicket(), JoinOptions.endToEnd(secret));
          RelaySession verifier = client.join(invite.verifierTicket(), JoinOptions.endToEnd(secret))) {
        for (int i = 1; i <= 5; i++) {
          prover.sendBlocking(("frame " + i).getBytes(UTF_8));
        }
        List<String> delivered = new ArrayList<>();
        Throwable failure = null;
        try {
          for (int i = 0; i < 5; i++) {
            delivered.add(new String(verifier.receive(WAIT), UTF_8));
          }
        } catch (RelayException e) {
          failure = e;
        }
        // Frames before the attack arrive intact; the attacked one is never delivered as genuine.
        assertThat(delivered).startsWith("frame 1", "frame 2").doesNotContain("frame 3x");
        assertThat(failure).isInstanceOf(EndToEndSecurityException.class);
        EndToEndSecurityException e2e = (EndToEndSecurityException) failure;
        assertThat(e2e.reportedByPeer()).isFalse();
        assertThat(e2e.code()).isEqualTo(StatusCode.DATA_LOSS);
        assertThat(e2e.check()).isEqualTo(switch (mode) {
          case FLIP -> Check.AUTHENTICATION_FAILED;
          default -> Check.COUNTER_MISMATCH;
        });
        assertThat(delivered).hasSizeLessThan(5);
        // The verifier told the prover why (Terminate "e2e: CHECK"): both sides end typed.
        RelayException proverEnd = awaitEnd(prover);
        assertThat(proverEnd).isInstanceOfSatisfying(EndToEndSecurityException.class, p -> {
          assertThat(p.reportedByPeer()).isTrue();
          assertThat(p.check()).isEqualTo(e2e.check());
        });
      }
    }
  }

  @Test
  void aRelayInTheMiddleFailsKeyConfirmationWhenAPairingSecretIsUsed() throws Exception {
    try (MaliciousRelay mitm = new MaliciousRelay(relay.target(), MaliciousRelay.Mode.MITM, 0,
        JoinOptions.newPairingSecret())) {
      RelayClient client = clientVia(mitm);
      SessionInvite invite = client.createSession(Duration.ofMinutes(1));
      byte[] secret = JoinOptions.newPairingSecret();
      try (RelaySession prover = client.join(invite.proverTicket(), JoinOptions.endToEnd(secret))) {
        prover.send("never readable".getBytes(UTF_8));
        assertThatThrownBy(() -> prover.awaitSecure(WAIT))
            .isInstanceOfSatisfying(EndToEndSecurityException.class,
                e -> assertThat(e.check()).isEqualTo(Check.KEY_CONFIRMATION_FAILED));
        // The attacker answers each side's handshake itself, so the prover can detect it and end the
        // session before the verifier even joins; either way the verifier never gets a secure channel.
        RelaySession verifier = null;
        try {
          verifier = client.join(invite.verifierTicket(), JoinOptions.endToEnd(secret));
          RelaySession v = verifier;
          assertThatThrownBy(() -> v.awaitSecure(WAIT)).isInstanceOfAny(EndToEndSecurityException.class,
              SessionEndedException.class);
        } catch (SessionEndedException endedBeforeTheVerifierJoined) {
          assertThat(endedBeforeTheVerifierJoined.code()).isEqualTo(StatusCode.FAILED_PRECONDITION);
        } finally {
          if (verifier != null) {
            verifier.close();
          }
        }
        assertThat(mitm.mitmPlaintexts).isEmpty();
      }
    }
  }

  @Test
  void aRelayInTheMiddleWithoutAPairingSecretIsExposedByDifferentSas() throws Exception {
    try (MaliciousRelay mitm = new MaliciousRelay(relay.target(), MaliciousRelay.Mode.MITM, 0, null)) {
      RelayClient client = clientVia(mitm);
      SessionInvite invite = client.createSession(Duration.ofMinutes(1));
      try (RelaySession prover = client.join(invite.proverTicket(), JoinOptions.endToEndWithSas());
          RelaySession verifier = client.join(invite.verifierTicket(), JoinOptions.endToEndWithSas())) {
        assertThat(prover.awaitSecure(WAIT)).isTrue();
        assertThat(verifier.awaitSecure(WAIT)).isTrue();
        // Each side completed a handshake — with the attacker. Only comparing the SAS shows it.
        assertThat(prover.shortAuthenticationString()).isNotEqualTo(verifier.shortAuthenticationString());
        assertThat(prover.shortAuthenticationString()).contains(mitm.mitmSas.get(Role.PROVER));
        assertThat(verifier.shortAuthenticationString()).contains(mitm.mitmSas.get(Role.VERIFIER));
      }
    }
  }

  @Test
  void differentPairingSecretsFailKeyConfirmation() throws Exception {
    RelayClient client = relay.client();
    SessionInvite invite = client.createSession(Duration.ofMinutes(1));
    try (RelaySession prover = client.join(invite.proverTicket(), JoinOptions.endToEnd(JoinOptions.newPairingSecret()));
        RelaySession verifier = client.join(invite.verifierTicket(), JoinOptions.endToEnd(JoinOptions.newPairingSecret()))) {
      assertThatThrownBy(() -> prover.awaitSecure(WAIT)).isInstanceOf(EndToEndSecurityException.class);
      assertThatThrownBy(() -> verifier.awaitSecure(WAIT)).isInstanceOf(EndToEndSecurityException.class);
    }
  }

  @Test
  void aPeerWithoutEndToEndEncryptionIsRefused() throws Exception {
    RelayClient client = relay.client();
    SessionInvite invite = client.createSession(Duration.ofMinutes(1));
    try (RelaySession prover = client.join(invite.proverTicket());
        RelaySession verifier = client.join(invite.verifierTicket(), JoinOptions.endToEndWithSas())) {
      prover.sendBlocking("plain".getBytes(UTF_8));
      assertThatThrownBy(() -> verifier.awaitSecure(WAIT))
          .isInstanceOfSatisfying(EndToEndSecurityException.class,
              e -> assertThat(e.check()).isIn(Check.UNSUPPORTED_VERSION, Check.MALFORMED));
    }
  }

  /**
   * A peer that restarts (a new session object for its ticket: new keys) gets a new handshake:
   * the survivor reports the restart, starts over with fresh keys, and both reach the same new SAS;
   * frames of the new incarnation are sealed with the new keys only.
   */
  @ParameterizedTest(name = "pairingSecret={0}")
  @org.junit.jupiter.params.provider.ValueSource(booleans = {true, false})
  void aRestartedPeerGetsANewHandshakeAndTheSurvivorANewSas(boolean withSecret) throws Exception {
    RelayClient client = relay.client();
    SessionInvite invite = client.createSession(Duration.ofMinutes(1));
    JoinOptions options = withSecret ? JoinOptions.endToEnd(JoinOptions.newPairingSecret()) : JoinOptions.endToEndWithSas();
    LinkedBlockingQueue<String> sas = new LinkedBlockingQueue<>();
    LinkedBlockingQueue<Object> events = new LinkedBlockingQueue<>();
    try (RelaySession verifier = client.join(invite.verifierTicket(), options, new SessionListener() {
      @Override
      public void onFrame(RelaySession session, byte[] payload) {
        events.add(new String(payload, UTF_8));
      }

      @Override
      public void onSecure(RelaySession session, String shortAuthenticationString) {
        sas.add(shortAuthenticationString);
      }

      @Override
      public void onPeerRestarted(RelaySession session, PeerRestartedException restart) {
        events.add(restart);
      }
    })) {
      RelaySession first = client.join(invite.proverTicket(), options);
      assertThat(first.awaitSecure(WAIT)).isTrue();
      String firstSas = sas.poll(10, TimeUnit.SECONDS);
      assertThat(first.shortAuthenticationString()).hasValue(firstSas);
      first.sendBlocking("from the first".getBytes(UTF_8));
      assertThat(events.poll(10, TimeUnit.SECONDS)).isEqualTo("from the first");
      first.close(); // the process "dies"

      try (RelaySession second = client.join(invite.proverTicket(), options)) {
        assertThat(second.rejoinedAfterRestart()).isTrue();
        assertThat(second.awaitSecure(WAIT)).isTrue();
        assertThat(events.poll(10, TimeUnit.SECONDS)).isInstanceOf(PeerRestartedException.class);
        String secondSas = sas.poll(10, TimeUnit.SECONDS);
        assertThat(secondSas).as("onSecure again, for the new handshake").isNotNull();
        assertThat(second.shortAuthenticationString()).hasValue(secondSas);
        assertThat(verifier.shortAuthenticationString()).hasValue(secondSas);
        second.sendBlocking("from the second".getBytes(UTF_8));
        assertThat(events.poll(10, TimeUnit.SECONDS)).isEqualTo("from the second");
        verifier.sendBlocking("to the second".getBytes(UTF_8));
        assertThat(new String(second.receive(WAIT), UTF_8)).isEqualTo("to the second");
        assertThat(verifier.isOpen()).isTrue();
      }
    }
  }

  @Test
  void awaitSecureWithoutEndToEndIsAnError() throws Exception {
    RelayClient client = relay.client();
    SessionInvite invite = client.createSession(Duration.ofMinutes(1));
    try (RelaySession prover = client.join(invite.proverTicket())) {
      assertThat(prover.endToEndEncrypted()).isFalse();
      assertThat(prover.shortAuthenticationString()).isEmpty();
      assertThatThrownBy(() -> prover.awaitSecure(WAIT)).isInstanceOf(IllegalStateException.class);
    }
  }

  private static RelayException awaitEnd(RelaySession s) throws InterruptedException {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (System.nanoTime() < deadline) {
      try {
        if (s.receive(Duration.ofMillis(200)) == null && !s.isOpen()) {
          continue;
        }
      } catch (RelayException e) {
        return e;
      }
    }
    throw new AssertionError("session did not end");
  }

  static boolean contains(byte[] haystack, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= haystack.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (haystack[i + j] != needle[j]) {
          continue outer;
        }
      }
      return true;
    }
    return false;
  }
}
