package dev.checkmate.relay.ticket;

import dev.checkmate.relay.error.RelayError;
import dev.checkmate.relay.error.RelayException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.List;

/**
 * Who may create sessions. With issuer API keys configured, a caller must present one as
 * {@code authorization: Bearer <key>}; without any, only callers on this machine (loopback) may,
 * which is the embedded single-node default. Keys are compared as SHA-256 digests in constant time.
 */
public final class IssuerPolicy {
  private final List<byte[]> keyDigests;
  private final List<String> identities;

  public IssuerPolicy(List<String> issuerKeys) {
    this(issuerKeys, List.of());
  }

  /**
   * @param identities client-certificate identities (subject CN or SAN, see
   *     {@link dev.checkmate.relay.security.ClientIdentities}) allowed to create sessions over mutual
   *     TLS, in addition to holders of an issuer API key
   */
  public IssuerPolicy(List<String> issuerKeys, List<String> identities) {
    this.keyDigests = issuerKeys.stream().map(IssuerPolicy::sha256).toList();
    this.identities = List.copyOf(identities);
  }

  /** {@link #authorize(InetAddress, String, java.util.Set)} with the current gRPC call's client identities. */
  public void authorize(InetAddress caller, String bearer) throws RelayException {
    authorize(caller, bearer, dev.checkmate.relay.security.ClientIdentities.current());
  }

  public void authorize(InetAddress caller, String bearer, java.util.Set<String> clientIdentities) throws RelayException {
    if (!identities.isEmpty() && dev.checkmate.relay.security.ClientIdentities.anyAllowed(clientIdentities, identities)) {
      return;
    }
    if (keyDigests.isEmpty() && !identities.isEmpty()) {
      throw new RelayException(RelayError.NOT_AUTHORIZED,
          "session creation needs a client certificate whose identity is on this relay's issuer list");
    }
    if (keyDigests.isEmpty()) {
      if (caller != null && caller.isLoopbackAddress()) {
        return;
      }
      throw new RelayException(RelayError.NOT_AUTHORIZED,
          "session creation is limited to loopback callers on this relay; configure issuer API keys to allow remote issuers");
    }
    if (bearer == null) {
      throw new RelayException(RelayError.NOT_AUTHORIZED,
          "session creation needs an issuer API key: send 'authorization: Bearer <key>'");
    }
    byte[] presented = sha256(bearer);
    boolean match = false;
    for (byte[] digest : keyDigests) {
      match |= MessageDigest.isEqual(digest, presented);
    }
    if (!match) {
      throw new RelayException(RelayError.NOT_AUTHORIZED, "issuer API key not recognised");
    }
  }

  private static byte[] sha256(String s) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
