/**
 * End-to-end encryption, protocol v1 (`CheckMate-E2E-v1`, docs/e2e-protocol.md), with WebCrypto
 * only: X25519, SHA-256, HMAC-SHA256, HKDF-SHA256 and AES-256-GCM from `crypto.subtle`.
 * Interoperates with the Java SDK (`JoinOptions.endToEnd(secret)` / `endToEndWithSas()`).
 *
 * The parts, one file each under e2e/ as the Java SDK has one class each: errors (the checks),
 * wire (message layout), keys (X25519 keys, pairing secrets), key-schedule, handshake (pure: bytes
 * in, bytes out), channel (confirmation, SAS, DATA). frame-codec.ts drives them for a session.
 */
export { E2eChannel } from "./e2e/channel.js";
export {
  EndToEndSecurityError,
  EndToEndUnsupportedError,
  TERMINATE_PREFIX,
  peerReportedError,
  type E2eCheck,
} from "./e2e/errors.js";
export { E2eHandshake } from "./e2e/handshake.js";
export { deriveKeySchedule, sasOf, type KeySchedule } from "./e2e/key-schedule.js";
export {
  checkPairingSecret,
  decodePairingSecret,
  encodePairingSecret,
  generateE2eKeyPair,
  isCanonicalX25519,
  newPairingSecret,
  type E2eKeyPair,
  type EndToEndOptions,
} from "./e2e/keys.js";
export { E2E_OVERHEAD, messageType } from "./e2e/wire.js";
export { E2eCodec } from "./frame-codec.js";
