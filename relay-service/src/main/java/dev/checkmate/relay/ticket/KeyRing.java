package dev.checkmate.relay.ticket;

import io.jsonwebtoken.security.Jwk;
import io.jsonwebtoken.security.JwkSet;
import io.jsonwebtoken.security.Jwks;
import io.jsonwebtoken.security.OctetPrivateJwk;
import io.jsonwebtoken.security.PublicJwk;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The Ed25519 keys a node holds: at most one signing key (issuer nodes only) and any number of
 * verification keys by key id, so that two or more keys can be valid at once during rotation.
 * Keys are standard JWKs (RFC 8037 OKP, crv Ed25519); files are read once at startup.
 */
public final class KeyRing {
  private final SigningKey signingKey;
  private final Map<String, PublicKey> verificationKeys;

  /** The private half used to sign tickets, with the key id put in each ticket's header. */
  public record SigningKey(String keyId, PrivateKey privateKey, PublicKey publicKey) {}

  private KeyRing(SigningKey signingKey, Map<String, PublicKey> verificationKeys) {
    this.signingKey = signingKey;
    this.verificationKeys = Map.copyOf(verificationKeys);
  }

  /** A fresh in-memory key pair: the embedded single-node default. Tickets die with the process. */
  public static KeyRing ephemeral() {
    OctetPrivateJwk<PrivateKey, PublicKey> jwk = generate();
    SigningKey key = new SigningKey(jwk.getId(), jwk.toKey(), jwk.toPublicJwk().toKey());
    return new KeyRing(key, Map.of(key.keyId(), key.publicKey()));
  }

  /**
   * Loads the keys a node is configured with. Without a verification set, the signing key's own
   * public half verifies; with one, the signing key's public half is added to it.
   */
  public static KeyRing load(Optional<Path> signingKeyFile, Optional<Path> verifyKeysFile) throws IOException {
    if (signingKeyFile.isEmpty() && verifyKeysFile.isEmpty()) {
      return ephemeral();
    }
    SigningKey signing = null;
    Map<String, PublicKey> verify = new LinkedHashMap<>();
    if (signingKeyFile.isPresent()) {
      signing = parseSigningKey(Files.readString(signingKeyFile.get()));
      verify.put(signing.keyId(), signing.publicKey());
    }
    if (verifyKeysFile.isPresent()) {
      verify.putAll(parseVerificationKeys(Files.readString(verifyKeysFile.get())));
    }
    return new KeyRing(signing, verify);
  }

  static SigningKey parseSigningKey(String json) {
    Jwk<?> jwk = Jwks.parser().build().parse(json);
    if (!(jwk instanceof OctetPrivateJwk<?, ?> okp) || !"Ed25519".equals(jwk.get("crv"))) {
      throw new IllegalArgumentException("signing key must be a private Ed25519 JWK (kty OKP, crv Ed25519)");
    }
    if (okp.getId() == null || okp.getId().isBlank()) {
      throw new IllegalArgumentException("signing key JWK needs a key id (kid)");
    }
    return new SigningKey(okp.getId(), okp.toKey(), okp.toPublicJwk().toKey());
  }

  static Map<String, PublicKey> parseVerificationKeys(String json) {
    JwkSet set = Jwks.setParser().build().parse(json);
    Map<String, PublicKey> keys = new LinkedHashMap<>();
    for (Jwk<?> jwk : set) {
      if (!(jwk instanceof PublicJwk<?> pub) || !"Ed25519".equals(jwk.get("crv"))) {
        throw new IllegalArgumentException("verification keys must be public Ed25519 JWKs; found " + jwk.getType());
      }
      if (jwk.getId() == null || jwk.getId().isBlank()) {
        throw new IllegalArgumentException("every verification JWK needs a key id (kid)");
      }
      keys.put(jwk.getId(), (PublicKey) pub.toKey());
    }
    if (keys.isEmpty()) {
      throw new IllegalArgumentException("verification key set is empty");
    }
    return keys;
  }

  /** Generates a new Ed25519 key pair as a private JWK whose kid is its RFC 7638 thumbprint. */
  public static OctetPrivateJwk<PrivateKey, PublicKey> generate() {
    KeyPair pair;
    try {
      pair = java.security.KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException("this JDK lacks Ed25519", e);
    }
    return Jwks.builder().octetKeyPair(pair).idFromThumbprint().build();
  }

  public Optional<SigningKey> signingKey() {
    return Optional.ofNullable(signingKey);
  }

  public Optional<PublicKey> verificationKey(String keyId) {
    return Optional.ofNullable(keyId == null ? null : verificationKeys.get(keyId));
  }

  public java.util.Set<String> verificationKeyIds() {
    return verificationKeys.keySet();
  }
}
