/**
 * CheckMate Relay browser SDK. Join a session with a ticket, exchange opaque frames with the peer
 * over WebSocket (gRPC-Web as fallback), with back-pressure and typed errors.
 *
 * ```ts
 * const session = await joinSession(ticket, { endpoint: "https://relay.example.com" });
 * await session.send(new TextEncoder().encode("hello"));
 * for await (const frame of session) { ... }
 * ```
 */
export { RelayClient, joinSession, webSocketUrl } from "./client.js";
export type { JoinOptions, RelayClientOptions, SessionJoinOptions, TransportChoice } from "./client.js";
export { traceContext } from "./trace.js";
export type { TraceContext, TraceContextOptions } from "./trace.js";
export { RelaySession } from "./session.js";
export type { RelayLimits, ResumeOptions, SessionEnd, TransportName } from "./session.js";
export {
  LimitExceededError,
  NotAuthorizedError,
  PeerRestartedError,
  ProtocolViolationError,
  RelayError,
  RelayUnavailableError,
  RoleTakenError,
  SessionEndedError,
  TicketRejectedError,
  errorForStatus,
  statusForCloseCode,
} from "./errors.js";
export type { EndReason, Role, StatusCode } from "./errors.js";
export {
  EndToEndSecurityError,
  EndToEndUnsupportedError,
  decodePairingSecret,
  encodePairingSecret,
  newPairingSecret,
} from "./e2e.js";
export type { E2eCheck, EndToEndOptions } from "./e2e.js";
