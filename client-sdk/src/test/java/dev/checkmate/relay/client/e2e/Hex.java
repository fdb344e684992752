package dev.checkmate.relay.client.e2e;

/** Lowercase hex for test vectors. */
final class Hex {
  private Hex() {}

  static String encode(byte[] b) {
    StringBuilder sb = new StringBuilder(b.length * 2);
    for (byte x : b) {
      sb.append(Character.forDigit((x >> 4) & 0xf, 16)).append(Character.forDigit(x & 0xf, 16));
    }
    return sb.toString();
  }

  static byte[] decode(String s) {
    if (s.length() % 2 != 0) {
      throw new IllegalArgumentException("odd hex length");
    }
    byte[] b = new byte[s.length() / 2];
    for (int i = 0; i < b.length; i++) {
      int hi = Character.digit(s.charAt(2 * i), 16);
      int lo = Character.digit(s.charAt(2 * i + 1), 16);
      if (hi < 0 || lo < 0) {
        throw new IllegalArgumentException("bad hex digit");
      }
      b[i] = (byte) ((hi << 4) | lo);
    }
    return b;
  }
}
