package dev.checkmate.relay.examples.schnorr;

import java.math.BigInteger;
import java.util.Arrays;

/**
 * The demo's frames: one tag byte, then an unsigned big-endian number (or, for RESULT, one byte
 * 1 = verified, 0 = rejected). The tag lets each side notice a frame out of place instead of
 * silently treating a challenge as a response.
 */
final class Messages {
  static final byte COMMITMENT = 1;
  static final byte CHALLENGE = 2;
  static final byte RESPONSE = 3;
  static final byte RESULT = 4;

  private Messages() {}

  static byte[] number(byte tag, BigInteger value) {
    byte[] magnitude = value.toByteArray();
    byte[] out = new byte[magnitude.length + 1];
    out[0] = tag;
    System.arraycopy(magnitude, 0, out, 1, magnitude.length);
    return out;
  }

  static BigInteger readNumber(byte expectedTag, byte[] frame) {
    check(expectedTag, frame);
    if (frame.length < 2) {
      throw new IllegalArgumentException("empty " + name(expectedTag));
    }
    return new BigInteger(1, Arrays.copyOfRange(frame, 1, frame.length));
  }

  static byte[] result(boolean verified) {
    return new byte[] {RESULT, (byte) (verified ? 1 : 0)};
  }

  static boolean readResult(byte[] frame) {
    check(RESULT, frame);
    return frame.length == 2 && frame[1] == 1;
  }

  private static void check(byte expectedTag, byte[] frame) {
    if (frame == null || frame.length == 0 || frame[0] != expectedTag) {
      throw new IllegalArgumentException(
          "expected a " + name(expectedTag) + " frame, got "
              + (frame == null || frame.length == 0 ? "an empty frame" : name(frame[0])));
    }
  }

  static String name(byte tag) {
    switch (tag) {
      case COMMITMENT:
        return "commitment";
      case CHALLENGE:
        return "challenge";
      case RESPONSE:
        return "response";
      case RESULT:
        return "result";
      default:
        return "unknown (" + tag + ")";
    }
  }
}
