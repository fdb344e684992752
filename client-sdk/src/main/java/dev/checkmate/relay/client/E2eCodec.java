package dev.checkmate.relay.client;

import dev.checkmate.relay.client.e2e.E2eChannel;
import dev.checkmate.relay.client.e2e.E2eException;
import dev.checkmate.relay.client.e2e.E2eHandshake;
import dev.checkmate.relay.client.e2e.E2eMessageType;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The end-to-end layer of one {@link GrpcRelaySession}: drives the handshake from the frames the
 * peer sends and seals / opens DATA. Not thread-safe on its own: {@link #onIncoming} runs on the
 * (serialized) gRPC callback thread, {@link #seal} and {@link #canSeal} under the session's lock.
 *
 * <p>Wire usage (docs/e2e-protocol.md): after Joined the COMMIT is the first frame (relay seq 1);
 * the peer's COMMIT is answered with our HELLO (seq 2), the peer's HELLO with our CONFIRM (seq 3);
 * application data follows from seq 4. The E2E counter inside DATA is separate from the relay seq.
 */
final class E2eSessionLayer {
  /** DATA overhead: 12-byte header + 16-byte tag. */
  static final int OVERHEAD = 28;

  private final byte[] pairingSecret; // null without one; wiped by the handshake
  private E2eHandshake handshake;
  private boolean peerCommitSeen;
  private boolean peerHelloSeen;
  /** Completed channel whose CONFIRM is not yet queued; published by {@link #activate()}. */
  private E2eChannel pending;
  private volatile E2eChannel channel;
  private volatile boolean secure;
  private volatile String sas;

  E2eSessionLayer(byte[] pairingSecret) {
    this.pairingSecret = pairingSecret;
  }

  /** Starts the handshake once Joined names the session and our role; returns the COMMIT to send first. */
  byte[] start(String sessionId, Role role) {
    handshake = E2eHandshake.start(sessionId, role, Optional.ofNullable(pairingSecret));
    return handshake.localCommitment();
  }

  boolean usesPairingSecret() {
    return pairingSecret != null;
  }

  /**
   * One payload from the peer.
   *
   * @param toSend receives the handshake payloads to send in reply (HELLO, CONFIRM), in order
   * @return the plaintext of a DATA frame, or null when the payload was a handshake message
   * @throws EndToEndSecurityException when any check fails; the session must end
   */
  byte[] onIncoming(byte[] payload, List<byte[]> toSend) {
    try {
      E2eMessageType type = E2eMessageType.of(payload);
      switch (type) {
        case COMMIT -> {
          if (handshake == null || peerCommitSeen) {
            throw unexpected("a second COMMIT from the peer (did it reconnect? an end-to-end session cannot resume)");
          }
          peerCommitSeen = true;
          toSend.add(handshake.acceptPeerCommitment(payload));
          return null;
        }
        case HELLO -> {
          if (!peerCommitSeen || peerHelloSeen) {
            throw unexpected("HELLO " + (peerHelloSeen ? "received twice" : "before the peer's COMMIT"));
          }
          peerHelloSeen = true;
          E2eChannel ch = handshake.complete(payload);
          toSend.add(ch.localConfirmation());
          pending = ch;
          return null;
        }
        case CONFIRM -> {
          E2eChannel ch = channel != null ? channel : pending;
          if (ch == null) {
            throw unexpected("CONFIRM before the handshake produced keys");
          }
          ch.verifyPeerConfirmation(payload);
          sas = ch.shortAuthenticationString();
          secure = true;
          return null;
        }
        case DATA -> {
          E2eChannel ch = channel != null ? channel : pending;
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

  /** Call under the session lock once the CONFIRM from {@link #onIncoming} is queued: DATA may follow it. */
  void activate() {
    if (pending != null) {
      channel = pending;
      pending = null;
    }
  }

  boolean canSeal() {
    return channel != null;
  }

  byte[] seal(byte[] plaintext) {
    try {
      return channel.seal(plaintext);
    } catch (E2eException e) {
      throw EndToEndSecurityException.of(e);
    }
  }

  boolean isSecure() {
    return secure;
  }

  String sas() {
    return sas;
  }

  void close() {
    E2eChannel ch = channel;
    if (ch != null) {
      ch.close();
    }
  }

  private static EndToEndSecurityException unexpected(String what) {
    return new EndToEndSecurityException(E2eException.Check.UNEXPECTED_MESSAGE,
        "end-to-end encryption: " + what + " [UNEXPECTED_MESSAGE]", false, null);
  }

  static List<byte[]> newOutList() {
    return new ArrayList<>(2);
  }
}
