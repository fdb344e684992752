package dev.checkmate.relay.client;

import dev.checkmate.relay.client.e2e.E2eChannel;
import dev.checkmate.relay.client.e2e.E2eException;
import dev.checkmate.relay.client.e2e.E2eHandshake;
import dev.checkmate.relay.client.e2e.E2eMessageType;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * The end-to-end {@link FrameCodec} of one session: drives the handshake from the peer's frames and
 * seals / opens DATA (docs/e2e-protocol.md). {@link #open} runs on the session's serial incoming
 * thread; {@link #start}, {@link #seal}, {@link #canSeal} and {@link #activate} under the session's
 * lock.
 *
 * <p>Wire usage: after Joined the COMMIT is the first frame (relay seq 1); the peer's COMMIT is
 * answered with our HELLO, the peer's HELLO with our CONFIRM; application data follows. The E2E
 * counter inside DATA is separate from the relay seq. After a peer restart the session calls
 * {@link #start} again: a new handshake with new ephemeral keys (and the same pairing secret, which
 * is why this object keeps a copy until {@link #close}), so that the restarted peer and this side
 * share fresh keys; nothing of the previous channel is reused.
 */
final class E2eCodec implements FrameCodec {
  /** DATA overhead: 12-byte header + 16-byte tag. */
  static final int OVERHEAD = 28;

  private final byte[] pairingSecret; // null without one; wiped by close()
  private volatile State state = State.NONE;

  /** One handshake and the channel it produced; replaced as a whole by {@link #start}. */
  private static final class State {
    static final State NONE = new State(null);
    final E2eHandshake handshake;
    boolean peerCommitSeen;
    boolean peerHelloSeen;
    /** Completed channel whose CONFIRM is not yet queued; published by {@link #activate()}. */
    E2eChannel pending;
    volatile E2eChannel channel;
    volatile boolean secure;
    volatile String sas;

    State(E2eHandshake handshake) {
      this.handshake = handshake;
    }
  }

  E2eCodec(byte[] pairingSecret) {
    this.pairingSecret = pairingSecret == null ? null : pairingSecret.clone();
  }

  @Override
  public boolean endToEnd() {
    return true;
  }

  @Override
  public int overhead() {
    return OVERHEAD;
  }

  @Override
  public byte[] start(String sessionId, Role role) {
    State previous = state;
    State next = new State(E2eHandshake.start(sessionId, role, Optional.ofNullable(pairingSecret)));
    state = next;
    closeChannel(previous);
    return next.handshake.localCommitment();
  }

  @Override
  public byte[] open(byte[] payload, List<byte[]> replies) {
    State s = state;
    try {
      E2eMessageType type = E2eMessageType.of(payload);
      switch (type) {
        case COMMIT -> {
          if (s.handshake == null || s.peerCommitSeen) {
            throw unexpected("a second COMMIT from the peer within one handshake");
          }
          s.peerCommitSeen = true;
          replies.add(s.handshake.acceptPeerCommitment(payload));
          return null;
        }
        case HELLO -> {
          if (!s.peerCommitSeen || s.peerHelloSeen) {
            throw unexpected("HELLO " + (s.peerHelloSeen ? "received twice" : "before the peer's COMMIT"));
          }
          s.peerHelloSeen = true;
          E2eChannel ch = s.handshake.complete(payload);
          replies.add(ch.localConfirmation());
          s.pending = ch;
          return null;
        }
        case CONFIRM -> {
          E2eChannel ch = s.channel != null ? s.channel : s.pending;
          if (ch == null) {
            throw unexpected("CONFIRM before the handshake produced keys");
          }
          ch.verifyPeerConfirmation(payload);
          s.sas = ch.shortAuthenticationString();
          s.secure = true;
          return null;
        }
        case DATA -> {
          E2eChannel ch = s.channel != null ? s.channel : s.pending;
          if (ch == null) {
            throw unexpected("DATA before the handshake completed");
          }
          return ch.open(payload);
        }
        default -> throw unexpected("unknown message type");
      }
    } catch (E2eException e) {
      throw EndToEndSecurityException.of(e);
    }
  }

  @Override
  public void activate() {
    State s = state;
    if (s.pending != null) {
      s.channel = s.pending;
      s.pending = null;
    }
  }

  @Override
  public boolean canSeal() {
    return state.channel != null;
  }

  @Override
  public byte[] seal(byte[] plaintext) {
    try {
      return state.channel.seal(plaintext);
    } catch (E2eException e) {
      throw EndToEndSecurityException.of(e);
    }
  }

  @Override
  public boolean isSecure() {
    return state.secure;
  }

  @Override
  public String sas() {
    State s = state;
    return s.secure ? s.sas : null;
  }

  @Override
  public void close() {
    closeChannel(state);
    if (pairingSecret != null) {
      Arrays.fill(pairingSecret, (byte) 0);
    }
  }

  private static void closeChannel(State s) {
    for (E2eChannel ch : new E2eChannel[] {s.channel, s.pending}) {
      if (ch != null) {
        ch.close();
      }
    }
  }

  private static EndToEndSecurityException unexpected(String what) {
    return new EndToEndSecurityException(E2eException.Check.UNEXPECTED_MESSAGE,
        "end-to-end encryption: " + what + " [UNEXPECTED_MESSAGE]", false, null);
  }
}
