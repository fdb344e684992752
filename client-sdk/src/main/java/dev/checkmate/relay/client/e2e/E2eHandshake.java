package dev.checkmate.relay.client.e2e;

import dev.checkmate.relay.client.Role;
import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.KeyPair;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Objects;
import java.util.Optional;

/**
 * One side of the end-to-end handshake of protocol v1 (docs/e2e-protocol.md). Pure: it turns
 * bytes into bytes and never touches a transport.
 *
 * <pre>{@code
 * E2eHandshake hs = E2eHandshake.start(sessionId, Role.PROVER, Optional.of(pairingSecret));
 * send(hs.localCommitment());                       // 1. COMMIT
 * send(hs.acceptPeerCommitment(receive()));         // 2. HELLO, only after the peer's COMMIT
 * E2eChannel ch = hs.complete(receive());           //    peer's HELLO: checks it, derives keys
 * send(ch.localConfirmation());                     // 3. CONFIRM
 * ch.verifyPeerConfirmation(receive());             //    peer's CONFIRM
 * send(ch.seal(plaintext)); ... ch.open(receive()); // DATA
 * }</pre>
 *
 * <p>Each side first commits to its HELLO and reveals it only after it holds the peer's
 * commitment, so that a relay-in-the-middle cannot choose its substitute keys after seeing an
 * honest key: without a pairing secret the 6-digit SAS then stops it with probability 1 - 10^-6.
 *
 * <p>A handshake is single-use and fails for good on the first bad peer message. Methods are
 * synchronized; the usual caller is one transport thread.
 */
public final class E2eHandshake {
  private enum State { COMMITTED, HELLO_SENT, DONE, FAILED }

  private static final SecureRandom RANDOM = new SecureRandom();

  private final String sessionId;
  private final byte[] sessionIdBytes;
  private final Role localRole;
  private final byte[] pairingSecret; // null without one
  private PrivateKey privateKey;
  private final byte[] localPublic;
  private final byte[] localHello;
  private final byte[] localCommitment;
  private byte[] peerCommitment;
  private State state = State.COMMITTED;

  private E2eHandshake(String sessionId, Role localRole, Optional<byte[]> pairingSecret,
      PrivateKey privateKey, byte[] localPublic) {
    this.sessionId = sessionId;
    this.sessionIdBytes = sessionId.getBytes(StandardCharsets.UTF_8);
    this.localRole = localRole;
    this.pairingSecret = pairingSecret.map(byte[]::clone).orElse(null);
    this.privateKey = privateKey;
    this.localPublic = localPublic;
    this.localHello = Wire.concat(
        Wire.header(E2eMessageType.HELLO, localRole, flags()), localPublic);
    this.localCommitment = Wire.concat(
        Wire.header(E2eMessageType.COMMIT, localRole, flags()), commitmentOf(localHello));
  }

  /**
   * Starts a handshake with a fresh ephemeral X25519 key.
   *
   * @param sessionId the relay session id (bound into the keys; both sides must use the same)
   * @param localRole this side's role, PROVER or VERIFIER
   * @param pairingSecret the invitation's pairing secret (16 to 1024 bytes, e.g. 32 random
   *     bytes from {@link #newPairingSecret()}), or empty to rely on SAS comparison
   */
  public static E2eHandshake start(String sessionId, Role localRole, Optional<byte[]> pairingSecret) {
    validate(sessionId, localRole, pairingSecret);
    KeyPair kp = X25519.generate();
    return new E2eHandshake(sessionId, localRole, pairingSecret, kp.getPrivate(),
        X25519.encode(kp.getPublic()));
  }

  /**
   * Test hook for reproducible vectors: starts with a given 32-byte X25519 private key.
   * Package-private on purpose; production code has no way to choose its ephemeral key.
   */
  static E2eHandshake startWithPrivateKey(String sessionId, Role localRole,
      Optional<byte[]> pairingSecret, byte[] privateKey) {
    validate(sessionId, localRole, pairingSecret);
    PrivateKey key = X25519.privateKey(privateKey);
    try {
      return new E2eHandshake(sessionId, localRole, pairingSecret, key, X25519.publicKey(key));
    } catch (InvalidKeyException e) {
      throw new IllegalArgumentException("unusable X25519 private key", e);
    }
  }

  /** 32 random bytes from SecureRandom: a pairing secret to put in a session invitation. */
  public static byte[] newPairingSecret() {
    byte[] s = new byte[32];
    RANDOM.nextBytes(s);
    return s;
  }

  private static void validate(String sessionId, Role localRole, Optional<byte[]> pairingSecret) {
    Objects.requireNonNull(sessionId, "sessionId");
    Objects.requireNonNull(localRole, "localRole");
    Objects.requireNonNull(pairingSecret, "pairingSecret (use Optional.empty())");
    int idLen = sessionId.getBytes(StandardCharsets.UTF_8).length;
    if (idLen == 0 || idLen > Wire.MAX_SESSION_ID_LEN) {
      throw new IllegalArgumentException("sessionId must be 1.." + Wire.MAX_SESSION_ID_LEN + " UTF-8 bytes");
    }
    Wire.roleByte(localRole);
    pairingSecret.ifPresent(s -> {
      if (s.length < Wire.MIN_PAIRING_SECRET_LEN || s.length > Wire.MAX_PAIRING_SECRET_LEN) {
        throw new IllegalArgumentException("pairing secret must be " + Wire.MIN_PAIRING_SECRET_LEN
            + ".." + Wire.MAX_PAIRING_SECRET_LEN + " bytes (use newPairingSecret())");
      }
    });
  }

  private int flags() {
    return pairingSecret != null ? Wire.FLAG_PAIRING_SECRET : 0;
  }

  static byte[] commitmentOf(byte[] hello) {
    return Wire.sha256(Wire.LABEL_COMMIT, hello);
  }

  /** This side's role. */
  public Role localRole() {
    return localRole;
  }

  /** The session id the keys are bound to. */
  public String sessionId() {
    return sessionId;
  }

  /** Whether a pairing secret is mixed into the keys (otherwise users must compare the SAS). */
  public boolean usesPairingSecret() {
    return pairingSecret != null;
  }

  /** Message 1, the COMMIT payload (36 bytes): send it first. */
  public byte[] localCommitment() {
    return localCommitment.clone();
  }

  /**
   * Takes the peer's COMMIT and returns message 2, this side's HELLO payload (36 bytes), to send.
   *
   * @throws E2eException if the commitment is malformed, of another version, from the wrong role,
   *     or the peer's pairing mode differs from ours
   * @throws IllegalStateException if called twice
   */
  public synchronized byte[] acceptPeerCommitment(byte[] peerCommitment) {
    if (state != State.COMMITTED) {
      throw new IllegalStateException("peer commitment already accepted (state " + state + ")");
    }
    try {
      Wire.checkHeader(peerCommitment, E2eMessageType.COMMIT, Wire.peerOf(localRole), flags(),
          Wire.COMMIT_LEN, Wire.COMMIT_LEN);
    } catch (E2eException e) {
      fail();
      throw e;
    }
    this.peerCommitment = peerCommitment.clone();
    state = State.HELLO_SENT;
    return localHello.clone();
  }

  /**
   * This side's HELLO, available once the peer's commitment is accepted (never earlier: revealing
   * the key before holding the peer's commitment would let a relay-in-the-middle grind the SAS).
   */
  public synchronized byte[] localHello() {
    if (state == State.COMMITTED) {
      throw new IllegalStateException("the HELLO is revealed only after acceptPeerCommitment()");
    }
    return localHello.clone();
  }

  /**
   * Takes the peer's HELLO, checks it against the peer's commitment, and derives the keys.
   *
   * @throws E2eException if the hello is malformed, does not match the commitment, carries a
   *     wrong role, pairing mode or an invalid / small-order public key
   * @throws IllegalStateException if called before {@link #acceptPeerCommitment} or twice
   */
  public E2eChannel complete(byte[] peerHello) {
    Completion c = completeWithSchedule(peerHello);
    c.schedule.wipe();
    return c.channel;
  }

  /** {@link #complete} that also returns the key schedule: for the vector tests only. */
  synchronized Completion completeWithSchedule(byte[] peerHello) {
    if (state != State.HELLO_SENT) {
      throw new IllegalStateException(state == State.COMMITTED
          ? "call acceptPeerCommitment() before complete()"
          : "handshake already " + (state == State.DONE ? "completed" : "failed"));
    }
    try {
      Role peerRole = Wire.peerOf(localRole);
      Wire.checkHeader(peerHello, E2eMessageType.HELLO, peerRole, flags(),
          Wire.HELLO_LEN, Wire.HELLO_LEN);
      if (!MessageDigest.isEqual(commitmentOf(peerHello),
          Arrays.copyOfRange(peerCommitment, Wire.HEADER_LEN, Wire.COMMIT_LEN))) {
        throw new E2eException(E2eException.Check.COMMITMENT_MISMATCH,
            "peer HELLO does not match the COMMIT it sent first");
      }
      byte[] peerPublic = Arrays.copyOfRange(peerHello, Wire.HEADER_LEN, Wire.HELLO_LEN);
      if (!X25519.isCanonical(peerPublic)) {
        throw new E2eException(E2eException.Check.INVALID_PUBLIC_KEY,
            "peer public key is not a canonical X25519 u-coordinate");
      }
      if (MessageDigest.isEqual(peerPublic, localPublic)) {
        throw new E2eException(E2eException.Check.INVALID_PUBLIC_KEY,
            "peer public key equals ours (reflected HELLO)");
      }
      byte[] shared;
      try {
        shared = X25519.agree(privateKey, peerPublic);
      } catch (InvalidKeyException e) {
        throw new E2eException(E2eException.Check.INVALID_PUBLIC_KEY,
            "peer public key has small order (all-zero shared secret)");
      }
      byte[] proverHello = localRole == Role.PROVER ? localHello : peerHello;
      byte[] verifierHello = localRole == Role.PROVER ? peerHello : localHello;
      KeySchedule ks = KeySchedule.derive(sessionIdBytes, proverHello, verifierHello, shared,
          pairingSecret);
      Arrays.fill(shared, (byte) 0);
      E2eChannel channel = new E2eChannel(localRole, ks);
      state = State.DONE;
      privateKey = null; // the ephemeral key is used once
      if (pairingSecret != null) {
        Arrays.fill(pairingSecret, (byte) 0);
      }
      return new Completion(channel, ks);
    } catch (E2eException e) {
      fail();
      throw e;
    }
  }

  private void fail() {
    state = State.FAILED;
    privateKey = null;
    if (pairingSecret != null) {
      Arrays.fill(pairingSecret, (byte) 0);
    }
  }

  @Override
  public String toString() {
    return "E2eHandshake{sessionId=" + sessionId + ", role=" + localRole
        + ", pairingSecret=" + (pairingSecret != null) + ", state=" + state + "}";
  }

  static final class Completion {
    final E2eChannel channel;
    final KeySchedule schedule;

    Completion(E2eChannel channel, KeySchedule schedule) {
      this.channel = channel;
      this.schedule = schedule;
    }
  }
}
