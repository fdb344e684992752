/** One side of the handshake (docs/e2e-protocol.md §5). */
import type { Role } from "../errors.js";
import { buf, cat, constantTimeEqual, sha256, subtle, te } from "./bytes.js";
import { E2eChannel } from "./channel.js";
import { fail } from "./errors.js";
import { deriveKeySchedule } from "./key-schedule.js";
import { checkPairingSecret, generateE2eKeyPair, isCanonicalX25519, type E2eKeyPair } from "./keys.js";
import { FLAG_PAIRING_SECRET, HEADER_LEN, LABEL_COMMIT, MSG_LEN, T_COMMIT, T_HELLO, checkHeader, header, peerOf } from "./wire.js";

/**
 * One side of the handshake (§5). Single use: fails for good on the first bad peer message.
 *
 * ```ts
 * const hs = await E2eHandshake.start(sessionId, "prover", secret);
 * send(hs.commit);                                   // 1. COMMIT
 * send(hs.acceptPeerCommit(peerCommit));             // 2. HELLO, only after the peer's COMMIT
 * const ch = await hs.complete(peerHello);           //    derives the keys
 * send(ch.confirm);                                  // 3. CONFIRM
 * ch.verifyPeerConfirm(peerConfirm);
 * ```
 */
export class E2eHandshake {
  readonly sessionId: string;
  readonly role: Role;
  /** Message 1, the COMMIT (36 bytes). */
  readonly commit: Uint8Array;
  private readonly sid: Uint8Array;
  private readonly flags: number;
  private pairingSecret: Uint8Array | undefined;
  private privateKey: CryptoKey | undefined;
  private readonly publicKey: Uint8Array;
  private readonly hello: Uint8Array;
  private peerCommit?: Uint8Array;
  private state: "committed" | "hello-sent" | "done" | "failed" = "committed";

  private constructor(sessionId: string, role: Role, secret: Uint8Array | undefined, keys: E2eKeyPair, commit: Uint8Array, hello: Uint8Array) {
    this.sessionId = sessionId;
    this.sid = te.encode(sessionId);
    this.role = role;
    this.pairingSecret = secret;
    this.flags = secret ? FLAG_PAIRING_SECRET : 0;
    this.privateKey = keys.privateKey;
    this.publicKey = keys.publicKey;
    this.hello = hello;
    this.commit = commit;
  }

  /**
   * Starts a handshake. `keys` defaults to a fresh key pair; it MUST NOT be reused across
   * handshakes (passing one is for tests and for generating it ahead of the join).
   */
  static async start(sessionId: string, role: Role, pairingSecret?: Uint8Array, keys?: E2eKeyPair): Promise<E2eHandshake> {
    const sidLen = te.encode(sessionId).length;
    if (sidLen === 0 || sidLen > 0xffff) throw new RangeError("sessionId must be 1..65535 UTF-8 bytes");
    if (role !== "prover" && role !== "verifier") throw new RangeError("role must be prover or verifier");
    if (pairingSecret !== undefined) checkPairingSecret(pairingSecret);
    const k = keys ?? (await generateE2eKeyPair());
    if (k.publicKey.length !== 32) throw new RangeError("X25519 public key must be 32 bytes");
    const flags = pairingSecret ? FLAG_PAIRING_SECRET : 0;
    const hello = cat(header(T_HELLO, role, flags), k.publicKey);
    const commit = cat(header(T_COMMIT, role, flags), await sha256(LABEL_COMMIT, hello));
    return new E2eHandshake(sessionId, role, pairingSecret ? buf(pairingSecret) : undefined, k, commit, hello);
  }

  get usesPairingSecret(): boolean {
    return this.flags !== 0;
  }

  /** Takes the peer's COMMIT; returns this side's HELLO (36 bytes) to send. */
  acceptPeerCommit(peerCommit: Uint8Array): Uint8Array {
    if (this.state !== "committed") throw new Error("peer commitment already accepted (" + this.state + ")");
    try {
      checkHeader(peerCommit, T_COMMIT, peerOf(this.role), this.flags, MSG_LEN, MSG_LEN);
    } catch (e) {
      this.fail();
      throw e;
    }
    this.peerCommit = buf(peerCommit);
    this.state = "hello-sent";
    return this.hello.slice();
  }

  /** Takes the peer's HELLO, checks it against its COMMIT and derives the keys. */
  async complete(peerHello: Uint8Array): Promise<E2eChannel> {
    if (this.state !== "hello-sent") {
      throw new Error(this.state === "committed" ? "call acceptPeerCommit() before complete()" : "handshake already " + this.state);
    }
    this.state = "done"; // no second call while this one is pending
    try {
      const peer = peerOf(this.role);
      checkHeader(peerHello, T_HELLO, peer, this.flags, MSG_LEN, MSG_LEN);
      if (!constantTimeEqual(await sha256(LABEL_COMMIT, peerHello), this.peerCommit!.subarray(HEADER_LEN))) {
        fail("COMMITMENT_MISMATCH", "peer HELLO does not match the COMMIT it sent first");
      }
      const peerPk = buf(peerHello.subarray(HEADER_LEN, MSG_LEN));
      if (!isCanonicalX25519(peerPk)) fail("INVALID_PUBLIC_KEY", "peer public key is not a canonical X25519 u-coordinate");
      if (constantTimeEqual(peerPk, this.publicKey)) fail("INVALID_PUBLIC_KEY", "peer public key equals ours (reflected HELLO)");
      let ss: Uint8Array;
      try {
        const s = subtle();
        const pub = await s.importKey("raw", peerPk, { name: "X25519" }, false, []);
        ss = new Uint8Array(await s.deriveBits({ name: "X25519", public: pub }, this.privateKey!, 256));
      } catch {
        // WebCrypto refuses an all-zero result (small-order key) with an OperationError.
        fail("INVALID_PUBLIC_KEY", "peer public key has small order (all-zero shared secret)");
      }
      if (ss.every((b) => b === 0)) fail("INVALID_PUBLIC_KEY", "peer public key has small order (all-zero shared secret)");
      const helloP = this.role === "prover" ? this.hello : peerHello;
      const helloV = this.role === "prover" ? peerHello : this.hello;
      const ks = await deriveKeySchedule(this.sid, helloP, helloV, ss, this.pairingSecret);
      ss.fill(0);
      const ch = await E2eChannel.create(this.role, ks, this.flags);
      ks.wipe();
      this.privateKey = undefined; // used once
      this.pairingSecret?.fill(0);
      return ch;
    } catch (e) {
      this.fail();
      throw e;
    }
  }

  private fail(): void {
    this.state = "failed";
    this.privateKey = undefined;
    this.pairingSecret?.fill(0);
  }
}

