package dev.checkmate.relay.client.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.checkmate.relay.client.Role;
import dev.checkmate.relay.client.e2e.E2eException.Check;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.Test;

/** Behaviour of the handshake and channel: round trips, tampering, replay, drop, reorder, MITM. */
class E2eChannelTest {
  private static final String SID = "q3Zt1xS0cVnQm2hJ8rYbLw";

  /** Both ends of a completed session, confirmations exchanged. */
  private record Pair(E2eChannel prover, E2eChannel verifier) {}

  private static Pair connect(String proverSid, Optional<byte[]> proverSecret, String verifierSid,
      Optional<byte[]> verifierSecret) {
    E2eHandshake p = E2eHandshake.start(proverSid, Role.PROVER, proverSecret);
    E2eHandshake v = E2eHandshake.start(verifierSid, Role.VERIFIER, verifierSecret);
    byte[] pc = p.localCommitment();
    byte[] vc = v.localCommitment();
    byte[] ph = p.acceptPeerCommitment(vc);
    byte[] vh = v.acceptPeerCommitment(pc);
    return new Pair(p.complete(vh), v.complete(ph));
  }

  private static Pair confirmed(Optional<byte[]> secret) {
    Pair s = connect(SID, secret.map(byte[]::clone), SID, secret.map(byte[]::clone));
    byte[] pconf = s.prover.localConfirmation();
    byte[] vconf = s.verifier.localConfirmation();
    s.prover.verifyPeerConfirmation(vconf);
    s.verifier.verifyPeerConfirmation(pconf);
    return s;
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static void assertFails(Check check, ThrowingCallable call) {
    assertThatThrownBy(call).isInstanceOfSatisfying(E2eException.class,
        e -> assertThat(e.check()).as(e.getMessage()).isEqualTo(check));
  }

  @Test
  void roundTripBothDirectionsWithAndWithoutPairingSecret() {
    for (Optional<byte[]> secret : List.of(Optional.of(E2eHandshake.newPairingSecret()), Optional.<byte[]>empty())) {
      Pair s = confirmed(secret);
      assertThat(s.prover.shortAuthenticationString()).matches("\\d{6}")
          .isEqualTo(s.verifier.shortAuthenticationString());
      assertThat(s.prover.transcriptHash()).isEqualTo(s.verifier.transcriptHash());
      for (int i = 0; i < 50; i++) {
        byte[] m1 = utf8("prover says " + i);
        byte[] c1 = s.prover.seal(m1);
        assertThat(c1).hasSize(m1.length + 28);
        assertThat(s.verifier.open(c1)).isEqualTo(m1);
        byte[] m2 = new byte[i * 37];
        byte[] c2 = s.verifier.seal(m2);
        assertThat(s.prover.open(c2)).isEqualTo(m2);
      }
      assertThat(s.prover.sentFrames()).isEqualTo(50);
      assertThat(s.prover.receivedFrames()).isEqualTo(50);
    }
  }

  @Test
  void samePlaintextNeverGivesTheSameFrame() {
    Pair s = confirmed(Optional.empty());
    byte[] a = s.prover.seal(utf8("same"));
    byte[] b = s.prover.seal(utf8("same"));
    assertThat(a).isNotEqualTo(b);
    // A frame sealed by one side cannot be opened by itself (per-direction keys and roles).
    assertFails(Check.ROLE_MISMATCH, () -> s.prover.open(a));
  }

  @Test
  void flippedCiphertextBitIsDetected() {
    Pair s = confirmed(Optional.empty());
    byte[] c = s.prover.seal(utf8("transfer 10 EUR"));
    for (int bit = 12 * 8; bit < c.length * 8; bit += 13) {
      Pair fresh = confirmed(Optional.empty());
      byte[] frame = fresh.prover.seal(utf8("transfer 10 EUR"));
      frame[bit / 8] ^= (byte) (1 << (bit % 8));
      assertFails(Check.AUTHENTICATION_FAILED, () -> fresh.verifier.open(frame));
    }
  }

  @Test
  void flippedHeaderBitsAreDetected() {
    // Every single-bit flip of the 12-byte header (version, type, role, flags, counter) fails.
    for (int bit = 0; bit < 12 * 8; bit++) {
      Pair s = confirmed(Optional.empty());
      byte[] frame = s.prover.seal(utf8("x"));
      frame[bit / 8] ^= (byte) (1 << (bit % 8));
      assertThatThrownBy(() -> s.verifier.open(frame)).isInstanceOf(E2eException.class);
    }
  }

  @Test
  void counterInHeaderIsAuthenticated() {
    Pair s = confirmed(Optional.empty());
    s.prover.seal(utf8("one"));
    byte[] second = s.prover.seal(utf8("two"));
    second[11] = 1; // pretend frame 2 is frame 1
    assertFails(Check.AUTHENTICATION_FAILED, () -> s.verifier.open(second));
  }

  @Test
  void replayIsDetected() {
    Pair s = confirmed(Optional.empty());
    byte[] c = s.prover.seal(utf8("pay once"));
    assertThat(s.verifier.open(c)).isEqualTo(utf8("pay once"));
    assertFails(Check.COUNTER_MISMATCH, () -> s.verifier.open(c));
  }

  @Test
  void droppedFrameIsDetected() {
    Pair s = confirmed(Optional.empty());
    byte[] c1 = s.prover.seal(utf8("1"));
    s.prover.seal(utf8("2")); // lost
    byte[] c3 = s.prover.seal(utf8("3"));
    s.verifier.open(c1);
    assertThatThrownBy(() -> s.verifier.open(c3)).isInstanceOfSatisfying(E2eException.class, e -> {
      assertThat(e.check()).isEqualTo(Check.COUNTER_MISMATCH);
      assertThat(e.getMessage()).contains("expected counter 2, got 3").contains("dropped");
    });
  }

  @Test
  void reorderedFramesAreDetectedAndTheDirectionStaysFailed() {
    Pair s = confirmed(Optional.empty());
    byte[] c1 = s.prover.seal(utf8("1"));
    byte[] c2 = s.prover.seal(utf8("2"));
    assertFails(Check.COUNTER_MISMATCH, () -> s.verifier.open(c2));
    assertFails(Check.CLOSED, () -> s.verifier.open(c1));
    // The other direction is unaffected (the SDK still ends the session).
    assertThat(s.prover.open(s.verifier.seal(utf8("ok")))).isEqualTo(utf8("ok"));
  }

  @Test
  void relayInTheMiddleIsDetectedByKeyConfirmationWithPairingSecret() {
    byte[] secret = E2eHandshake.newPairingSecret();
    E2eHandshake prover = E2eHandshake.start(SID, Role.PROVER, Optional.of(secret.clone()));
    E2eHandshake verifier = E2eHandshake.start(SID, Role.VERIFIER, Optional.of(secret.clone()));
    // The relay does not know the secret; it must claim one (or the mode check fails at once).
    E2eHandshake mitmToProver = E2eHandshake.start(SID, Role.VERIFIER, Optional.of(E2eHandshake.newPairingSecret()));
    E2eHandshake mitmToVerifier = E2eHandshake.start(SID, Role.PROVER, Optional.of(E2eHandshake.newPairingSecret()));

    byte[] proverHello = prover.acceptPeerCommitment(mitmToProver.localCommitment());
    byte[] verifierHello = verifier.acceptPeerCommitment(mitmToVerifier.localCommitment());
    byte[] mHelloToProver = mitmToProver.acceptPeerCommitment(prover.localCommitment());
    byte[] mHelloToVerifier = mitmToVerifier.acceptPeerCommitment(verifier.localCommitment());
    E2eChannel p = prover.complete(mHelloToProver);
    E2eChannel v = verifier.complete(mHelloToVerifier);
    E2eHandshake.Completion mpc = mitmToProver.completeWithSchedule(proverHello);
    E2eChannel mp = mpc.channel;
    E2eChannel mv = mitmToVerifier.complete(verifierHello);

    assertFails(Check.KEY_CONFIRMATION_FAILED, () -> p.verifyPeerConfirmation(mp.localConfirmation()));
    assertFails(Check.KEY_CONFIRMATION_FAILED, () -> v.verifyPeerConfirmation(mv.localConfirmation()));
    assertFails(Check.KEY_CONFIRMATION_FAILED, () -> mp.verifyPeerConfirmation(p.localConfirmation()));
    // Nor can the relay read what the prover sealed: its key for that direction is another one.
    byte[] sealed = p.seal(utf8("secret"));
    assertThatThrownBy(() -> {
      javax.crypto.Cipher c = javax.crypto.Cipher.getInstance("AES/GCM/NoPadding");
      c.init(javax.crypto.Cipher.DECRYPT_MODE,
          new javax.crypto.spec.SecretKeySpec(mpc.schedule.keyProverToVerifier, "AES"),
          new javax.crypto.spec.GCMParameterSpec(128, E2eChannel.nonce(1)));
      c.updateAAD(Wire.concat(java.util.Arrays.copyOf(sealed, 12), mpc.schedule.transcriptHash));
      c.doFinal(sealed, 12, sealed.length - 12);
    }).isInstanceOf(javax.crypto.AEADBadTagException.class);
  }

  @Test
  void relayWithoutTheSecretCannotStripIt() {
    E2eHandshake prover = E2eHandshake.start(SID, Role.PROVER, Optional.of(E2eHandshake.newPairingSecret()));
    E2eHandshake mitm = E2eHandshake.start(SID, Role.VERIFIER, Optional.empty());
    assertFails(Check.PAIRING_MODE_MISMATCH, () -> prover.acceptPeerCommitment(mitm.localCommitment()));
  }

  @Test
  void relayInTheMiddleWithoutPairingSecretYieldsDifferentSas() {
    // Fixed keys so the test is deterministic (random keys would collide with probability 10^-6).
    E2eHandshake prover = E2eHandshake.startWithPrivateKey(SID, Role.PROVER, Optional.empty(), key(1));
    E2eHandshake verifier = E2eHandshake.startWithPrivateKey(SID, Role.VERIFIER, Optional.empty(), key(2));
    E2eHandshake mitmToProver = E2eHandshake.startWithPrivateKey(SID, Role.VERIFIER, Optional.empty(), key(3));
    E2eHandshake mitmToVerifier = E2eHandshake.startWithPrivateKey(SID, Role.PROVER, Optional.empty(), key(4));

    byte[] proverHello = prover.acceptPeerCommitment(mitmToProver.localCommitment());
    byte[] verifierHello = verifier.acceptPeerCommitment(mitmToVerifier.localCommitment());
    E2eChannel p = prover.complete(mitmToProver.acceptPeerCommitment(prover.localCommitment()));
    E2eChannel v = verifier.complete(mitmToVerifier.acceptPeerCommitment(verifier.localCommitment()));
    E2eChannel mp = mitmToProver.complete(proverHello);
    E2eChannel mv = mitmToVerifier.complete(verifierHello);

    // Without a secret the relay completes both handshakes (confirmations pass)...
    p.verifyPeerConfirmation(mp.localConfirmation());
    v.verifyPeerConfirmation(mv.localConfirmation());
    // ...but the users see different codes.
    assertThat(p.shortAuthenticationString()).isEqualTo(mp.shortAuthenticationString());
    assertThat(v.shortAuthenticationString()).isEqualTo(mv.shortAuthenticationString());
    assertThat(p.shortAuthenticationString()).isNotEqualTo(v.shortAuthenticationString());
  }

  @Test
  void relayThatForwardsCommitsButSubstitutesHellosFailsTheCommitment() {
    E2eHandshake prover = E2eHandshake.start(SID, Role.PROVER, Optional.empty());
    E2eHandshake verifier = E2eHandshake.start(SID, Role.VERIFIER, Optional.empty());
    E2eHandshake mitm = E2eHandshake.start(SID, Role.PROVER, Optional.empty());
    verifier.acceptPeerCommitment(prover.localCommitment());
    mitm.acceptPeerCommitment(verifier.localCommitment());
    assertFails(Check.COMMITMENT_MISMATCH, () -> verifier.complete(mitm.localHello()));
  }

  @Test
  void wrongPairingSecretFailsConfirmationOnBothSides() {
    Pair s = connect(SID, Optional.of(E2eHandshake.newPairingSecret()), SID,
        Optional.of(E2eHandshake.newPairingSecret()));
    assertFails(Check.KEY_CONFIRMATION_FAILED,
        () -> s.prover.verifyPeerConfirmation(s.verifier.localConfirmation()));
    assertFails(Check.KEY_CONFIRMATION_FAILED,
        () -> s.verifier.verifyPeerConfirmation(s.prover.localConfirmation()));
    assertThat(s.prover.shortAuthenticationString()).isNotEqualTo(s.verifier.shortAuthenticationString());
  }

  @Test
  void differentSessionIdsFailConfirmation() {
    byte[] secret = E2eHandshake.newPairingSecret();
    for (Optional<byte[]> sec : List.of(Optional.of(secret), Optional.<byte[]>empty())) {
      Pair s = connect(SID, sec.map(byte[]::clone), "another-session", sec.map(byte[]::clone));
      assertFails(Check.KEY_CONFIRMATION_FAILED,
          () -> s.prover.verifyPeerConfirmation(s.verifier.localConfirmation()));
      assertFails(Check.KEY_CONFIRMATION_FAILED,
          () -> s.verifier.verifyPeerConfirmation(s.prover.localConfirmation()));
    }
  }

  @Test
  void frameFromAnotherSessionDoesNotOpen() {
    Pair a = confirmed(Optional.empty());
    Pair b = confirmed(Optional.empty());
    assertFails(Check.AUTHENTICATION_FAILED, () -> b.verifier.open(a.prover.seal(utf8("x"))));
  }

  @Test
  void orderingRulesAreEnforced() {
    E2eHandshake p = E2eHandshake.start(SID, Role.PROVER, Optional.empty());
    E2eHandshake v = E2eHandshake.start(SID, Role.VERIFIER, Optional.empty());
    assertThatThrownBy(p::localHello).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> p.complete(new byte[36])).isInstanceOf(IllegalStateException.class);
    // A peer claiming our own role is refused.
    E2eHandshake other = E2eHandshake.start(SID, Role.PROVER, Optional.empty());
    assertFails(Check.ROLE_MISMATCH, () -> p.acceptPeerCommitment(other.localCommitment()));
    assertThatThrownBy(() -> p.acceptPeerCommitment(v.localCommitment()))
        .isInstanceOf(IllegalStateException.class); // failed for good

    Pair s = connect(SID, Optional.empty(), SID, Optional.empty());
    assertThatThrownBy(() -> s.prover.seal(utf8("too early"))).isInstanceOf(IllegalStateException.class);
    byte[] conf = s.prover.localConfirmation();
    byte[] early = s.prover.seal(utf8("data before the peer's confirm was checked"));
    assertFails(Check.UNEXPECTED_MESSAGE, () -> s.verifier.open(early));

    Pair t = confirmed(Optional.empty());
    assertFails(Check.UNEXPECTED_MESSAGE,
        () -> t.verifier.verifyPeerConfirmation(t.prover.localConfirmation()));
    assertThat(conf).hasSize(36);
  }

  @Test
  void messageTypesRouteIncomingPayloads() {
    E2eHandshake p = E2eHandshake.start(SID, Role.PROVER, Optional.empty());
    E2eHandshake v = E2eHandshake.start(SID, Role.VERIFIER, Optional.empty());
    assertThat(E2eMessageType.of(p.localCommitment())).isEqualTo(E2eMessageType.COMMIT);
    byte[] hello = p.acceptPeerCommitment(v.localCommitment());
    assertThat(E2eMessageType.of(hello)).isEqualTo(E2eMessageType.HELLO);
    v.acceptPeerCommitment(p.localCommitment());
    E2eChannel ch = v.complete(hello);
    byte[] conf = ch.localConfirmation();
    assertThat(E2eMessageType.of(conf)).isEqualTo(E2eMessageType.CONFIRM);
    assertThat(E2eMessageType.of(ch.seal(new byte[0]))).isEqualTo(E2eMessageType.DATA);
    assertFails(Check.UNSUPPORTED_VERSION, () -> E2eMessageType.of(new byte[] {2, 1, 1, 0}));
    assertFails(Check.MALFORMED, () -> E2eMessageType.of(new byte[] {1, 9, 1, 0}));
    assertFails(Check.MALFORMED, () -> E2eMessageType.of(new byte[] {1}));
  }

  @Test
  void invalidArgumentsAreRefused() {
    assertThatThrownBy(() -> E2eHandshake.start("", Role.PROVER, Optional.empty()))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> E2eHandshake.start(SID, Role.PROVER, Optional.of(new byte[15])))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> E2eHandshake.start(SID, null, Optional.empty()))
        .isInstanceOf(NullPointerException.class);
  }

  @Test
  void errorsDoNotLeakKeyMaterial() {
    E2eHandshake.Completion c;
    E2eHandshake p = E2eHandshake.startWithPrivateKey(SID, Role.PROVER, Optional.empty(), key(7));
    E2eHandshake v = E2eHandshake.startWithPrivateKey(SID, Role.VERIFIER, Optional.empty(), key(8));
    p.acceptPeerCommitment(v.localCommitment());
    byte[] vh = v.acceptPeerCommitment(p.localCommitment());
    c = p.completeWithSchedule(vh);
    E2eChannel ch = c.channel;
    ch.localConfirmation();
    List<String> secrets = new ArrayList<>();
    for (byte[] b : List.of(c.schedule.sharedSecret, c.schedule.prk, c.schedule.keyProverToVerifier,
        c.schedule.keyVerifierToProver, c.schedule.confirmKeyProver, c.schedule.confirmKeyVerifier, key(7))) {
      secrets.add(Hex.encode(b).substring(0, 16));
    }
    byte[] forged = new byte[36];
    forged[0] = 1;
    forged[1] = 3;
    forged[2] = 2;
    E2eException e = org.junit.jupiter.api.Assertions.assertThrows(E2eException.class,
        () -> ch.verifyPeerConfirmation(forged));
    assertThat(e.getMessage()).contains("key confirmation failed");
    for (String s : secrets) {
      assertThat(e.getMessage().toLowerCase()).doesNotContain(s);
      assertThat(ch.toString()).doesNotContain(s);
      assertThat(p.toString()).doesNotContain(s);
    }
  }

  @Test
  void closeWipesAndRefuses() {
    Pair s = confirmed(Optional.empty());
    byte[] c = s.prover.seal(utf8("x"));
    s.verifier.close();
    assertFails(Check.CLOSED, () -> s.verifier.open(c));
    assertFails(Check.CLOSED, () -> s.verifier.seal(utf8("y")));
  }

  @Test
  void sealAndOpenRunConcurrentlyInBothDirections() throws Exception {
    Pair s = confirmed(Optional.of(E2eHandshake.newPairingSecret()));
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try {
      Future<Integer> a = pool.submit(() -> pump(s.prover, s.verifier, 500));
      Future<Integer> b = pool.submit(() -> pump(s.verifier, s.prover, 500));
      assertThat(a.get(60, TimeUnit.SECONDS)).isEqualTo(500);
      assertThat(b.get(60, TimeUnit.SECONDS)).isEqualTo(500);
    } finally {
      pool.shutdownNow();
    }
  }

  private static int pump(E2eChannel from, E2eChannel to, int n) {
    int ok = 0;
    for (int i = 0; i < n; i++) {
      byte[] m = utf8("m" + i);
      if (java.util.Arrays.equals(to.open(from.seal(m)), m)) {
        ok++;
      }
    }
    return ok;
  }

  private static byte[] key(int seed) {
    return Wire.sha256(utf8("CheckMate-E2E-v1 unit test key " + seed));
  }
}
