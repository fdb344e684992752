package dev.checkmate.relay.soak;

import dev.checkmate.relay.testing.HashChain;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;

/**
 * The soak's frames: ASCII text (so the browser test page can echo them), each naming its session,
 * its direction and its sequence number, with a filler whose length and letters follow from those,
 * and the sender's SHA-256 hash chain over every frame body of its direction up to this one:
 *
 * <pre>  s&lt;session&gt;.&lt;p|v&gt;.&lt;seq&gt;.&lt;filler&gt;.&lt;chain hex&gt;</pre>
 *
 * A receiver that folds what it delivers into its own chain and finds it equal to the frame's has
 * had every earlier frame of the direction exactly once, in order, unmodified
 * ({@link dev.checkmate.relay.testing.HashChain}, the resume tests' chain).
 */
final class Frames {
  private Frames() {}

  /** prover → verifier ('p') or verifier → prover ('v'). */
  enum Direction {
    PROVER_TO_VERIFIER('p'), VERIFIER_TO_PROVER('v');

    final char tag;

    Direction(char tag) {
      this.tag = tag;
    }

    static Direction of(char tag) {
      return tag == 'p' ? PROVER_TO_VERIFIER : tag == 'v' ? VERIFIER_TO_PROVER : null;
    }
  }

  /** What a receiver reads out of a frame; {@code null} from {@link #parse} when it is not one. */
  record Parsed(long session, Direction direction, long seq, String body, String chainHex) {}

  /** The body of frame {@code seq} (from 1) of a direction: deterministic, so a receiver can check it. */
  static String body(long session, Direction d, long seq, int fillerBytes) {
    StringBuilder b = new StringBuilder(32 + fillerBytes);
    b.append('s').append(session).append('.').append(d.tag).append('.').append(seq).append('.');
    long x = session * 31 + seq * 131 + d.tag;
    for (int i = 0; i < fillerBytes; i++) {
      b.append((char) ('a' + (int) ((x + i * 7L) % 26)));
    }
    return b.toString();
  }

  /** The whole frame: body, '.', the chain after folding the body in. */
  static byte[] frame(String body, byte[] chainAfter) {
    return (body + "." + HexFormat.of().formatHex(chainAfter)).getBytes(StandardCharsets.US_ASCII);
  }

  static byte[] fold(byte[] chain, String body) {
    return HashChain.fold(chain, body.getBytes(StandardCharsets.US_ASCII));
  }

  /** Parses a frame (or null if the bytes are not one of ours). */
  static Parsed parse(byte[] payload) {
    String s = new String(payload, StandardCharsets.US_ASCII);
    int chainDot = s.lastIndexOf('.');
    if (s.length() < 8 || s.charAt(0) != 's' || chainDot < 0) {
      return null;
    }
    String body = s.substring(0, chainDot);
    String[] f = body.split("\\.", -1);
    if (f.length != 4 || f[1].length() != 1 || Direction.of(f[1].charAt(0)) == null) {
      return null;
    }
    try {
      return new Parsed(Long.parseLong(f[0].substring(1)), Direction.of(f[1].charAt(0)), Long.parseLong(f[2]), body,
          s.substring(chainDot + 1));
    } catch (NumberFormatException e) {
      return null;
    }
  }

  /** Filler length of frame {@code seq}: mostly small, every 16th larger, burst frames large. */
  static int fillerBytes(long session, long seq, boolean burst) {
    long h = (session * 0x9E3779B97F4A7C15L) ^ (seq * 0xC2B2AE3D27D4EB4FL);
    h ^= h >>> 29;
    int r = (int) Math.floorMod(h, 1000L);
    if (burst) {
      return 2048 + r * 6; // 2-8 KiB
    }
    return seq % 16 == 0 ? 1024 + r : 40 + r / 4; // 40-290 B, every 16th 1-2 KiB
  }
}
