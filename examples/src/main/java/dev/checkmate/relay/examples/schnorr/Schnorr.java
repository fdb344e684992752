package dev.checkmate.relay.examples.schnorr;

import static dev.checkmate.relay.examples.schnorr.SchnorrGroup.G;
import static dev.checkmate.relay.examples.schnorr.SchnorrGroup.P;
import static dev.checkmate.relay.examples.schnorr.SchnorrGroup.Q;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;

/**
 * Textbook interactive Schnorr identification: the prover convinces the verifier that it knows
 * {@code x} with {@code y = g^x mod p}, without revealing {@code x}.
 *
 * <pre>
 *   prover                          verifier
 *   r random in [1, q-1]
 *   t = g^r            ---- t --->  check t is in the subgroup
 *                      <--- c ----  c random, 256 bits
 *   s = r + c*x mod q  ---- s --->  accept iff g^s == t * y^c (mod p)
 * </pre>
 */
final class Schnorr {
  /** Bits of the verifier's challenge; the soundness error of one run is 2^-256. */
  static final int CHALLENGE_BITS = 256;

  private static final String DEMO_SEED = "CheckMate Relay Schnorr demo key, v1";

  private Schnorr() {}

  /** A secret {@code x} in [1, q-1] and its public key {@code y = g^x mod p}. */
  record KeyPair(BigInteger secret, BigInteger publicKey) {
    static KeyPair fromSecret(BigInteger x) {
      if (x.signum() <= 0 || x.compareTo(Q) >= 0) {
        throw new IllegalArgumentException("the secret must be in [1, q-1]");
      }
      return new KeyPair(x, G.modPow(x, P));
    }

    /** Leaves the secret out. */
    @Override
    public String toString() {
      return "KeyPair{publicKey=" + publicKey.toString(16) + "}";
    }
  }

  /**
   * The demo's fixed key pair, derived from a public seed so that the two commands agree without
   * key arguments. Anyone can recompute it: it demonstrates the protocol, it protects nothing.
   */
  static KeyPair demoKeyPair() {
    try {
      byte[] digest =
          MessageDigest.getInstance("SHA-256").digest(DEMO_SEED.getBytes(StandardCharsets.UTF_8));
      BigInteger x = new BigInteger(1, digest).mod(Q.subtract(BigInteger.ONE)).add(BigInteger.ONE);
      return KeyPair.fromSecret(x);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is always available", e);
    }
  }

  /** The prover's side of one run. */
  static final class Prover {
    private final BigInteger secret;
    private final SecureRandom random;
    private BigInteger nonce;

    Prover(BigInteger secret, SecureRandom random) {
      this.secret = secret;
      this.random = random;
    }

    /** Round 1: picks a fresh nonce r and returns the commitment t = g^r. */
    BigInteger commit() {
      nonce = randomExponent(random);
      return G.modPow(nonce, P);
    }

    /** Round 3: s = r + c*x mod q. The nonce is used once and forgotten. */
    BigInteger respond(BigInteger challenge) {
      if (nonce == null) {
        throw new IllegalStateException("commit() first");
      }
      BigInteger s = nonce.add(challenge.multiply(secret)).mod(Q);
      nonce = null;
      return s;
    }
  }

  /** The verifier's side of one run. */
  static final class Verifier {
    private final BigInteger publicKey;
    private final SecureRandom random;
    private BigInteger commitment;
    private BigInteger challenge;

    Verifier(BigInteger publicKey, SecureRandom random) {
      if (!SchnorrGroup.inSubgroup(publicKey)) {
        throw new IllegalArgumentException("the public key is not an element of the group");
      }
      this.publicKey = publicKey;
      this.random = random;
    }

    /**
     * Round 2: records the commitment and returns a random challenge.
     *
     * @throws IllegalArgumentException if t is not in the subgroup (the proof is rejected)
     */
    BigInteger challenge(BigInteger t) {
      if (!SchnorrGroup.inSubgroup(t)) {
        throw new IllegalArgumentException("the commitment is not an element of the group");
      }
      commitment = t;
      challenge = new BigInteger(CHALLENGE_BITS, random);
      return challenge;
    }

    /** Round 4: accepts iff s is in [0, q) and g^s == t * y^c (mod p). */
    boolean verify(BigInteger s) {
      if (challenge == null) {
        throw new IllegalStateException("challenge() first");
      }
      if (s.signum() < 0 || s.compareTo(Q) >= 0) {
        return false;
      }
      BigInteger left = G.modPow(s, P);
      BigInteger right = commitment.multiply(publicKey.modPow(challenge, P)).mod(P);
      return left.equals(right);
    }
  }

  /** Uniform in [1, q-1] by rejection sampling, so no modular bias. */
  static BigInteger randomExponent(SecureRandom random) {
    while (true) {
      BigInteger r = new BigInteger(Q.bitLength(), random);
      if (r.signum() > 0 && r.compareTo(Q) < 0) {
        return r;
      }
    }
  }
}
