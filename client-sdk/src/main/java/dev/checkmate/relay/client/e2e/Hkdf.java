package dev.checkmate.relay.client.e2e;

import java.security.GeneralSecurityException;
import java.util.Arrays;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/** HKDF-SHA256 exactly as RFC 5869, built on the JDK's HmacSHA256. */
final class Hkdf {
  static final int HASH_LEN = 32;
  private static final String HMAC = "HmacSHA256";

  private Hkdf() {}

  /**
   * HKDF-Extract(salt, IKM). A null or empty salt is replaced by HashLen zero bytes, as RFC 5869
   * section 2.2 says ("if not provided, it is set to a string of HashLen zeros").
   */
  static byte[] extract(byte[] salt, byte[] ikm) {
    byte[] key = salt == null || salt.length == 0 ? new byte[HASH_LEN] : salt;
    return hmac(key, ikm);
  }

  /** HKDF-Expand(PRK, info, L) for 0 &lt; L &lt;= 255 * HashLen. */
  static byte[] expand(byte[] prk, byte[] info, int length) {
    if (length <= 0 || length > 255 * HASH_LEN) {
      throw new IllegalArgumentException("HKDF-Expand length must be in 1.." + 255 * HASH_LEN);
    }
    if (prk.length < HASH_LEN) {
      throw new IllegalArgumentException("PRK must be at least HashLen bytes");
    }
    try {
      Mac mac = Mac.getInstance(HMAC);
      mac.init(new SecretKeySpec(prk, HMAC));
      byte[] okm = new byte[length];
      byte[] t = new byte[0];
      int done = 0;
      for (int i = 1; done < length; i++) {
        mac.update(t);
        mac.update(info);
        mac.update((byte) i);
        Arrays.fill(t, (byte) 0);
        t = mac.doFinal();
        int n = Math.min(t.length, length - done);
        System.arraycopy(t, 0, okm, done, n);
        done += n;
      }
      Arrays.fill(t, (byte) 0);
      return okm;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 unavailable", e);
    }
  }

  /** HKDF(salt, IKM, info, L) = Expand(Extract(salt, IKM), info, L). */
  static byte[] derive(byte[] salt, byte[] ikm, byte[] info, int length) {
    byte[] prk = extract(salt, ikm);
    try {
      return expand(prk, info, length);
    } finally {
      Arrays.fill(prk, (byte) 0);
    }
  }

  static byte[] hmac(byte[] key, byte[]... parts) {
    try {
      Mac mac = Mac.getInstance(HMAC);
      mac.init(new SecretKeySpec(key, HMAC));
      for (byte[] p : parts) {
        mac.update(p);
      }
      return mac.doFinal();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 unavailable", e);
    }
  }
}
