package dev.checkmate.relay.client;

import java.util.List;

/**
 * What stands between the application's payloads and the relay's frames: {@link #PLAIN} (a null
 * object: payloads go out as they are) or {@link E2eCodec} (end-to-end encryption: a handshake,
 * then sealed DATA). The session calls {@link #start}, {@link #canSeal}, {@link #seal} and {@link
 * #activate} under its lock and {@link #open} on its (serial) incoming thread. The browser SDK has
 * the same interface ({@code FrameCodec}, {@code PLAIN_CODEC}, {@code E2eCodec}).
 */
interface FrameCodec {
  /** No end-to-end encryption. */
  FrameCodec PLAIN = new FrameCodec() {
    @Override
    public boolean endToEnd() {
      return false;
    }

    @Override
    public int overhead() {
      return 0;
    }

    @Override
    public byte[] start(String sessionId, Role role) {
      return null;
    }

    @Override
    public boolean canSeal() {
      return true;
    }

    @Override
    public byte[] seal(byte[] plaintext) {
      return plaintext;
    }

    @Override
    public byte[] open(byte[] payload, List<byte[]> replies) {
      return payload;
    }

    @Override
    public void activate() {}

    @Override
    public boolean isSecure() {
      return false;
    }

    @Override
    public String sas() {
      return null;
    }

    @Override
    public void close() {}
  };

  boolean endToEnd();

  /** Bytes a sealed frame adds to the plaintext. */
  int overhead();

  /**
   * Starts the handshake once Joined names the session and the role, and again from scratch after
   * the peer restarted (new keys; the previous channel is dropped). Returns the first handshake
   * payload to send (before any DATA), or null when there is none.
   */
  byte[] start(String sessionId, Role role);

  /** Whether DATA may be sealed now (the handshake produced keys and our CONFIRM is queued). */
  boolean canSeal();

  /** Seals one application payload; throws {@link EndToEndSecurityException}. */
  byte[] seal(byte[] plaintext);

  /**
   * One payload from the peer, in order, exactly once.
   *
   * @param replies receives handshake payloads to send in reply, in order
   * @return the application payload, or null when the payload was a handshake message
   * @throws EndToEndSecurityException when a check fails; the session must end
   */
  byte[] open(byte[] payload, List<byte[]> replies);

  /** Call once the replies of {@link #open} are queued: DATA may follow them. */
  void activate();

  /** Whether the peer's key confirmation of the current handshake checked out. */
  boolean isSecure();

  /** The short authentication string of the current handshake once secure, else null. */
  String sas();

  /** Wipes keys; nothing works afterwards. */
  void close();
}
