package dev.checkmate.relay.ticket;

import dev.checkmate.relay.proto.v1.Role;
import io.jsonwebtoken.Jwts;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;

/**
 * Signs join tickets: compact JWS (RFC 7515) with alg EdDSA (RFC 8037), header {@code kid}, and
 * claims {@code iss}, {@code aud}, {@code sid} (session id), {@code role}, {@code iat}, {@code nbf},
 * {@code exp} and a random {@code jti}. Signing is done by jjwt with the JDK's Ed25519.
 */
public final class TicketIssuer {
  static final String ISSUER = "checkmate-relay";
  private static final Base64.Encoder B64URL = Base64.getUrlEncoder().withoutPadding();

  private final KeyRing.SigningKey key;
  private final String audience;
  private final Clock clock;
  private final SecureRandom random = new SecureRandom();

  public TicketIssuer(KeyRing.SigningKey key, String audience, Clock clock) {
    this.key = key;
    this.audience = audience;
    this.clock = clock;
  }

  /** A new session id: 128 random bits, base64url without padding (22 characters). */
  public String newSessionId() {
    return randomId();
  }

  public String issue(String sessionId, Role role, Instant expiresAt) {
    Instant now = clock.instant();
    return Jwts.builder()
        .header().keyId(key.keyId()).and()
        .issuer(ISSUER)
        .audience().add(audience).and()
        .claim("sid", sessionId)
        .claim("role", TicketVerifier.roleName(role))
        .id(randomId())
        .issuedAt(Date.from(now))
        .notBefore(Date.from(now))
        .expiration(Date.from(expiresAt))
        .signWith(key.privateKey(), Jwts.SIG.EdDSA)
        .compact();
  }

  private String randomId() {
    byte[] bytes = new byte[16];
    random.nextBytes(bytes);
    return B64URL.encodeToString(bytes);
  }
}
