/** The end-to-end errors and the checks they name (docs/e2e-protocol.md §9). */
import { RelayError } from "../errors.js";

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


/** Prefix of the Terminate reason a participant sends when an end-to-end check fails. */
export const TERMINATE_PREFIX = "e2e: ";

export function fail(check: E2eCheck, message: string): never {
  throw new EndToEndSecurityError(check, "end-to-end encryption: " + message + " [" + check + "]");
}

/** The typed error for a peer's `Terminate("e2e: CHECK")`. */
export function peerReportedError(terminateReason: string): EndToEndSecurityError {
  const name = terminateReason.slice(TERMINATE_PREFIX.length).trim() as E2eCheck;
  const check: E2eCheck = CHECKS.includes(name) ? name : "MALFORMED";
  return new EndToEndSecurityError(check, `the peer ended the session: its end-to-end check ${check} failed`, true);
}
