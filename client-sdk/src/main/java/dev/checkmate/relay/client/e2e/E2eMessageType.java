package dev.checkmate.relay.client.e2e;

/**
 * The four kinds of end-to-end payloads, told apart by byte 1 of every payload. Each side sends
 * exactly one COMMIT, one HELLO and one CONFIRM, in that order, then any number of DATA frames.
 */
public enum E2eMessageType {
  /** SHA-256 commitment to the sender's HELLO; sent first. */
  COMMIT(0x01),
  /** Version, role, mode flags and the ephemeral X25519 public key; sent after the peer's COMMIT. */
  HELLO(0x02),
  /** Key confirmation (HMAC over the transcript); sent once keys are derived. */
  CONFIRM(0x03),
  /** An AES-256-GCM sealed application message. */
  DATA(0x04);

  private final int wire;

  E2eMessageType(int wire) {
    this.wire = wire;
  }

  /** The type byte on the wire. */
  public int wireValue() {
    return wire;
  }

  /**
   * The type of an end-to-end payload, for routing an incoming frame to the handshake or the
   * channel. Checks only the version and type bytes.
   *
   * @throws E2eException if the payload is too short, of another version, or of an unknown type
   */
  public static E2eMessageType of(byte[] payload) {
    if (payload == null || payload.length < Wire.HEADER_LEN) {
      throw new E2eException(E2eException.Check.MALFORMED, "payload shorter than the 4-byte header");
    }
    Wire.checkVersion(payload);
    for (E2eMessageType t : values()) {
      if (t.wire == (payload[1] & 0xff)) {
        return t;
      }
    }
    throw new E2eException(E2eException.Check.MALFORMED,
        "unknown message type 0x" + Integer.toHexString(payload[1] & 0xff));
  }
}
