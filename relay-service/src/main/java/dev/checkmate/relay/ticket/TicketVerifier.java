package dev.checkmate.relay.ticket;

import dev.checkmate.relay.error.RelayError;
import dev.checkmate.relay.error.RelayException;
import dev.checkmate.relay.proto.v1.Role;
import io.jsonwebtoken.Claims;
import io.jsonwebtoken.ExpiredJwtException;
import io.jsonwebtoken.IncorrectClaimException;
import io.jsonwebtoken.JwtException;
import io.jsonwebtoken.JwtParser;
import io.jsonwebtoken.Jwts;
import io.jsonwebtoken.LocatorAdapter;
import io.jsonwebtoken.MissingClaimException;
import io.jsonwebtoken.PrematureJwtException;
import io.jsonwebtoken.ProtectedHeader;
import java.security.Key;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.Date;

/**
 * Checks join tickets with public keys only. Cheap checks (length, shape) come before the
 * signature check, and nothing is allocated in the hub until a ticket verifies.
 */
public final class TicketVerifier {
  /** Tickets are ~400 characters; anything far larger is refused before parsing. */
  static final int MAX_TICKET_CHARS = 4096;
  /** The claim holding the session key both tickets of a session share (base64url, 32 bytes). */
  static final String SESSION_KEY_CLAIM = "sk";

  private final KeyRing keys;
  private final JwtParser parser;

  public TicketVerifier(KeyRing keys, String audience, Duration clockSkew, Clock clock) {
    this.keys = keys;
    this.parser = Jwts.parser()
        .keyLocator(new LocatorAdapter<Key>() {
          @Override
          protected Key locate(ProtectedHeader header) {
            return keys.verificationKey(header.getKeyId()).orElseThrow(() -> new UnknownKeyId(header.getKeyId()));
          }
        })
        // EdDSA through the Ed25519 seam, and no other algorithm (no HMAC/RSA/none confusion).
        .sig().clear().add(EdDsaJws.INSTANCE).and()
        .requireAudience(audience)
        .requireIssuer(TicketIssuer.ISSUER)
        .clockSkewSeconds(clockSkew.toSeconds())
        .clock(() -> Date.from(clock.instant()))
        .build();
  }

  public Ticket verify(String token) throws RelayException {
    if (token == null || token.isEmpty()) {
      throw new RelayException(RelayError.BAD_TICKET, "join ticket missing");
    }
    if (token.length() > MAX_TICKET_CHARS || dots(token) != 2) {
      throw new RelayException(RelayError.BAD_TICKET, "join ticket is not a JWS ticket");
    }
    Claims claims;
    try {
      claims = parser.parseSignedClaims(token).getPayload();
    } catch (UnknownKeyId e) {
      throw new RelayException(RelayError.UNKNOWN_KEY,
          "ticket signed with unknown key id '" + printable(e.keyId) + "' (rotated out?)");
    } catch (ExpiredJwtException e) {
      throw new RelayException(RelayError.EXPIRED_TICKET,
          "ticket expired at " + e.getClaims().getExpiration().toInstant());
    } catch (PrematureJwtException e) {
      throw new RelayException(RelayError.PREMATURE_TICKET,
          "ticket not valid before " + e.getClaims().getNotBefore().toInstant() + "; check the clocks");
    } catch (IncorrectClaimException | MissingClaimException e) {
      throw new RelayException(RelayError.BAD_TICKET, "ticket is for another relay (" + shortClaim(e.getClaimName()) + " mismatch)");
    } catch (JwtException | IllegalArgumentException e) {
      throw new RelayException(RelayError.BAD_TICKET, "ticket signature or format invalid");
    }
    String sessionId = claims.get("sid", String.class);
    Role role = parseRole(claims.get("role", String.class));
    if (sessionId == null || sessionId.length() < 22 || role == null || claims.getId() == null || claims.getExpiration() == null) {
      throw new RelayException(RelayError.BAD_TICKET, "ticket lacks a session id, role, ticket id or expiry");
    }
    return new Ticket(sessionId, role, claims.getId(), claims.getExpiration().toInstant(), token,
        sessionKey(claims.get(SESSION_KEY_CLAIM, String.class)));
  }

  /** The optional session key claim: absent is null (older tickets); malformed is refused. */
  private static byte[] sessionKey(String claim) throws RelayException {
    if (claim == null) {
      return null;
    }
    byte[] key;
    try {
      key = Base64.getUrlDecoder().decode(claim);
    } catch (IllegalArgumentException e) {
      key = null;
    }
    if (key == null || key.length != 32) {
      throw new RelayException(RelayError.BAD_TICKET, "ticket's session key is malformed");
    }
    return key;
  }

  /**
   * {@link #verify(String)}, then the checks a Join adds: the ticket must be for the session the
   * client routed with ({@code x-session-id} metadata / WebSocket {@code ?session=}), and for the
   * role the Join expects. Both are optional (null / ROLE_UNSPECIFIED skip them); a mismatch is
   * INVALID_ARGUMENT with its own message.
   */
  public Ticket verify(String token, String routedSessionId, Role expectedRole) throws RelayException {
    Ticket ticket = verify(token);
    if (routedSessionId != null && !routedSessionId.isEmpty() && !routedSessionId.equals(ticket.sessionId())) {
      throw new RelayException(RelayError.MALFORMED,
          "ticket is for another session than the routed session id (x-session-id / ?session=)");
    }
    if (expectedRole != null && (expectedRole == Role.PROVER || expectedRole == Role.VERIFIER)
        && expectedRole != ticket.role()) {
      throw new RelayException(RelayError.MALFORMED, "ticket is for the " + roleName(ticket.role())
          + ", but the Join expects the " + roleName(expectedRole) + " (tickets swapped?)");
    }
    return ticket;
  }

  private static int dots(String s) {
    int n = 0;
    for (int i = 0; i < s.length(); i++) {
      if (s.charAt(i) == '.') {
        n++;
      }
    }
    return n;
  }

  public KeyRing keys() {
    return keys;
  }

  static String roleName(Role role) {
    return switch (role) {
      case PROVER -> "prover";
      case VERIFIER -> "verifier";
      default -> throw new IllegalArgumentException("no ticket for role " + role);
    };
  }

  static Role parseRole(String name) {
    if ("prover".equals(name)) {
      return Role.PROVER;
    }
    if ("verifier".equals(name)) {
      return Role.VERIFIER;
    }
    return null;
  }

  private static String shortClaim(String name) {
    return "aud".equals(name) ? "aud" : "iss".equals(name) ? "iss" : "claim";
  }

  private static String printable(String s) {
    if (s == null) {
      return "";
    }
    String cut = s.length() > 16 ? s.substring(0, 16) : s;
    return cut.replaceAll("[^A-Za-z0-9_\\-.]", "?");
  }

  private static final class UnknownKeyId extends JwtException {
    final String keyId;

    UnknownKeyId(String keyId) {
      super("unknown key id");
      this.keyId = keyId;
    }
  }
}
