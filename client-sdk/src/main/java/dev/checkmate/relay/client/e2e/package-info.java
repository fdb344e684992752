/**
 * End-to-end encryption between the PROVER and the VERIFIER of a relay session, protocol v1
 * ({@code docs/e2e-protocol.md}): X25519 key agreement with commit-then-reveal hellos,
 * HKDF-SHA256 key schedule bound to the session id and both roles, optional pairing secret with
 * explicit key confirmation, a 6-digit short authentication string, and AES-256-GCM frames with
 * per-direction keys and strict counters. Transport-agnostic: these classes only turn bytes into
 * bytes; the SDK carries the payloads in relay {@code Frame}s.
 */
package dev.checkmate.relay.client.e2e;
