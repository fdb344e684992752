package dev.checkmate.relay.client;

import java.net.Socket;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;
import javax.net.ssl.X509TrustManager;

/**
 * Certificate pinning: first the usual validation by the base trust manager (chain to a trusted
 * root, validity, and — through the extended variants — the host name), then at least one
 * certificate of the chain must have a pinned SubjectPublicKeyInfo SHA-256 (the
 * {@code sha256/<base64>} format of HPKP / OkHttp). Several pins allow key rotation: pin the
 * current and the next key, or a CA key.
 */
final class PinningTrustManager extends X509ExtendedTrustManager {
  static final String PREFIX = "sha256/";
  private final X509TrustManager base;
  private final List<byte[]> pins;

  PinningTrustManager(X509TrustManager base, List<String> pins) {
    this.base = base;
    this.pins = parse(pins);
  }

  static List<byte[]> parse(List<String> pins) {
    List<byte[]> out = new ArrayList<>();
    for (String pin : pins) {
      if (pin == null || !pin.startsWith(PREFIX)) {
        throw new IllegalArgumentException("a pin looks like sha256/<base64 of the SPKI SHA-256>, got " + pin);
      }
      byte[] digest;
      try {
        digest = Base64.getDecoder().decode(pin.substring(PREFIX.length()).strip());
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("pin is not valid base64: " + pin, e);
      }
      if (digest.length != 32) {
        throw new IllegalArgumentException("pin must be a SHA-256 (32 bytes), got " + digest.length + " bytes: " + pin);
      }
      out.add(digest);
    }
    if (out.isEmpty()) {
      throw new IllegalArgumentException("at least one pin is needed");
    }
    return List.copyOf(out);
  }

  /** The pin of a certificate's public key: {@code sha256/} + base64(SHA-256(SubjectPublicKeyInfo)). */
  static String pinOf(X509Certificate certificate) {
    return PREFIX + Base64.getEncoder().encodeToString(spkiSha256(certificate));
  }

  private static byte[] spkiSha256(X509Certificate certificate) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(certificate.getPublicKey().getEncoded());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private void checkPins(X509Certificate[] chain) throws CertificateException {
    if (chain != null) {
      for (X509Certificate c : chain) {
        byte[] d = spkiSha256(c);
        for (byte[] pin : pins) {
          if (MessageDigest.isEqual(pin, d)) {
            return;
          }
        }
      }
    }
    throw new PinMismatch("certificate pinning failed: the relay's certificate chain (leaf key "
        + (chain == null || chain.length == 0 ? "none" : pinOf(chain[0]))
        + ") matches none of the " + pins.size() + " pinned public key(s)");
  }

  /** Thrown into the TLS handshake; {@link Errors} turns it into {@link CertificatePinningException}. */
  static final class PinMismatch extends CertificateException {
    private static final long serialVersionUID = 1L;

    PinMismatch(String message) {
      super(message);
    }
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    base.checkServerTrusted(chain, authType);
    checkPins(chain);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
    if (base instanceof X509ExtendedTrustManager ext) {
      ext.checkServerTrusted(chain, authType, socket);
    } else {
      base.checkServerTrusted(chain, authType);
    }
    checkPins(chain);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
    if (base instanceof X509ExtendedTrustManager ext) {
      ext.checkServerTrusted(chain, authType, engine);
    } else {
      base.checkServerTrusted(chain, authType);
    }
    checkPins(chain);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    throw new CertificateException("a client trust manager does not check clients");
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
    checkClientTrusted(chain, authType);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
    checkClientTrusted(chain, authType);
  }

  @Override
  public X509Certificate[] getAcceptedIssuers() {
    return base.getAcceptedIssuers();
  }
}
