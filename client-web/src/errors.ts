/**
 * Typed errors, the same nouns as the Java SDK (dev.checkmate.relay.client). Every error carries
 * the relay's own description in `message`, the gRPC status name in `code`, and for WebSocket the
 * close code the relay sent (see the table in relay.proto).
 */

/** gRPC status names the relay uses (relay.proto lists when each happens). */
export type StatusCode =
  | "OK"
  | "CANCELLED"
  | "UNKNOWN"
  | "INVALID_ARGUMENT"
  | "DEADLINE_EXCEEDED"
  | "NOT_FOUND"
  | "ALREADY_EXISTS"
  | "PERMISSION_DENIED"
  | "RESOURCE_EXHAUSTED"
  | "FAILED_PRECONDITION"
  | "ABORTED"
  | "OUT_OF_RANGE"
  | "UNIMPLEMENTED"
  | "INTERNAL"
  | "UNAVAILABLE"
  | "DATA_LOSS"
  | "UNAUTHENTICATED";

export const STATUS_CODES: readonly StatusCode[] = [
  "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
  "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
  "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
];

/** Why a session ended (relay.v1.EndReason). */
export type EndReason =
  | "TERMINATED"
  | "PEER_NEVER_JOINED"
  | "IDLE_TIMEOUT"
  | "LIFETIME_EXCEEDED"
  | "RELAY_SHUTDOWN"
  | "LIMIT_EXCEEDED"
  | "PROTOCOL_ERROR"
  | "UNKNOWN";

export type Role = "prover" | "verifier";

export interface ErrorDetails {
  code: StatusCode;
  /** The WebSocket close code, when the error came from a WebSocket close. */
  closeCode?: number;
  cause?: unknown;
}

/** Base class: anything the relay refused or ended. */
export class RelayError extends Error {
  readonly code: StatusCode;
  readonly closeCode?: number;

  constructor(message: string, details: ErrorDetails) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.code = details.code;
    this.closeCode = details.closeCode;
  }
}

/** The ticket was refused: forged, expired, not yet valid or signed by an unknown key (UNAUTHENTICATED, 4401). */
export class TicketRejectedError extends RelayError {}

/** Another live connection holds this ticket's role (ALREADY_EXISTS, 4409 before Joined). */
export class RoleTakenError extends RelayError {}

/** This page's origin may not use the relay (PERMISSION_DENIED, 4403): add it to --allowed-origin. */
export class NotAuthorizedError extends RelayError {}

/** A limit was hit: frame size, frames/s, bytes/s or streams per address (RESOURCE_EXHAUSTED, 4413/4429). */
export class LimitExceededError extends RelayError {}

/** The relay cannot be reached or is shutting down (UNAVAILABLE, 1012, or a lost connection): retry. */
export class RelayUnavailableError extends RelayError {}

/** The relay or the peer broke the protocol (e.g. frames out of order). */
export class ProtocolViolationError extends RelayError {}

/**
 * The peer restarted and joined again with its ticket (a new process, a reloaded page): a new
 * incarnation that remembers nothing (code ABORTED; docs/resume.md). Not an end: the session goes on
 * with it from the start (numbering, end-to-end keys; without a pairing secret compare the new SAS).
 * Reported once, in order with the frames: `receive()` / `for await` reject with it once (catch it
 * to go on), or `session.onPeerRestarted` is called; with an `onFrame` callback and no
 * `onPeerRestarted`, the session ends with it. `lostFrames`: frames this side sent or queued that
 * the previous incarnation never acknowledged (queued sends reject with this error).
 */
export class PeerRestartedError extends RelayError {
  readonly lostFrames: number;
  readonly framesFromPreviousPeer: number;

  constructor(lostFrames: number, framesFromPreviousPeer: number) {
    super(`the peer restarted and rejoined with its ticket: ${lostFrames} frame(s) sent to its previous incarnation were`
      + ` never acknowledged and are lost; ${framesFromPreviousPeer} frame(s) had been received from it; the session goes on`
      + " with the new incarnation from the start", { code: "ABORTED" });
    this.lostFrames = lostFrames;
    this.framesFromPreviousPeer = framesFromPreviousPeer;
  }
}

/** The session is over: `reason` says why, `endedBy` who (for TERMINATED, LIMIT_EXCEEDED, PROTOCOL_ERROR). */
export class SessionEndedError extends RelayError {
  readonly reason: EndReason;
  readonly endedBy?: Role;

  constructor(message: string, reason: EndReason, endedBy: Role | undefined, details: ErrorDetails) {
    super(message, details);
    this.reason = reason;
    this.endedBy = endedBy;
  }
}

/** A status without a SessionEnded before it, as a typed error. */
export function errorForStatus(code: StatusCode, message: string, closeCode?: number, joined = true): RelayError {
  const d: ErrorDetails = { code, closeCode };
  const text = message || code;
  switch (code) {
    case "UNAUTHENTICATED":
      return new TicketRejectedError(text, d);
    case "ALREADY_EXISTS":
      return new RoleTakenError(text, d);
    case "ABORTED":
      return joined ? new SessionEndedError(text, "UNKNOWN", undefined, d) : new RoleTakenError(text, d);
    case "PERMISSION_DENIED":
      return new NotAuthorizedError(text, d);
    case "RESOURCE_EXHAUSTED":
      return new LimitExceededError(text, d);
    case "FAILED_PRECONDITION":
    case "DEADLINE_EXCEEDED":
      return new SessionEndedError(text, "UNKNOWN", undefined, d);
    case "UNAVAILABLE":
      return new RelayUnavailableError(text, d);
    case "INVALID_ARGUMENT":
    case "OUT_OF_RANGE":
      return new ProtocolViolationError(text, d);
    default:
      return new RelayError(text, d);
  }
}

/** The status a WebSocket close code stands for (the table in relay.proto). */
export function statusForCloseCode(closeCode: number, joined: boolean): StatusCode {
  switch (closeCode) {
    case 1000:
      return "OK";
    case 1003:
    case 4400:
      return "INVALID_ARGUMENT";
    case 1009:
    case 4413:
    case 4429:
      return "RESOURCE_EXHAUSTED";
    case 1012:
    case 4503:
    case 1001:
    case 1006:
      return "UNAVAILABLE";
    case 4401:
      return "UNAUTHENTICATED";
    case 4403:
      return "PERMISSION_DENIED";
    case 4408:
      return "DEADLINE_EXCEEDED";
    case 4409:
      return joined ? "ABORTED" : "ALREADY_EXISTS";
    case 4410:
      return "FAILED_PRECONDITION";
    default:
      return closeCode >= 4000 ? "UNKNOWN" : "INTERNAL";
  }
}
