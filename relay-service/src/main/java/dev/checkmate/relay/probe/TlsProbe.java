package dev.checkmate.relay.probe;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;

/**
 * TLS as a client sees it from outside: protocol version (TLS 1.3 accepted, TLS 1.2 refused), the
 * certificate (chain trusted, name matches, not expiring), SPKI pins, and ALPN h2 for gRPC.
 */
final class TlsProbe {
  /** Warn this long before a certificate expires. */
  static final Duration EXPIRY_WARNING = Duration.ofDays(14);

  private final Trust trust;
  private final Duration timeout;

  TlsProbe(Trust trust, Duration timeout) {
    this.trust = trust;
    this.timeout = timeout;
  }

  /** What one handshake saw. */
  record Handshake(String protocol, String cipherSuite, String alpn, List<X509Certificate> chain) {}

  /**
   * Runs the TLS checks of one endpoint. {@code label} is appended to the check names (e.g. " (web)").
   * Returns the inspected handshake, or null when no TLS 1.3 handshake was possible.
   */
  Handshake check(Target target, String label, List<String> pins, boolean needH2, Report report) {
    Handshake seen;
    try {
      seen = handshake(target, new String[] {"TLSv1.3"}, Trust.INSPECT_ONLY, false);
    } catch (IOException | GeneralSecurityException e) {
      report.add(Check.fail("TLS version" + label, "no TLS 1.3 handshake with " + target.authority() + ": " + describe(e),
          "serve TLS 1.3 on this port (Envoy: tls_minimum_protocol_version and tls_maximum_protocol_version TLSv1_3; "
              + "the relay: --tls-cert/--tls-key), and check that the host and port are right and reachable"));
      return null;
    }
    boolean tls12Accepted;
    try {
      handshake(target, new String[] {"TLSv1.2"}, Trust.INSPECT_ONLY, false);
      tls12Accepted = true;
    } catch (IOException | GeneralSecurityException e) {
      tls12Accepted = false;
    }
    if (tls12Accepted) {
      report.add(Check.fail("TLS version" + label, seen.protocol + " offered, but a TLS 1.2-only client was accepted too",
          "refuse TLS 1.2 (Envoy: tls_minimum_protocol_version: TLSv1_3 on every listener's downstream TLS context)"));
    } else {
      report.add(Check.pass("TLS version" + label, seen.protocol + " (" + seen.cipherSuite + "); a TLS 1.2-only client is refused"));
    }
    certificate(target, label, seen, report);
    pins(label, seen, pins, report);
    if (needH2) {
      if ("h2".equals(seen.alpn)) {
        report.add(Check.pass("ALPN" + label, "h2 negotiated (gRPC runs over HTTP/2)"));
      } else {
        report.add(Check.fail("ALPN" + label, "offered h2 and http/1.1, server chose " + (seen.alpn.isEmpty() ? "nothing" : seen.alpn),
            "offer h2 on this listener (Envoy: alpn_protocols [h2, http/1.1] in the downstream TLS context); gRPC clients need it"));
      }
    }
    return seen;
  }

  private void certificate(Target target, String label, Handshake seen, Report report) {
    if (seen.chain.isEmpty()) {
      report.add(Check.fail("Certificate" + label, "the server sent no certificate", "configure a certificate chain on the listener"));
      return;
    }
    X509Certificate leaf = seen.chain.get(0);
    Instant notAfter = leaf.getNotAfter().toInstant();
    Duration left = Duration.between(Instant.now(), notAfter);
    String what = leaf.getSubjectX500Principal().getName() + ", issued by " + leaf.getIssuerX500Principal().getName()
        + ", valid until " + notAfter + " (" + left.toDays() + " days left), " + seen.chain.size() + " certificate(s) in the chain";
    try {
      handshake(target, new String[] {"TLSv1.3"}, trust.trustManager, true);
    } catch (IOException | GeneralSecurityException e) {
      report.add(Check.fail("Certificate" + label, what + "; not accepted: " + describe(e),
          "serve a certificate for " + target.host() + " with its full chain, from a CA clients trust ("
              + "the probe trusts " + trust.description + "; --ca-cert for a private CA)"));
      return;
    }
    what += "; trusted, name matches " + target.host();
    if (left.compareTo(EXPIRY_WARNING) < 0) {
      report.add(Check.warn("Certificate" + label, what, "renew the certificate: it expires within " + EXPIRY_WARNING.toDays() + " days"));
    } else {
      report.add(Check.pass("Certificate" + label, what));
    }
  }

  private static void pins(String label, Handshake seen, List<String> pins, Report report) {
    if (seen.chain.isEmpty()) {
      return;
    }
    String leafPin = Trust.pinOf(seen.chain.get(0));
    if (pins.isEmpty()) {
      report.add(Check.skip("Certificate pin" + label, "no --pin given; the leaf key's pin is " + leafPin));
      return;
    }
    for (int i = 0; i < seen.chain.size(); i++) {
      String pin = Trust.pinOf(seen.chain.get(i));
      if (pins.contains(pin)) {
        report.add(Check.pass("Certificate pin" + label, pin + " matches certificate " + i + " of the chain ("
            + seen.chain.get(i).getSubjectX500Principal().getName() + ")"));
        return;
      }
    }
    report.add(Check.fail("Certificate pin" + label, "no certificate of the chain matches the " + pins.size() + " pin(s); the leaf key's pin is " + leafPin,
        "pinned clients will refuse this endpoint: serve a certificate whose key is pinned, or ship the new pin to the clients"
            + " before rotating keys (pin the current and the next key)"));
  }

  private Handshake handshake(Target target, String[] protocols, javax.net.ssl.X509TrustManager tm, boolean identify)
      throws IOException, GeneralSecurityException {
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(null, new TrustManager[] {tm}, null);
    Socket raw = new Socket();
    raw.connect(new InetSocketAddress(target.host(), target.port()), (int) timeout.toMillis());
    raw.setSoTimeout((int) timeout.toMillis());
    try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket(raw, target.host(), target.port(), true)) {
      SSLParameters p = s.getSSLParameters();
      p.setProtocols(protocols);
      p.setApplicationProtocols(new String[] {"h2", "http/1.1"});
      if (!isIpLiteral(target.host())) {
        p.setServerNames(List.of(new SNIHostName(target.host())));
      }
      if (identify) {
        p.setEndpointIdentificationAlgorithm("HTTPS");
      }
      s.setSSLParameters(p);
      s.startHandshake();
      List<X509Certificate> chain = new ArrayList<>();
      for (Certificate c : s.getSession().getPeerCertificates()) {
        if (c instanceof X509Certificate x) {
          chain.add(x);
        }
      }
      String alpn = s.getApplicationProtocol();
      return new Handshake(s.getSession().getProtocol(), s.getSession().getCipherSuite(), alpn == null ? "" : alpn, chain);
    } finally {
      raw.close();
    }
  }

  static boolean isIpLiteral(String host) {
    return host.contains(":") || host.matches("[0-9.]+");
  }

  static String describe(Throwable e) {
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    String msg = root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage();
    return root == e ? msg : e.getClass().getSimpleName() + ": " + msg;
  }
}
