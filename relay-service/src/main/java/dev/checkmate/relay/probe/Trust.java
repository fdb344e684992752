package dev.checkmate.relay.probe;

import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.Base64;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;
import javax.net.ssl.X509TrustManager;

/** The certificates the probe trusts: the JVM's default store, or only the CAs of a PEM file. */
final class Trust {
  final X509TrustManager trustManager;
  final SSLContext sslContext;
  final String description;

  private Trust(X509TrustManager trustManager, String description) throws GeneralSecurityException {
    this.trustManager = trustManager;
    this.sslContext = SSLContext.getInstance("TLS");
    this.sslContext.init(null, new TrustManager[] {trustManager}, null);
    this.description = description;
  }

  static Trust of(Path caCertificates) throws IOException, GeneralSecurityException {
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    if (caCertificates == null) {
      tmf.init((KeyStore) null);
    } else {
      KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
      store.load(null, null);
      int n = 0;
      try (InputStream in = Files.newInputStream(caCertificates)) {
        for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
          store.setCertificateEntry("ca-" + n++, c);
        }
      }
      if (n == 0) {
        throw new IllegalArgumentException("no certificate in " + caCertificates);
      }
      tmf.init(store);
    }
    for (TrustManager tm : tmf.getTrustManagers()) {
      if (tm instanceof X509TrustManager x) {
        return new Trust(x, caCertificates == null ? "the JVM's default trust store" : "the CA certificate(s) in " + caCertificates);
      }
    }
    throw new GeneralSecurityException("no X.509 trust manager");
  }

  /** The pin of a certificate's public key, as the SDKs take it: {@code sha256/<base64 of SHA-256(SPKI)>}. */
  static String pinOf(X509Certificate certificate) {
    try {
      return "sha256/" + Base64.getEncoder().encodeToString(
          MessageDigest.getInstance("SHA-256").digest(certificate.getPublicKey().getEncoded()));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * Accepts any certificate. Used only for the inspecting handshake that reads what the server
   * presents (chain, protocol, ALPN) so a broken certificate can still be described; nothing is
   * ever sent over such a connection. Every connection that carries data validates.
   */
  static final X509ExtendedTrustManager INSPECT_ONLY = new X509ExtendedTrustManager() {
    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) {}

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) {}

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {}

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {}

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) {}

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) {}

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return new X509Certificate[0];
    }
  };
}
