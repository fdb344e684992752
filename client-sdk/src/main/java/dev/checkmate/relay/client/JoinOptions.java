package dev.checkmate.relay.client;

import dev.checkmate.relay.client.e2e.E2eHandshake;
import java.util.Arrays;
import java.util.Base64;
import java.util.Objects;

/**
 * Per-join settings for {@link RelayClient#join(String, JoinOptions)}. Immutable.
 *
 * <h2>End-to-end encryption</h2>
 * {@link #endToEnd(byte[])} or {@link #endToEndWithSas()} turn on protocol v1 of
 * docs/e2e-protocol.md: right after Joined the SDK runs the handshake with the peer (through the
 * relay, which sees only opaque bytes), then {@link RelaySession#send} seals and {@link
 * RelaySession#receive} / {@link SessionListener#onFrame} open every frame transparently: the
 * application only ever handles plaintext. Both participants must join the same way (same pairing
 * secret, or both without one). Any failed check ends the session with {@link
 * EndToEndSecurityException}.
 *
 * <pre>{@code
 * // whoever creates the session:
 * byte[] secret = JoinOptions.newPairingSecret();
 * // deliver invite.verifierTicket() + secret to the verifier out of band (never via the relay)
 * RelaySession s = client.join(ticket, JoinOptions.endToEnd(secret));
 * s.awaitSecure(Duration.ofSeconds(30));
 * }</pre>
 */
public final class JoinOptions {
  private static final JoinOptions DEFAULTS = new JoinOptions(false, null, null);

  private final boolean endToEnd;
  private final byte[] pairingSecret; // null: none (SAS mode) or no E2E
  private final Role expectedRole;

  private JoinOptions(boolean endToEnd, byte[] pairingSecret, Role expectedRole) {
    this.endToEnd = endToEnd;
    this.pairingSecret = pairingSecret;
    this.expectedRole = expectedRole;
  }

  /** No end-to-end encryption, no role check: the same as {@link RelayClient#join(String)}. */
  public static JoinOptions defaults() {
    return DEFAULTS;
  }

  /**
   * End-to-end encryption keyed with a pairing secret (16 to 1024 bytes; use {@link
   * #newPairingSecret()}) that both participants received with their tickets, out of band. A relay
   * in the middle cannot complete the handshake: it fails with KEY_CONFIRMATION_FAILED.
   */
  public static JoinOptions endToEnd(byte[] pairingSecret) {
    Objects.requireNonNull(pairingSecret, "pairingSecret");
    if (pairingSecret.length < 16 || pairingSecret.length > 1024) {
      throw new IllegalArgumentException("pairing secret must be 16..1024 bytes (use newPairingSecret())");
    }
    return new JoinOptions(true, pairingSecret.clone(), null);
  }

  /**
   * End-to-end encryption without a pairing secret. The users must compare {@link
   * RelaySession#shortAuthenticationString()} (6 digits, e.g. read aloud) before trusting the
   * channel: a relay in the middle can complete both handshakes, but then the two SAS differ.
   */
  public static JoinOptions endToEndWithSas() {
    return new JoinOptions(true, null, null);
  }

  /**
   * Asks the relay to refuse the Join (INVALID_ARGUMENT) unless the ticket is for this role, e.g.
   * to catch swapped tickets before anything is sent.
   */
  public JoinOptions expectRole(Role role) {
    return new JoinOptions(endToEnd, pairingSecret, Objects.requireNonNull(role, "role"));
  }

  /** 32 random bytes from SecureRandom: a pairing secret to hand out with the invitation. */
  public static byte[] newPairingSecret() {
    return E2eHandshake.newPairingSecret();
  }

  /** A pairing secret as text for an invitation link or QR code (base64url, no padding). */
  public static String encodePairingSecret(byte[] secret) {
    return Base64.getUrlEncoder().withoutPadding().encodeToString(secret);
  }

  /** The inverse of {@link #encodePairingSecret}. */
  public static byte[] decodePairingSecret(String text) {
    return Base64.getUrlDecoder().decode(text.strip());
  }

  public boolean endToEndEncryption() {
    return endToEnd;
  }

  public boolean hasPairingSecret() {
    return pairingSecret != null;
  }

  /** The expected role, or null. */
  public Role expectedRole() {
    return expectedRole;
  }

  byte[] pairingSecret() {
    return pairingSecret == null ? null : pairingSecret.clone();
  }

  @Override
  public String toString() {
    return "JoinOptions{endToEnd=" + endToEnd + ", pairingSecret=" + (pairingSecret != null ? "set" : "none")
        + ", expectedRole=" + expectedRole + "}";
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof JoinOptions j && j.endToEnd == endToEnd && Arrays.equals(j.pairingSecret, pairingSecret)
        && j.expectedRole == expectedRole;
  }

  @Override
  public int hashCode() {
    return Objects.hash(endToEnd, expectedRole) * 31 + Arrays.hashCode(pairingSecret);
  }
}
