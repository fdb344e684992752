package dev.checkmate.relay.testing;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.List;

/**
 * The SHA-256 hash chain the resume tests compare (chain = SHA-256(chain ‖ payload), from 32 zero
 * bytes): equal chains mean the same payloads, each once, in the same order.
 */
public final class HashChain {
  private HashChain() {}

  /** The empty chain. */
  public static byte[] start() {
    return new byte[32];
  }

  /** {@code chain} extended by one payload. */
  public static byte[] fold(byte[] chain, byte[] payload) {
    try {
      MessageDigest d = MessageDigest.getInstance("SHA-256");
      d.update(chain);
      d.update(payload);
      return d.digest();
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The chain over UTF-8 payloads, in order. */
  public static byte[] of(List<String> payloads) {
    byte[] chain = start();
    for (String p : payloads) {
      chain = fold(chain, p.getBytes(StandardCharsets.UTF_8));
    }
    return chain;
  }
}
