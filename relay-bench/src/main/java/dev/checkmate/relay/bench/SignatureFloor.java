package dev.checkmate.relay.bench;

import dev.checkmate.relay.proto.v1.Role;
import dev.checkmate.relay.ticket.Ed25519;
import dev.checkmate.relay.ticket.KeyRing;
import dev.checkmate.relay.ticket.TicketIssuer;
import dev.checkmate.relay.ticket.TicketVerifier;
import io.jsonwebtoken.Jwts;
import io.jsonwebtoken.security.OctetPrivateJwk;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.PublicKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntConsumer;

/**
 * The signature floor of a session, measured in its own JVM (on the relay's CPU when W8 pins it):
 * CPU per Ed25519 sign and verify of a real ticket's JWS signing input, for each implementation
 * behind the seam, and the same for whole tickets (jjwt issue and verify) for the relay's path
 * (seam), jjwt's JDK-backed EdDSA (the relay before the seam) and jjwt on BouncyCastle's JCA
 * provider. Figures are thread CPU time per operation, median of batches after warm-up.
 */
final class SignatureFloor {
  private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
  private static final String AUDIENCE = "checkmate-relay";
  private static final int WARM_ITERATIONS = 20_000;

  private SignatureFloor() {}

  /** Microseconds per operation by name (e.g. "bc.sign", "ticket.verify"). */
  static Map<String, Double> measure(double seconds) throws Exception {
    Map<String, Double> us = new LinkedHashMap<>();
    Clock clock = Clock.systemUTC();
    KeyRing ring = KeyRing.ephemeral();
    TicketIssuer issuer = new TicketIssuer(ring.signingKey().orElseThrow(), AUDIENCE, clock);
    TicketVerifier verifier = new TicketVerifier(ring, AUDIENCE, Duration.ofSeconds(30), clock);
    String sid = issuer.newSessionId();
    Instant expires = Instant.now().plusSeconds(600);
    String ticket = issuer.issue(sid, Role.PROVER, expires);
    byte[] input = ticket.substring(0, ticket.lastIndexOf('.')).getBytes(StandardCharsets.US_ASCII);

    // One share of the time budget per measurement (10 of them).
    double each = seconds / 10;
    for (Ed25519 impl : List.of(Ed25519.bouncyCastle(), Ed25519.jdk())) {
      String k = impl == Ed25519.jdk() ? "jdk" : "bc";
      byte[] seed = new byte[32];
      new java.security.SecureRandom().nextBytes(seed);
      Ed25519.Signer signer = impl.signer(seed);
      Ed25519.Verifier v = impl.verifier(signer.publicKey());
      byte[] sig = signer.sign(input, 0, input.length);
      us.put(k + ".sign", perOp(each, i -> signer.sign(input, 0, input.length)));
      us.put(k + ".verify", perOp(each, i -> {
        if (!v.verify(input, 0, input.length, sig)) {
          throw new IllegalStateException("verify failed");
        }
      }));
    }

    // Whole tickets as the relay makes and checks them (jjwt + the seam).
    us.put("ticket.issue", perOp(each, i -> issuer.issue(sid, Role.VERIFIER, expires)));
    us.put("ticket.verify", perOp(each, i -> {
      try {
        verifier.verify(ticket);
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    }));

    // jjwt's own EdDSA on the JDK (the relay before the seam), and on BouncyCastle's JCA provider.
    OctetPrivateJwk<PrivateKey, PublicKey> jwk = KeyRing.generate();
    PrivateKey jdkPrivate = jwk.toKey();
    PublicKey jdkPublic = jwk.toPublicJwk().toKey();
    Provider bc = new org.bouncycastle.jce.provider.BouncyCastleProvider();
    KeyFactory bcKeys = KeyFactory.getInstance("Ed25519", bc);
    PrivateKey bcPrivate = bcKeys.generatePrivate(new PKCS8EncodedKeySpec(jdkPrivate.getEncoded()));
    PublicKey bcPublic = bcKeys.generatePublic(new X509EncodedKeySpec(jdkPublic.getEncoded()));
    for (String k : List.of("jjwt-jdk", "jjwt-bcjca")) {
      boolean jca = k.equals("jjwt-bcjca");
      PrivateKey priv = jca ? bcPrivate : jdkPrivate;
      PublicKey pub = jca ? bcPublic : jdkPublic;
      var parser = (jca ? Jwts.parser().provider(bc) : Jwts.parser()).verifyWith(pub).requireAudience(AUDIENCE).build();
      String t = jjwtTicket(jca ? bc : null, priv, jwk.getId(), sid, expires);
      us.put(k + ".issue", perOp(each, i -> jjwtTicket(jca ? bc : null, priv, jwk.getId(), sid, expires)));
      us.put(k + ".verify", perOp(each, i -> parser.parseSignedClaims(t)));
    }
    return us;
  }

  /** The relay's ticket claims, signed by jjwt's built-in EdDSA (optionally on a JCA provider). */
  private static String jjwtTicket(Provider provider, PrivateKey key, String kid, String sid, Instant expires) {
    var b = provider == null ? Jwts.builder() : Jwts.builder().provider(provider);
    Date now = new Date();
    return b.header().keyId(kid).and()
        .issuer("checkmate-relay").audience().add(AUDIENCE).and()
        .claim("sid", sid).claim("role", "prover").id("0123456789abcdefghijkl")
        .issuedAt(now).notBefore(now).expiration(Date.from(expires))
        .signWith(key, Jwts.SIG.EdDSA).compact();
  }

  /**
   * Median CPU microseconds per call over 7 batches, after a warm-up of at least
   * {@link #WARM_ITERATIONS} calls (or the time budget, whichever is longer, capped at 4x the
   * budget): C2 compiles a method only after thousands of calls, and the relay runs these paths
   * millions of times.
   */
  private static double perOp(double seconds, IntConsumer op) {
    long budget = (long) (seconds * 1e9);
    long warmEnd = System.nanoTime() + budget / 2;
    long cap = System.nanoTime() + 4 * budget;
    int n = 0;
    while ((System.nanoTime() < warmEnd || n < WARM_ITERATIONS) && System.nanoTime() < cap) {
      op.accept(n++);
    }
    List<Double> batches = new ArrayList<>();
    for (int b = 0; b < 7; b++) {
      long c0 = THREADS.getCurrentThreadCpuTime();
      int k = 0;
      long batchEnd = System.nanoTime() + budget / 14;
      while (System.nanoTime() < batchEnd || k < 3) {
        op.accept(k++);
      }
      batches.add((THREADS.getCurrentThreadCpuTime() - c0) / 1e3 / k);
    }
    Collections.sort(batches);
    return batches.get(batches.size() / 2);
  }
}
