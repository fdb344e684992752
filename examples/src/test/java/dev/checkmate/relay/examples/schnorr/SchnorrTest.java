package dev.checkmate.relay.examples.schnorr;

import static dev.checkmate.relay.examples.schnorr.SchnorrGroup.G;
import static dev.checkmate.relay.examples.schnorr.SchnorrGroup.P;
import static dev.checkmate.relay.examples.schnorr.SchnorrGroup.Q;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.math.BigInteger;
import java.security.SecureRandom;
import org.junit.jupiter.api.Test;

class SchnorrTest {
  private final SecureRandom random = new SecureRandom();

  @Test
  void theGroupIsRfc3526Group14() {
    assertThat(P.bitLength()).isEqualTo(2048);
    assertThat(P.isProbablePrime(64)).as("p prime").isTrue();
    assertThat(Q.isProbablePrime(64)).as("q = (p-1)/2 prime").isTrue();
    assertThat(G.modPow(Q, P)).as("g generates the order-q subgroup").isEqualTo(BigInteger.ONE);
    // Low and high 64 bits are all ones by construction (RFC 3526, section 3).
    assertThat(P.and(BigInteger.ONE.shiftLeft(64).subtract(BigInteger.ONE)))
        .isEqualTo(BigInteger.ONE.shiftLeft(64).subtract(BigInteger.ONE));
    assertThat(P.shiftRight(1984)).isEqualTo(BigInteger.ONE.shiftLeft(64).subtract(BigInteger.ONE));
  }

  @Test
  void anHonestProverIsAccepted() {
    Schnorr.KeyPair keys = Schnorr.demoKeyPair();
    for (int run = 0; run < 5; run++) {
      Schnorr.Prover prover = new Schnorr.Prover(keys.secret(), random);
      Schnorr.Verifier verifier = new Schnorr.Verifier(keys.publicKey(), random);
      BigInteger c = verifier.challenge(prover.commit());
      assertThat(c.bitLength()).isLessThanOrEqualTo(Schnorr.CHALLENGE_BITS);
      assertThat(verifier.verify(prover.respond(c))).isTrue();
    }
  }

  @Test
  void aProverWithTheWrongSecretIsRejected() {
    Schnorr.KeyPair keys = Schnorr.demoKeyPair();
    Schnorr.Prover liar = new Schnorr.Prover(keys.secret().add(BigInteger.ONE), random);
    Schnorr.Verifier verifier = new Schnorr.Verifier(keys.publicKey(), random);
    BigInteger c = verifier.challenge(liar.commit());
    assertThat(verifier.verify(liar.respond(c))).isFalse();
  }

  @Test
  void commitmentsOutsideTheSubgroupAreRejected() {
    Schnorr.Verifier verifier = new Schnorr.Verifier(Schnorr.demoKeyPair().publicKey(), random);
    for (BigInteger bad : new BigInteger[] {
        BigInteger.ZERO, BigInteger.ONE, P.subtract(BigInteger.ONE), P, P.add(BigInteger.TWO),
        BigInteger.valueOf(-4)}) {
      assertThatThrownBy(() -> verifier.challenge(bad))
          .as("t = %s", bad).isInstanceOf(IllegalArgumentException.class);
    }
  }

  @Test
  void responsesOutOfRangeAreRejected() {
    Schnorr.KeyPair keys = Schnorr.demoKeyPair();
    Schnorr.Prover prover = new Schnorr.Prover(keys.secret(), random);
    Schnorr.Verifier verifier = new Schnorr.Verifier(keys.publicKey(), random);
    BigInteger s = prover.respond(verifier.challenge(prover.commit()));
    // s + q passes the group equation (g has order q) but is not a canonical response.
    assertThat(verifier.verify(s.add(Q))).isFalse();
    assertThat(verifier.verify(s.negate())).isFalse();
    assertThat(verifier.verify(s)).isTrue();
  }

  @Test
  void theDemoKeyIsFixedAndValid() {
    Schnorr.KeyPair a = Schnorr.demoKeyPair();
    assertThat(Schnorr.demoKeyPair()).isEqualTo(a);
    assertThat(G.modPow(a.secret(), P)).isEqualTo(a.publicKey());
    assertThat(SchnorrGroup.inSubgroup(a.publicKey())).isTrue();
    assertThat(a.toString()).doesNotContain(a.secret().toString(16));
    assertThatThrownBy(() -> new Schnorr.Verifier(P.subtract(BigInteger.ONE), random))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> Schnorr.KeyPair.fromSecret(Q)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void nonceIsUsedOnce() {
    Schnorr.Prover prover = new Schnorr.Prover(BigInteger.TEN, random);
    prover.commit();
    prover.respond(BigInteger.ONE);
    assertThatThrownBy(() -> prover.respond(BigInteger.ONE)).isInstanceOf(IllegalStateException.class);
  }

  @Test
  void messagesRoundTripAndRefuseTheWrongKind() {
    BigInteger big = P.subtract(BigInteger.TEN); // top bit set: must stay positive
    byte[] frame = Messages.number(Messages.COMMITMENT, big);
    assertThat(Messages.readNumber(Messages.COMMITMENT, frame)).isEqualTo(big);
    assertThatThrownBy(() -> Messages.readNumber(Messages.RESPONSE, frame))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("expected a response frame, got commitment");
    assertThat(Messages.readResult(Messages.result(true))).isTrue();
    assertThat(Messages.readResult(Messages.result(false))).isFalse();
    assertThatThrownBy(() -> Messages.readNumber(Messages.CHALLENGE, new byte[0]))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
