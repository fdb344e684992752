package dev.checkmate.relay.ticket;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.checkmate.relay.error.RelayError;
import dev.checkmate.relay.error.RelayException;
import dev.checkmate.relay.proto.v1.Role;
import io.jsonwebtoken.Jwts;
import io.jsonwebtoken.security.Jwks;
import io.jsonwebtoken.security.OctetPrivateJwk;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import java.util.Optional;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tickets signed through the Ed25519 seam are ordinary RFC 8037 EdDSA JWS: jjwt's own JDK-backed
 * EdDSA verifies them, and the seam verifies tickets jjwt signed (so nodes on either side of an
 * upgrade accept each other's tickets). Only EdDSA is accepted.
 */
class TicketSignatureTest {
  private static final String AUDIENCE = "checkmate-relay";
  private static final Clock CLOCK = Clock.systemUTC();
  private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();

  @TempDir
  Path dir;

  private KeyRing load(OctetPrivateJwk<PrivateKey, PublicKey> jwk) throws Exception {
    Path file = dir.resolve(jwk.getId() + ".jwk");
    Files.writeString(file, Jwks.UNSAFE_JSON(jwk));
    return KeyRing.load(Optional.of(file), Optional.empty());
  }

  private static String sessionId() {
    return B64.encodeToString(new byte[16]) + "xyz";
  }

  @Test
  void aSeamSignedTicketVerifiesWithJjwtsOwnJdkEdDsa() throws Exception {
    OctetPrivateJwk<PrivateKey, PublicKey> jwk = KeyRing.generate();
    KeyRing ring = load(jwk);
    String ticket = new TicketIssuer(ring.signingKey().orElseThrow(), AUDIENCE, CLOCK)
        .issue(sessionId(), Role.PROVER, Instant.now().plusSeconds(60));
    var claims = Jwts.parser().verifyWith(jwk.toPublicJwk().toKey()).build().parseSignedClaims(ticket);
    assertThat(claims.getHeader().getAlgorithm()).isEqualTo("EdDSA");
    assertThat(claims.getHeader().getKeyId()).isEqualTo(jwk.getId());
    assertThat(claims.getPayload().get("role", String.class)).isEqualTo("prover");
  }

  @Test
  void aTicketSignedByJjwtsJdkEdDsaVerifiesThroughTheSeam() throws Exception {
    OctetPrivateJwk<PrivateKey, PublicKey> jwk = KeyRing.generate();
    KeyRing ring = load(jwk);
    String sid = sessionId();
    String ticket = Jwts.builder().header().keyId(jwk.getId()).and()
        .issuer(TicketIssuer.ISSUER).audience().add(AUDIENCE).and()
        .claim("sid", sid).claim("role", "verifier").id("t1")
        .issuedAt(new Date()).notBefore(new Date()).expiration(Date.from(Instant.now().plusSeconds(60)))
        .signWith(jwk.toKey(), Jwts.SIG.EdDSA).compact();
    Ticket t = new TicketVerifier(ring, AUDIENCE, Duration.ofSeconds(30), CLOCK).verify(ticket);
    assertThat(t.sessionId()).isEqualTo(sid);
    assertThat(t.role()).isEqualTo(Role.VERIFIER);
    // One bit of the signature changed: refused.
    String[] parts = ticket.split("\\.");
    byte[] sig = Base64.getUrlDecoder().decode(parts[2]);
    sig[10] ^= 4;
    String tampered = parts[0] + "." + parts[1] + "." + B64.encodeToString(sig);
    assertThatThrownBy(() -> new TicketVerifier(ring, AUDIENCE, Duration.ofSeconds(30), CLOCK).verify(tampered))
        .isInstanceOfSatisfying(RelayException.class, e -> assertThat(e.error()).isEqualTo(RelayError.BAD_TICKET));
  }

  @Test
  void onlyEdDsaIsAcceptedNotHmacWithThePublicKeyNorNone() throws Exception {
    OctetPrivateJwk<PrivateKey, PublicKey> jwk = KeyRing.generate();
    KeyRing ring = load(jwk);
    TicketVerifier verifier = new TicketVerifier(ring, AUDIENCE, Duration.ofSeconds(30), CLOCK);
    String claims = "{\"iss\":\"" + TicketIssuer.ISSUER + "\",\"aud\":\"" + AUDIENCE + "\",\"sid\":\"" + sessionId()
        + "\",\"role\":\"prover\",\"jti\":\"x\",\"exp\":" + (Instant.now().getEpochSecond() + 60) + "}";
    String payload = B64.encodeToString(claims.getBytes(StandardCharsets.UTF_8));
    // HS256 keyed with the (public) verification key: the classic algorithm-confusion forgery.
    String hsHeader = B64.encodeToString(("{\"alg\":\"HS256\",\"kid\":\"" + jwk.getId() + "\"}").getBytes(StandardCharsets.UTF_8));
    javax.crypto.Mac mac = javax.crypto.Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(jwk.toPublicJwk().toKey().getEncoded(), "HmacSHA256"));
    String hs = hsHeader + "." + payload + "."
        + B64.encodeToString(mac.doFinal((hsHeader + "." + payload).getBytes(StandardCharsets.US_ASCII)));
    assertThatThrownBy(() -> verifier.verify(hs))
        .isInstanceOfSatisfying(RelayException.class, e -> assertThat(e.error()).isEqualTo(RelayError.BAD_TICKET));
    String noneHeader = B64.encodeToString(("{\"alg\":\"none\",\"kid\":\"" + jwk.getId() + "\"}").getBytes(StandardCharsets.UTF_8));
    assertThatThrownBy(() -> verifier.verify(noneHeader + "." + payload + "."))
        .isInstanceOfSatisfying(RelayException.class, e -> assertThat(e.error()).isEqualTo(RelayError.BAD_TICKET));
  }

  @Test
  void aSigningKeyWhosePublicHalfIsNotItsOwnIsRefusedAtLoad() throws Exception {
    OctetPrivateJwk<PrivateKey, PublicKey> a = KeyRing.generate();
    OctetPrivateJwk<PrivateKey, PublicKey> b = KeyRing.generate();
    String json = Jwks.UNSAFE_JSON(a);
    String xA = (String) a.toPublicJwk().get("x");
    String xB = (String) b.toPublicJwk().get("x");
    Path file = dir.resolve("mismatch.jwk");
    Files.writeString(file, json.replace(xA, xB));
    assertThatThrownBy(() -> KeyRing.load(Optional.of(file), Optional.empty())).isInstanceOf(IllegalArgumentException.class);
  }
}
