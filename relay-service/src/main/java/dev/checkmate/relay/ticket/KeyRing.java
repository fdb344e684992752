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
import java.security.interfaces.EdECPrivateKey;
import java.security.interfaces.EdECPublicKey;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The Ed25519 keys a node holds: at most one signing key (issuer nodes only) and any number of
 * verification keys by key id, so that two or more keys can be valid at once during rotation.
 * Keys are standard JWKs (RFC 8037 OKP, crv Ed25519), parsed by jjwt; files are read once at
 * startup. Each key is turned into an {@link Ed25519} signer or verifier once, here, so that
 * signing and verifying a ticket does no per-key work.
 */
public final class KeyRing {
  private final SigningKey signingKey;
  private final Map<String, PublicKey> verificationKeys;

  /**
   * The private half used to sign tickets, with the key id put in each ticket's header.
   *
   * @param signer the key, behind the {@link Ed25519} seam ({@code signer.publicKey()} is its public half)
   */
  public record SigningKey(String keyId, Ed25519.Signer signer) {
    /** From JCA keys (e.g. a generated JWK's); the public half must be the private key's own. */
    public SigningKey(String keyId, PrivateKey privateKey, PublicKey publicKey) {
      this(keyId, signer(privateKey, publicKey));
    }

    private static Ed25519.Signer signer(PrivateKey privateKey, PublicKey publicKey) {
      Ed25519.Signer signer = Ed25519.standard().signer(rawPrivateKey(privateKey));
      if (!Arrays.equals(signer.publicKey(), rawPublicKey(publicKey))) {
        throw new IllegalArgumentException("the public key is not the private key's own");
      }
      return signer;
    }

    @Override
    public String toString() {
      return "SigningKey[kid=" + keyId + "]";
    }
  }

  private KeyRing(SigningKey signingKey, Map<String, PublicKey> verificationKeys) {
    this.signingKey = signingKey;
    this.verificationKeys = Map.copyOf(verificationKeys);
  }

  /** A fresh in-memory key pair: the embedded single-node default. Tickets die with the process. */
  public static KeyRing ephemeral() {
    OctetPrivateJwk<PrivateKey, PublicKey> jwk = generate();
    SigningKey key = new SigningKey(jwk.getId(), Ed25519.standard().signer(rawPrivateKey(jwk.toKey())));
    return new KeyRing(key, Map.of(key.keyId(), verifying(key.signer().publicKey())));
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
      verify.put(signing.keyId(), verifying(signing.signer().publicKey()));
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
    try {
      return new SigningKey(okp.getId(), (PrivateKey) okp.toKey(), (PublicKey) okp.toPublicJwk().toKey());
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("signing key JWK: its public half (x) does not belong to its private key (d)", e);
    }
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
      keys.put(jwk.getId(), verifying(rawPublicKey((PublicKey) pub.toKey())));
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

  private static PublicKey verifying(byte[] rawPublicKey) {
    return new EdDsaJws.VerifyingHandle(Ed25519.standard().verifier(rawPublicKey));
  }

  /** PKCS#8 v1 header of an Ed25519 private key (RFC 8410 §7): the 32-byte seed follows. */
  private static final byte[] PKCS8_PREFIX = {0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70,
      0x04, 0x22, 0x04, 0x20};
  /** X.509 SubjectPublicKeyInfo header of an Ed25519 public key (RFC 8410 §4): the 32-byte key follows. */
  private static final byte[] X509_PREFIX = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};

  /** The RFC 8032 seed of a JCA Ed25519 private key (as jjwt returns it from a JWK). */
  static byte[] rawPrivateKey(PrivateKey key) {
    if (key instanceof EdECPrivateKey ed) {
      return ed.getBytes().orElseThrow(() -> new IllegalArgumentException("Ed25519 private key without its bytes"));
    }
    return afterPrefix(key.getEncoded(), PKCS8_PREFIX, "private");
  }

  /** The RFC 8032 encoding of a JCA Ed25519 public key. */
  static byte[] rawPublicKey(PublicKey key) {
    if (key instanceof EdECPublicKey ed) {
      return JdkEd25519.encode(ed);
    }
    return afterPrefix(key.getEncoded(), X509_PREFIX, "public");
  }

  private static byte[] afterPrefix(byte[] encoded, byte[] prefix, String what) {
    if (encoded == null || encoded.length != prefix.length + 32
        || !Arrays.equals(encoded, 0, prefix.length, prefix, 0, prefix.length)) {
      throw new IllegalArgumentException("not an Ed25519 " + what + " key");
    }
    return Arrays.copyOfRange(encoded, prefix.length, encoded.length);
  }

  public Optional<SigningKey> signingKey() {
    return Optional.ofNullable(signingKey);
  }

  /** The verification key with this id, as jjwt takes it (a handle on a seam {@link Ed25519.Verifier}). */
  public Optional<PublicKey> verificationKey(String keyId) {
    return Optional.ofNullable(keyId == null ? null : verificationKeys.get(keyId));
  }

  public java.util.Set<String> verificationKeyIds() {
    return verificationKeys.keySet();
  }
}
