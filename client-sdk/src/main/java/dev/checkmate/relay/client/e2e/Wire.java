package dev.checkmate.relay.client.e2e;

import dev.checkmate.relay.client.Role;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/** Constants and byte layouts of protocol version 1 (see docs/e2e-protocol.md). */
final class Wire {
  static final int VERSION = 0x01;
  static final int HEADER_LEN = 4;
  static final int HELLO_LEN = HEADER_LEN + X25519.KEY_LEN; // 36
  static final int COMMIT_LEN = HEADER_LEN + 32; // 36
  static final int CONFIRM_LEN = HEADER_LEN + 32; // 36
  static final int DATA_HEADER_LEN = HEADER_LEN + 8; // 12
  static final int TAG_LEN = 16;
  static final int NONCE_LEN = 12;

  static final int FLAG_PAIRING_SECRET = 0x01;

  static final int ROLE_PROVER = 0x01;
  static final int ROLE_VERIFIER = 0x02;

  /** Highest counter a direction may use; the first frame has counter 1. */
  static final long MAX_COUNTER = 0xFFFF_FFFFL;

  static final int MIN_PAIRING_SECRET_LEN = 16;
  static final int MAX_PAIRING_SECRET_LEN = 1024;
  static final int MAX_SESSION_ID_LEN = 0xFFFF;

  static final String PREFIX = "CheckMate-E2E-v1 ";
  static final byte[] LABEL_COMMIT = ascii("CheckMate-E2E-v1 commit");
  static final byte[] LABEL_TRANSCRIPT = ascii("CheckMate-E2E-v1 transcript");
  static final byte[] LABEL_CONFIRM = ascii("CheckMate-E2E-v1 confirm");
  static final String INFO_KEY_P2V = PREFIX + "key prover to verifier";
  static final String INFO_KEY_V2P = PREFIX + "key verifier to prover";
  static final String INFO_CONFIRM_PROVER = PREFIX + "confirm prover";
  static final String INFO_CONFIRM_VERIFIER = PREFIX + "confirm verifier";
  static final String INFO_SAS = PREFIX + "sas";

  private Wire() {}

  static int roleByte(Role role) {
    switch (role) {
      case PROVER:
        return ROLE_PROVER;
      case VERIFIER:
        return ROLE_VERIFIER;
      default:
        throw new IllegalArgumentException("role must be PROVER or VERIFIER");
    }
  }

  static Role peerOf(Role role) {
    return role == Role.PROVER ? Role.VERIFIER : Role.PROVER;
  }

  static byte[] ascii(String s) {
    return s.getBytes(StandardCharsets.US_ASCII);
  }

  static byte[] header(E2eMessageType type, Role sender, int flags) {
    return new byte[] {(byte) VERSION, (byte) type.wireValue(), (byte) roleByte(sender), (byte) flags};
  }

  static void checkVersion(byte[] msg) {
    int v = msg[0] & 0xff;
    if (v != VERSION) {
      throw new E2eException(E2eException.Check.UNSUPPORTED_VERSION,
          "peer speaks protocol version " + v + ", this side speaks " + VERSION);
    }
  }

  /**
   * Checks length, version, type, sender role and flags of a handshake or data message.
   *
   * @param exactLen the exact length, or -1 for "at least minLen"
   */
  static void checkHeader(byte[] msg, E2eMessageType type, Role expectedSender, int expectedFlags,
      int exactLen, int minLen) {
    String what = type.name();
    if (msg == null || msg.length < HEADER_LEN) {
      throw new E2eException(E2eException.Check.MALFORMED, what + " shorter than its header");
    }
    checkVersion(msg);
    if ((msg[1] & 0xff) != type.wireValue()) {
      throw new E2eException(E2eException.Check.UNEXPECTED_MESSAGE,
          "expected a " + what + " message, got type 0x" + Integer.toHexString(msg[1] & 0xff));
    }
    if (exactLen >= 0 ? msg.length != exactLen : msg.length < minLen) {
      throw new E2eException(E2eException.Check.MALFORMED,
          what + " has length " + msg.length + ", expected " + (exactLen >= 0 ? exactLen : "at least " + minLen));
    }
    int role = msg[2] & 0xff;
    if (role != roleByte(expectedSender)) {
      throw new E2eException(E2eException.Check.ROLE_MISMATCH,
          what + " claims sender role " + role + ", expected the peer role "
              + expectedSender + " (" + roleByte(expectedSender) + ")");
    }
    int flags = msg[3] & 0xff;
    if ((flags & ~FLAG_PAIRING_SECRET) != 0) {
      throw new E2eException(E2eException.Check.MALFORMED, what + " has reserved flag bits set");
    }
    if (flags != expectedFlags) {
      if (type == E2eMessageType.DATA) {
        throw new E2eException(E2eException.Check.MALFORMED, "DATA frame has flags set");
      }
      throw new E2eException(E2eException.Check.PAIRING_MODE_MISMATCH,
          (flags & FLAG_PAIRING_SECRET) != 0
              ? "the peer uses a pairing secret but this side has none"
              : "this side uses a pairing secret but the peer has none");
    }
  }

  static byte[] sha256(byte[]... parts) {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      for (byte[] p : parts) {
        md.update(p);
      }
      return md.digest();
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 unavailable", e);
    }
  }

  static byte[] concat(byte[]... parts) {
    int n = 0;
    for (byte[] p : parts) {
      n += p.length;
    }
    byte[] out = new byte[n];
    int off = 0;
    for (byte[] p : parts) {
      System.arraycopy(p, 0, out, off, p.length);
      off += p.length;
    }
    return out;
  }

  static byte[] u16(int v) {
    return new byte[] {(byte) (v >>> 8), (byte) v};
  }

  static void putU64(byte[] out, int off, long v) {
    for (int i = 0; i < 8; i++) {
      out[off + i] = (byte) (v >>> (56 - 8 * i));
    }
  }

  static long getU64(byte[] in, int off) {
    long v = 0;
    for (int i = 0; i < 8; i++) {
      v = (v << 8) | (in[off + i] & 0xffL);
    }
    return v;
  }
}
