/** Message layout of protocol v1 (docs/e2e-protocol.md §4–§7): constants, headers and their checks. */
import type { Role } from "../errors.js";
import { fail } from "./errors.js";
import { te } from "./bytes.js";

/** DATA overhead: 12-byte header + 16-byte tag. */
export const E2E_OVERHEAD = 28;


export const VERSION = 0x01;
export const T_COMMIT = 0x01, T_HELLO = 0x02, T_CONFIRM = 0x03, T_DATA = 0x04;
export const TYPE_NAMES: Record<number, string> = { 1: "COMMIT", 2: "HELLO", 3: "CONFIRM", 4: "DATA" };
export const HEADER_LEN = 4;
export const MSG_LEN = 36; // COMMIT, HELLO, CONFIRM
export const DATA_HEADER_LEN = 12;
export const TAG_LEN = 16;
export const FLAG_PAIRING_SECRET = 0x01;
export const MAX_COUNTER = 0xffffffffn;

export const LABEL_COMMIT = te.encode("CheckMate-E2E-v1 commit");
export const LABEL_TRANSCRIPT = te.encode("CheckMate-E2E-v1 transcript");
export const LABEL_CONFIRM = te.encode("CheckMate-E2E-v1 confirm");
export const PREFIX = "CheckMate-E2E-v1 ";

export const roleByte = (r: Role): number => (r === "prover" ? 0x01 : 0x02);
export const peerOf = (r: Role): Role => (r === "prover" ? "verifier" : "prover");


export function header(type: number, sender: Role, flags: number): Uint8Array {
  return Uint8Array.of(VERSION, type, roleByte(sender), flags);
}


/** The message type of a payload after the version check (MALFORMED / UNSUPPORTED_VERSION otherwise). */
export function messageType(payload: Uint8Array): number {
  if (payload.length < HEADER_LEN) fail("MALFORMED", "payload shorter than the 4-byte header");
  checkVersion(payload);
  const t = payload[1];
  if (t < T_COMMIT || t > T_DATA) fail("MALFORMED", "unknown message type 0x" + t.toString(16));
  return t;
}

export function checkVersion(msg: Uint8Array): void {
  if (msg[0] !== VERSION) fail("UNSUPPORTED_VERSION", `peer speaks protocol version ${msg[0]}, this side speaks ${VERSION}`);
}

/** Length, version, type, sender role and flags, in the order of docs/e2e-protocol.md §5/§7. */
export function checkHeader(msg: Uint8Array, type: number, sender: Role, flags: number, exactLen: number, minLen: number): void {
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

