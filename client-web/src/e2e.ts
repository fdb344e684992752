/**
 * End-to-end encryption, protocol v1 (`CheckMate-E2E-v1`, docs/e2e-protocol.md), with WebCrypto
 * only: X25519, SHA-256, HMAC-SHA256, HKDF-SHA256 and AES-256-GCM from `crypto.subtle`.
 * Interoperates with the Java SDK (`JoinOptions.endToEnd(secret)` / `endToEndWithSas()`).
 *
 * The handshake ({@link E2eHandshake}) and the channel ({@link E2eChannel}) are pure: bytes in,
 * bytes out. {@link E2eLayer} drives them from the peer's payloads for a {@link RelaySession}, the
 * counterpart of the Java SDK's E2eSessionLayer.
 */
import { RelayError, type Role } from "./errors.js";

/** Which check failed (docs/e2e-protocol.md §9; the Java SDK's `E2eException.Check`). */
export type E2eCheck =
  | "MALFORMED"
  | "UNSUPPORTED_VERSION"
  | "ROLE_MISMATCH"
  | "PAIRING_MODE_MISMATCH"
  | "COMMITMENT_MISMATCH"
  | "INVALID_PUBLIC_KEY"
  | "KEY_CONFIRMATION_FAILED"
  | "UNEXPECTED_MESSAGE"
  | "COUNTER_MISMATCH"
  | "AUTHENTICATION_FAILED"
  | "COUNTER_EXHAUSTED"
  | "CLOSED";

const CHECKS: readonly E2eCheck[] = [
  "MALFORMED", "UNSUPPORTED_VERSION", "ROLE_MISMATCH", "PAIRING_MODE_MISMATCH", "COMMITMENT_MISMATCH",
  "INVALID_PUBLIC_KEY", "KEY_CONFIRMATION_FAILED", "UNEXPECTED_MESSAGE", "COUNTER_MISMATCH",
  "AUTHENTICATION_FAILED", "COUNTER_EXHAUSTED", "CLOSED",
];

/**
 * End-to-end encryption failed (code DATA_LOSS): a handshake message or frame was forged,
 * tampered with, replayed, dropped, reordered, or bound to other keys (a wrong pairing secret, or a
 * relay-in-the-middle). The session is ended with `Terminate("e2e: <check>")`, so the peer ends
 * with this error too (`reportedByPeer` true there). Messages never contain keys, MACs, plaintext
 * or the pairing secret.
 */
export class EndToEndSecurityError extends RelayError {
  readonly check: E2eCheck;
  readonly reportedByPeer: boolean;

  constructor(check: E2eCheck, message: string, reportedByPeer = false) {
    super(message, { code: "DATA_LOSS" });
    this.check = check;
    this.reportedByPeer = reportedByPeer;
  }
}

/** This browser's WebCrypto lacks what end-to-end encryption needs (X25519; or no secure context). */
export class EndToEndUnsupportedError extends RelayError {
  constructor(message: string, cause?: unknown) {
    super(message, { code: "UNIMPLEMENTED", cause });
  }
}

/** `join(..., { e2e: {...} })`: both participants must use the same pairing secret, or both none. */
export interface EndToEndOptions {
  /**
   * 16 to 1024 bytes (use {@link newPairingSecret}) that both participants received with the
   * invitation, never through the relay. Without one, the users must compare `session.sas`.
   */
  pairingSecret?: Uint8Array;
}

/** Prefix of the Terminate reason a participant sends when an end-to-end check fails. */
export const TERMINATE_PREFIX = "e2e: ";
/** DATA overhead: 12-byte header + 16-byte tag. */
export const E2E_OVERHEAD = 28;

const VERSION = 0x01;
const T_COMMIT = 0x01, T_HELLO = 0x02, T_CONFIRM = 0x03, T_DATA = 0x04;
const TYPE_NAMES: Record<number, string> = { 1: "COMMIT", 2: "HELLO", 3: "CONFIRM", 4: "DATA" };
const HEADER_LEN = 4;
const MSG_LEN = 36; // COMMIT, HELLO, CONFIRM
const DATA_HEADER_LEN = 12;
const TAG_LEN = 16;
const FLAG_PAIRING_SECRET = 0x01;
const MAX_COUNTER = 0xffffffffn;
const MIN_SECRET = 16;
const MAX_SECRET = 1024;

const te = new TextEncoder();
const LABEL_COMMIT = te.encode("CheckMate-E2E-v1 commit");
const LABEL_TRANSCRIPT = te.encode("CheckMate-E2E-v1 transcript");
const LABEL_CONFIRM = te.encode("CheckMate-E2E-v1 confirm");
const PREFIX = "CheckMate-E2E-v1 ";

const roleByte = (r: Role): number => (r === "prover" ? 0x01 : 0x02);
const peerOf = (r: Role): Role => (r === "prover" ? "verifier" : "prover");

function fail(check: E2eCheck, message: string): never {
  throw new EndToEndSecurityError(check, "end-to-end encryption: " + message + " [" + check + "]");
}

function subtle(): SubtleCrypto {
  const s = globalThis.crypto?.subtle;
  if (!s) {
    throw new EndToEndUnsupportedError("end-to-end encryption needs WebCrypto (crypto.subtle), which this page lacks: "
      + "serve it over https:// (or http://localhost)");
  }
  return s;
}

function cat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Copies into a fresh ArrayBuffer-backed array (WebCrypto wants a BufferSource). */
function buf(b: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(b.length);
  out.set(b);
  return out;
}

function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

async function sha256(...parts: Uint8Array[]): Promise<Uint8Array> {
  return new Uint8Array(await subtle().digest("SHA-256", buf(cat(...parts))));
}

async function hmac(key: Uint8Array, ...data: Uint8Array[]): Promise<Uint8Array> {
  const k = await subtle().importKey("raw", buf(key), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return new Uint8Array(await subtle().sign("HMAC", k, buf(cat(...data))));
}

function header(type: number, sender: Role, flags: number): Uint8Array {
  return Uint8Array.of(VERSION, type, roleByte(sender), flags);
}

function u64be(n: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, n);
  return out;
}

function nonceOf(counter: bigint): Uint8Array<ArrayBuffer> {
  const n = new Uint8Array(12);
  new DataView(n.buffer).setBigUint64(4, counter);
  return n;
}

/** The message type of a payload after the version check (MALFORMED / UNSUPPORTED_VERSION otherwise). */
export function messageType(payload: Uint8Array): number {
  if (payload.length < HEADER_LEN) fail("MALFORMED", "payload shorter than the 4-byte header");
  checkVersion(payload);
  const t = payload[1];
  if (t < T_COMMIT || t > T_DATA) fail("MALFORMED", "unknown message type 0x" + t.toString(16));
  return t;
}

function checkVersion(msg: Uint8Array): void {
  if (msg[0] !== VERSION) fail("UNSUPPORTED_VERSION", `peer speaks protocol version ${msg[0]}, this side speaks ${VERSION}`);
}

/** Length, version, type, sender role and flags, in the order of docs/e2e-protocol.md §5/§7. */
function checkHeader(msg: Uint8Array, type: number, sender: Role, flags: number, exactLen: number, minLen: number): void {
  const what = TYPE_NAMES[type];
  if (msg.length < HEADER_LEN) fail("MALFORMED", what + " shorter than its header");
  checkVersion(msg);
  if (msg[1] !== type) fail("UNEXPECTED_MESSAGE", `expected a ${what} message, got type 0x${msg[1].toString(16)}`);
  if (exactLen >= 0 ? msg.length !== exactLen : msg.length < minLen) {
    fail("MALFORMED", `${what} has length ${msg.length}, expected ${exactLen >= 0 ? exactLen : "at least " + minLen}`);
  }
  if (msg[2] !== roleByte(sender)) fail("ROLE_MISMATCH", `${what} claims sender role ${msg[2]}, expected the peer role ${sender}`);
  const f = msg[3];
  if ((f & ~FLAG_PAIRING_SECRET) !== 0) fail("MALFORMED", what + " has reserved flag bits set");
  if (f !== flags) {
    if (type === T_DATA) fail("MALFORMED", "DATA frame has flags set");
    fail("PAIRING_MODE_MISMATCH", (f & FLAG_PAIRING_SECRET) !== 0
      ? "the peer uses a pairing secret but this side has none"
      : "this side uses a pairing secret but the peer has none");
  }
}

const P25519 = (1n << 255n) - 19n;

/** 32 bytes, top bit clear, little-endian value below 2^255 - 19. */
export function isCanonicalX25519(u: Uint8Array): boolean {
  if (u.length !== 32 || (u[31] & 0x80) !== 0) return false;
  let v = 0n;
  for (let i = 31; i >= 0; i--) v = (v << 8n) | BigInt(u[i]);
  return v < P25519;
}

/** An ephemeral X25519 key pair: the private key non-extractable, the public key encoded. */
export interface E2eKeyPair {
  privateKey: CryptoKey;
  publicKey: Uint8Array;
}

/**
 * A fresh ephemeral key pair; throws {@link EndToEndUnsupportedError} where WebCrypto has no
 * X25519 (Chromium < 133, Safari < 17, Firefox < 130, Node < 20).
 */
export async function generateE2eKeyPair(): Promise<E2eKeyPair> {
  const s = subtle();
  let pair: CryptoKeyPair;
  try {
    pair = (await s.generateKey({ name: "X25519" }, false, ["deriveBits"])) as CryptoKeyPair;
  } catch (e) {
    throw new EndToEndUnsupportedError("end-to-end encryption needs X25519 in WebCrypto, which this browser lacks "
      + "(it needs Chrome/Edge 133+, Firefox 130+, Safari 17+): " + String((e as Error)?.message ?? e), e);
  }
  return { privateKey: pair.privateKey, publicKey: new Uint8Array(await s.exportKey("raw", pair.publicKey)) };
}

/** Throws RangeError unless the pairing secret is 16..1024 bytes. */
export function checkPairingSecret(secret: Uint8Array): void {
  if (!(secret instanceof Uint8Array) || secret.length < MIN_SECRET || secret.length > MAX_SECRET) {
    throw new RangeError(`pairing secret must be ${MIN_SECRET}..${MAX_SECRET} bytes (use newPairingSecret())`);
  }
}

/** 32 random bytes: a pairing secret to hand out with the invitation (never through the relay). */
export function newPairingSecret(): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(32));
}

/** A pairing secret as text for a link fragment or QR code: base64url without padding (as Java). */
export function encodePairingSecret(secret: Uint8Array): string {
  let s = "";
  for (const b of secret) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** The inverse of {@link encodePairingSecret}. */
export function decodePairingSecret(text: string): Uint8Array {
  const t = text.trim().replace(/-/g, "+").replace(/_/g, "/");
  const bin = atob(t + "=".repeat((4 - (t.length % 4)) % 4));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

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

/** Every value of §6 (exported for the vector tests). */
export interface KeySchedule {
  transcriptHash: Uint8Array;
  prk: Uint8Array;
  keyProverToVerifier: Uint8Array;
  keyVerifierToProver: Uint8Array;
  confirmKeyProver: Uint8Array;
  confirmKeyVerifier: Uint8Array;
  sasBytes: Uint8Array;
  wipe(): void;
}

export async function deriveKeySchedule(sid: Uint8Array, helloProver: Uint8Array, helloVerifier: Uint8Array, ss: Uint8Array, pairingSecret?: Uint8Array): Promise<KeySchedule> {
  const th = await sha256(LABEL_TRANSCRIPT, Uint8Array.of(sid.length >> 8, sid.length & 0xff), sid, helloProver, helloVerifier);
  const salt = pairingSecret ? buf(pairingSecret) : new Uint8Array(32);
  const s = subtle();
  const ikm = await s.importKey("raw", buf(ss), "HKDF", false, ["deriveBits"]);
  const expand = async (label: string, len: number) =>
    new Uint8Array(await s.deriveBits({ name: "HKDF", hash: "SHA-256", salt, info: buf(cat(te.encode(PREFIX + label), th)) }, ikm, 8 * len));
  const ks: KeySchedule = {
    transcriptHash: th,
    prk: await hmac(salt, ss),
    keyProverToVerifier: await expand("key prover to verifier", 32),
    keyVerifierToProver: await expand("key verifier to prover", 32),
    confirmKeyProver: await expand("confirm prover", 32),
    confirmKeyVerifier: await expand("confirm verifier", 32),
    sasBytes: await expand("sas", 4),
    wipe() {
      for (const k of [ks.prk, ks.keyProverToVerifier, ks.keyVerifierToProver, ks.confirmKeyProver, ks.confirmKeyVerifier]) k.fill(0);
    },
  };
  return ks;
}

/** SAS = decimal(u32be(sas_bytes) mod 10^6), 6 digits (§8). */
export function sasOf(sasBytes: Uint8Array): string {
  const v = new DataView(buf(sasBytes).buffer).getUint32(0);
  return String(v % 1000000).padStart(6, "0");
}

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

/** What one incoming payload produced. */
export interface E2eIncoming {
  /** Handshake replies to send, in order (HELLO, CONFIRM). */
  replies: Uint8Array[];
  /** The plaintext of a DATA frame. */
  plaintext?: Uint8Array;
  /** True when this payload was the peer's CONFIRM, verified: the channel is secure. */
  becameSecure: boolean;
}

/**
 * The end-to-end layer of one session (the Java SDK's E2eSessionLayer): the COMMIT is the first
 * frame after Joined; the peer's COMMIT is answered with our HELLO, its HELLO with our CONFIRM;
 * DATA may be sealed once our CONFIRM is out. {@link onIncoming} calls must not overlap.
 */
export class E2eLayer {
  private readonly sessionId: string;
  private readonly role: Role;
  private readonly pairingSecret?: Uint8Array;
  private readonly keys?: E2eKeyPair;
  private handshake?: E2eHandshake;
  private peerCommitSeen = false;
  private peerHelloSeen = false;
  private channel?: E2eChannel;

  constructor(sessionId: string, role: Role, pairingSecret?: Uint8Array, keys?: E2eKeyPair) {
    this.sessionId = sessionId;
    this.role = role;
    this.pairingSecret = pairingSecret;
    this.keys = keys;
  }

  /** Starts the handshake; returns the COMMIT to send first. */
  async start(): Promise<Uint8Array> {
    this.handshake = await E2eHandshake.start(this.sessionId, this.role, this.pairingSecret, this.keys);
    return this.handshake.commit;
  }

  /** Whether DATA can be sealed (our CONFIRM has been produced). */
  get canSeal(): boolean {
    return this.channel !== undefined;
  }

  get secure(): boolean {
    return this.channel?.isPeerConfirmed ?? false;
  }

  get sas(): string | undefined {
    return this.secure ? this.channel!.sas : undefined;
  }

  /** Throws {@link EndToEndSecurityError} on any failed check; the session must end then. */
  async onIncoming(payload: Uint8Array): Promise<E2eIncoming> {
    const type = messageType(payload);
    switch (type) {
      case T_COMMIT: {
        if (!this.handshake || this.peerCommitSeen) {
          fail("UNEXPECTED_MESSAGE", "a second COMMIT from the peer (did it reconnect? an end-to-end session cannot resume)");
        }
        this.peerCommitSeen = true;
        return { replies: [this.handshake.acceptPeerCommit(payload)], becameSecure: false };
      }
      case T_HELLO: {
        if (!this.peerCommitSeen || this.peerHelloSeen) {
          fail("UNEXPECTED_MESSAGE", "HELLO " + (this.peerHelloSeen ? "received twice" : "before the peer's COMMIT"));
        }
        this.peerHelloSeen = true;
        const ch = await this.handshake!.complete(payload);
        this.channel = ch;
        return { replies: [ch.confirm], becameSecure: false };
      }
      case T_CONFIRM: {
        if (!this.channel) fail("UNEXPECTED_MESSAGE", "CONFIRM before the handshake produced keys");
        this.channel.verifyPeerConfirm(payload);
        return { replies: [], becameSecure: true };
      }
      default: {
        if (!this.channel) fail("UNEXPECTED_MESSAGE", "DATA before the handshake completed");
        return { replies: [], plaintext: await this.channel.open(payload), becameSecure: false };
      }
    }
  }

  seal(plaintext: Uint8Array): Promise<Uint8Array> {
    if (!this.channel) throw new Error("seal before the handshake produced keys");
    return this.channel.seal(plaintext);
  }

  close(): void {
    this.channel?.close();
  }
}

/** The typed error for a peer's `Terminate("e2e: CHECK")`. */
export function peerReportedError(terminateReason: string): EndToEndSecurityError {
  const name = terminateReason.slice(TERMINATE_PREFIX.length).trim() as E2eCheck;
  const check: E2eCheck = CHECKS.includes(name) ? name : "MALFORMED";
  return new EndToEndSecurityError(check, `the peer ended the session: its end-to-end check ${check} failed`, true);
}
