package dev.checkmate.relay.client.e2e;

/**
 * An end-to-end encryption check failed: a handshake message or frame from the peer (or from
 * whoever sits between us and the peer) was malformed, out of order, forged or bound to other
 * keys. {@link #check()} names the check; the message explains it in words.
 *
 * <p>Messages never contain key material, shared secrets, MACs or plaintext. After an exception
 * from {@link E2eChannel#open(byte[])} or {@link E2eChannel#verifyPeerConfirmation(byte[])} the
 * receiving direction of the channel is unusable: end the session (the SDK ends it as a protocol
 * error) and start a new one.
 */
public final class E2eException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** Which check failed. */
  public enum Check {
    /** Wrong length, unknown message type, or a reserved bit set. */
    MALFORMED,
    /** The peer speaks another protocol version. */
    UNSUPPORTED_VERSION,
    /** The peer claims our own role (or a role that is not the expected peer role). */
    ROLE_MISMATCH,
    /** One side uses a pairing secret and the other does not. */
    PAIRING_MODE_MISMATCH,
    /** The peer's hello does not match the commitment it sent first. */
    COMMITMENT_MISMATCH,
    /** The peer's public key is not a canonical X25519 key or yields a small-order result. */
    INVALID_PUBLIC_KEY,
    /**
     * The peer's key confirmation does not match ours: different pairing secret, different session
     * id, or a relay-in-the-middle substituted handshake messages.
     */
    KEY_CONFIRMATION_FAILED,
    /** A message arrived that the protocol does not allow at this point. */
    UNEXPECTED_MESSAGE,
    /** A data frame's counter is not the next one expected: replay, reorder or a dropped frame. */
    COUNTER_MISMATCH,
    /** A data frame failed AES-GCM authentication: tampered ciphertext or header, or wrong key. */
    AUTHENTICATION_FAILED,
    /** A direction has used all its frame counters; start a new session. */
    COUNTER_EXHAUSTED,
    /** The channel was closed, or its receiving direction failed earlier. */
    CLOSED
  }

  private final Check check;

  E2eException(Check check, String message) {
    super("end-to-end encryption: " + message + " [" + check + "]");
    this.check = check;
  }

  /** The check that failed. */
  public Check check() {
    return check;
  }
}
