/**
 * What stands between the application's payloads and the relay's frames: {@link PLAIN_CODEC} (a
 * null object: payloads go out as they are) or {@link E2eCodec} (end-to-end encryption,
 * docs/e2e-protocol.md: a handshake, then sealed DATA). The Java SDK has the same interface
 * (FrameCodec, FrameCodec.PLAIN, E2eCodec). Here WebCrypto makes it asynchronous; the session
 * opens incoming payloads one at a time, in order, and seals in send order.
 */
import type { Role } from "./errors.js";
import { E2eChannel } from "./e2e/channel.js";
import { fail } from "./e2e/errors.js";
import { E2eHandshake } from "./e2e/handshake.js";
import type { E2eKeyPair } from "./e2e/keys.js";
import { E2E_OVERHEAD, T_COMMIT, T_CONFIRM, T_HELLO, messageType } from "./e2e/wire.js";

/** What one incoming payload produced. */
export interface Opened {
  /** Handshake replies to send, in order (HELLO, CONFIRM). */
  replies: Uint8Array[];
  /** The application payload (plaintext of a DATA frame); undefined for a handshake message. */
  plaintext?: Uint8Array;
  /** True when this payload was the peer's CONFIRM, verified: the channel is secure. */
  becameSecure: boolean;
}

export interface FrameCodec {
  readonly endToEnd: boolean;
  /** Bytes a sealed frame adds to the plaintext. */
  readonly overhead: number;
  /**
   * Starts the handshake once Joined names the session and the role, and again from scratch after
   * the peer restarted (new keys). Resolves with the first handshake payload to send before any
   * DATA, or undefined when there is none.
   */
  start(sessionId: string, role: Role): Promise<Uint8Array | undefined>;
  /** The peer restarted: seal nothing more with the current keys; {@link start} follows. */
  pause(): void;
  /** Whether DATA may be sealed now (our CONFIRM has been produced). */
  readonly canSeal: boolean;
  /** Seals one application payload. Calls must not overlap. */
  seal(plaintext: Uint8Array): Promise<Uint8Array>;
  /** One payload from the peer, in order, exactly once; throws EndToEndSecurityError. Calls must not overlap. */
  open(payload: Uint8Array): Promise<Opened>;
  /** Whether the peer's key confirmation of the current handshake checked out. */
  readonly secure: boolean;
  /** The short authentication string of the current handshake once secure. */
  readonly sas: string | undefined;
  /** Wipes keys. */
  close(): void;
}

/** No end-to-end encryption. */
export const PLAIN_CODEC: FrameCodec = {
  endToEnd: false,
  overhead: 0,
  start: () => Promise.resolve(undefined),
  pause: () => undefined,
  canSeal: true,
  seal: (plaintext) => Promise.resolve(plaintext),
  open: (payload) => Promise.resolve({ replies: [], plaintext: payload, becameSecure: false }),
  secure: false,
  sas: undefined,
  close: () => undefined,
};

/** One handshake and the channel it produced; replaced as a whole by {@link E2eCodec.start}. */
interface State {
  handshake?: E2eHandshake;
  peerCommitSeen: boolean;
  peerHelloSeen: boolean;
  channel?: E2eChannel;
}

/**
 * The end-to-end codec of one session (the Java SDK's E2eCodec): the COMMIT is the first frame
 * after Joined; the peer's COMMIT is answered with our HELLO, its HELLO with our CONFIRM; DATA may be
 * sealed once our CONFIRM is out. After a peer restart {@link start} runs a new handshake with new
 * ephemeral keys and the same pairing secret (kept for that until {@link close}).
 */
export class E2eCodec implements FrameCodec {
  readonly endToEnd = true;
  readonly overhead = E2E_OVERHEAD;
  private state: State = { peerCommitSeen: false, peerHelloSeen: false };
  private paused = false;
  private firstKeys?: E2eKeyPair;

  /** `keys`: the first handshake's key pair (generated before connecting); later ones are fresh. */
  constructor(private readonly pairingSecret?: Uint8Array, keys?: E2eKeyPair) {
    this.firstKeys = keys;
  }

  async start(sessionId: string, role: Role): Promise<Uint8Array> {
    const keys = this.firstKeys;
    this.firstKeys = undefined; // never reused
    const handshake = await E2eHandshake.start(sessionId, role, this.pairingSecret, keys);
    this.state.channel?.close();
    this.state = { handshake, peerCommitSeen: false, peerHelloSeen: false };
    this.paused = false;
    return handshake.commit;
  }

  pause(): void {
    this.paused = true;
  }

  get canSeal(): boolean {
    return !this.paused && this.state.channel !== undefined;
  }

  get secure(): boolean {
    return this.state.channel?.isPeerConfirmed ?? false;
  }

  get sas(): string | undefined {
    return this.secure ? this.state.channel!.sas : undefined;
  }

  async open(payload: Uint8Array): Promise<Opened> {
    const s = this.state;
    const type = messageType(payload);
    switch (type) {
      case T_COMMIT: {
        if (!s.handshake || s.peerCommitSeen) fail("UNEXPECTED_MESSAGE", "a second COMMIT from the peer within one handshake");
        s.peerCommitSeen = true;
        return { replies: [s.handshake.acceptPeerCommit(payload)], becameSecure: false };
      }
      case T_HELLO: {
        if (!s.peerCommitSeen || s.peerHelloSeen) {
          fail("UNEXPECTED_MESSAGE", "HELLO " + (s.peerHelloSeen ? "received twice" : "before the peer's COMMIT"));
        }
        s.peerHelloSeen = true;
        const ch = await s.handshake!.complete(payload);
        s.channel = ch;
        return { replies: [ch.confirm], becameSecure: false };
      }
      case T_CONFIRM: {
        if (!s.channel) fail("UNEXPECTED_MESSAGE", "CONFIRM before the handshake produced keys");
        s.channel.verifyPeerConfirm(payload);
        return { replies: [], becameSecure: true };
      }
      default: {
        if (!s.channel) fail("UNEXPECTED_MESSAGE", "DATA before the handshake completed");
        return { replies: [], plaintext: await s.channel.open(payload), becameSecure: false };
      }
    }
  }

  seal(plaintext: Uint8Array): Promise<Uint8Array> {
    if (!this.canSeal) throw new Error("seal before the handshake produced keys");
    return this.state.channel!.seal(plaintext);
  }

  close(): void {
    this.state.channel?.close();
    this.pairingSecret?.fill(0);
  }
}
