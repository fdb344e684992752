package dev.checkmate.relay.client;

import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import java.util.concurrent.atomic.AtomicLong;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/** A tiny test PKI: a CA and client certificates it signs (real X.509 via BouncyCastle). */
final class TestPki {
  private static final AtomicLong SERIAL = new AtomicLong(System.currentTimeMillis());

  record Issued(Path certificate, Path privateKey, X509Certificate x509, KeyPair keys) {}

  private TestPki() {}

  static Issued ca(Path dir, String name) throws Exception {
    KeyPair pair = ecKeys();
    X500Name subject = new X500Name("CN=" + name);
    JcaX509v3CertificateBuilder b = builder(subject, subject, pair);
    b.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
    return write(dir, name, sign(b, pair), pair);
  }

  /** A client certificate with subject CN={@code cn} and a DNS SAN {@code cn}.clients.test, signed by {@code ca}. */
  static Issued client(Path dir, Issued ca, String cn) throws Exception {
    KeyPair pair = ecKeys();
    JcaX509v3CertificateBuilder b = builder(new X500Name(ca.x509().getSubjectX500Principal().getName()),
        new X500Name("CN=" + cn), pair);
    b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
    b.addExtension(Extension.subjectAlternativeName, false,
        new GeneralNames(new GeneralName(GeneralName.dNSName, cn + ".clients.test")));
    return write(dir, cn, sign(b, ca.keys()), pair);
  }

  private static KeyPair ecKeys() throws Exception {
    KeyPairGenerator gen = KeyPairGenerator.getInstance("EC");
    gen.initialize(256);
    return gen.generateKeyPair();
  }

  private static JcaX509v3CertificateBuilder builder(X500Name issuer, X500Name subject, KeyPair pair) {
    Instant now = Instant.now();
    return new JcaX509v3CertificateBuilder(issuer, BigInteger.valueOf(SERIAL.incrementAndGet()),
        Date.from(now.minus(Duration.ofMinutes(5))), Date.from(now.plus(Duration.ofDays(1))), subject, pair.getPublic());
  }

  private static X509Certificate sign(JcaX509v3CertificateBuilder b, KeyPair signer) throws Exception {
    return new JcaX509CertificateConverter().getCertificate(
        b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(signer.getPrivate())));
  }

  private static Issued write(Path dir, String name, X509Certificate cert, KeyPair pair) throws Exception {
    Files.createDirectories(dir);
    Path c = dir.resolve(name + ".crt");
    Path k = dir.resolve(name + ".key");
    Base64.Encoder mime = Base64.getMimeEncoder(64, "\n".getBytes());
    Files.writeString(c, "-----BEGIN CERTIFICATE-----\n" + mime.encodeToString(cert.getEncoded()) + "\n-----END CERTIFICATE-----\n");
    Files.writeString(k, "-----BEGIN PRIVATE KEY-----\n" + mime.encodeToString(pair.getPrivate().getEncoded()) + "\n-----END PRIVATE KEY-----\n");
    return new Issued(c, k, cert, pair);
  }
}
