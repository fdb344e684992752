package dev.checkmate.relay.client;

/**
 * The relay's TLS certificate chain carries none of the public keys pinned with {@link
 * RelayClient.Builder#pinnedPublicKey(String...)} (code UNAVAILABLE): either the relay rotated to a
 * key that is not pinned yet, or something between this client and the relay presented another
 * certificate (even one a trusted CA signed). Nothing was sent: the TLS handshake was aborted.
 */
public class CertificatePinningException extends RelayUnavailableException {
  private static final long serialVersionUID = 1L;

  CertificatePinningException(String reason, Throwable cause) {
    super(reason, cause);
  }
}
