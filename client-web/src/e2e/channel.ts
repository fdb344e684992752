/** The keys of a completed handshake: confirmation, SAS and DATA frames (docs/e2e-protocol.md §7). */
import type { Role } from "../errors.js";
import { buf, cat, constantTimeEqual, hmac, nonceOf, subtle, u64be } from "./bytes.js";
import { fail } from "./errors.js";
import { sasOf, type KeySchedule } from "./key-schedule.js";
import {
  DATA_HEADER_LEN, HEADER_LEN, LABEL_CONFIRM, MAX_COUNTER, MSG_LEN, TAG_LEN, T_CONFIRM, T_DATA, checkHeader, header, peerOf,
} from "./wire.js";

/**
 * The keys of a completed handshake: key confirmation, SAS, and AES-256-GCM DATA frames with
 * strict per-direction counters (§7). A failed open kills the receiving direction for good.
 */
export class E2eChannel {
  readonly role: Role;
  /** Message 3, this side's CONFIRM (36 bytes); send it before any DATA. */
  readonly confirm: Uint8Array;
  /** The 6-digit short authentication string. */
  readonly sas: string;
  readonly transcriptHash: Uint8Array;
  private readonly peer: Role;
  private readonly sendKey: CryptoKey;
  private readonly receiveKey: CryptoKey;
  private readonly expectedPeerMac: Uint8Array;
  private sendCounter = 0n;
  private receiveCounter = 0n;
  private peerConfirmed = false;
  private receiveFailed = false;
  private closed = false;

  private constructor(role: Role, th: Uint8Array, confirm: Uint8Array, expectedPeerMac: Uint8Array, sas: string, sendKey: CryptoKey, receiveKey: CryptoKey) {
    this.role = role;
    this.peer = peerOf(role);
    this.transcriptHash = th;
    this.confirm = confirm;
    this.expectedPeerMac = expectedPeerMac;
    this.sas = sas;
    this.sendKey = sendKey;
    this.receiveKey = receiveKey;
  }

  static async create(role: Role, ks: KeySchedule, flags: number): Promise<E2eChannel> {
    const prover = role === "prover";
    const aes = (k: Uint8Array) => subtle().importKey("raw", buf(k), "AES-GCM", false, ["encrypt", "decrypt"]);
    const th = ks.transcriptHash.slice();
    const ownMac = await hmac(prover ? ks.confirmKeyProver : ks.confirmKeyVerifier, LABEL_CONFIRM, th);
    const peerMac = await hmac(prover ? ks.confirmKeyVerifier : ks.confirmKeyProver, LABEL_CONFIRM, th);
    return new E2eChannel(role, th, cat(header(T_CONFIRM, role, flags), ownMac), peerMac, sasOf(ks.sasBytes),
      await aes(prover ? ks.keyProverToVerifier : ks.keyVerifierToProver),
      await aes(prover ? ks.keyVerifierToProver : ks.keyProverToVerifier));
  }

  get isPeerConfirmed(): boolean {
    return this.peerConfirmed;
  }

  private checkReceivable(): void {
    if (this.closed) fail("CLOSED", "channel is closed");
    if (this.receiveFailed) fail("CLOSED", "receiving direction failed earlier; end the session");
  }

  /** Checks the peer's CONFIRM (KEY_CONFIRMATION_FAILED: wrong pairing secret, other session, MITM). */
  verifyPeerConfirm(peerConfirm: Uint8Array): void {
    this.checkReceivable();
    try {
      if (this.peerConfirmed) fail("UNEXPECTED_MESSAGE", "peer CONFIRM received twice");
      checkHeader(peerConfirm, T_CONFIRM, this.peer, this.confirm[3], MSG_LEN, MSG_LEN);
      if (!constantTimeEqual(peerConfirm.subarray(HEADER_LEN), this.expectedPeerMac)) {
        fail("KEY_CONFIRMATION_FAILED", "key confirmation failed: the peer derived different keys (wrong pairing secret,"
          + " different session id, or a relay-in-the-middle replaced the handshake)");
      }
    } catch (e) {
      this.receiveFailed = true;
      throw e;
    }
    this.peerConfirmed = true;
  }

  /** Seals one message into a DATA payload (plaintext length + 28 bytes). Calls must not overlap. */
  async seal(plaintext: Uint8Array): Promise<Uint8Array> {
    if (this.closed) fail("CLOSED", "channel is closed");
    if (this.sendCounter >= MAX_COUNTER) fail("COUNTER_EXHAUSTED", `this direction used all ${MAX_COUNTER} frame counters; start a new session`);
    const counter = ++this.sendCounter; // reserved before the await: overlapping calls get distinct counters
    const head = cat(header(T_DATA, this.role, 0), u64be(counter));
    const ct = await subtle().encrypt({ name: "AES-GCM", iv: nonceOf(counter), additionalData: buf(cat(head, this.transcriptHash)), tagLength: 128 },
      this.sendKey, buf(plaintext));
    return cat(head, new Uint8Array(ct));
  }

  /** Opens the peer's next DATA payload; the counter must be exactly the last one + 1. Calls must not overlap. */
  async open(frame: Uint8Array): Promise<Uint8Array> {
    this.checkReceivable();
    try {
      if (!this.peerConfirmed) fail("UNEXPECTED_MESSAGE", "DATA frame before the peer's key confirmation was verified");
      checkHeader(frame, T_DATA, this.peer, 0, -1, DATA_HEADER_LEN + TAG_LEN);
      const counter = new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getBigUint64(HEADER_LEN);
      const expected = this.receiveCounter + 1n;
      if (counter !== expected) {
        fail("COUNTER_MISMATCH", `${counter < expected ? "replayed or reordered frame" : "frame(s) dropped or reordered"}: expected counter ${expected}, got ${counter}`);
      }
      if (counter > MAX_COUNTER) fail("COUNTER_EXHAUSTED", `peer exceeded ${MAX_COUNTER} frames`);
      this.receiveCounter = counter; // claimed now; any failure below kills the direction anyway
      let pt: ArrayBuffer;
      try {
        pt = await subtle().decrypt({ name: "AES-GCM", iv: nonceOf(counter), additionalData: buf(cat(frame.subarray(0, DATA_HEADER_LEN), this.transcriptHash)), tagLength: 128 },
          this.receiveKey, buf(frame.subarray(DATA_HEADER_LEN)));
      } catch {
        fail("AUTHENTICATION_FAILED", `DATA frame ${counter} failed authentication (tampered header or ciphertext, or keys of another session)`);
      }
      return new Uint8Array(pt);
    } catch (e) {
      this.receiveFailed = true;
      throw e;
    }
  }

  close(): void {
    this.closed = true;
  }
}

