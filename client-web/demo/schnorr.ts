/**
 * Schnorr identification, verifier side, for the demo (the Java prover is
 * dev.checkmate.relay.examples.schnorr). RFC 3526 2048-bit MODP group, g = 2, q = (p - 1) / 2.
 * Frames: one tag byte (1 commitment, 2 challenge, 3 response, 4 result) then an unsigned
 * big-endian number; the result is one byte, 1 = verified, 0 = rejected.
 */
export const P = BigInt(
  "0xFFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD1" +
    "29024E088A67CC74020BBEA63B139B22514A08798E3404DD" +
    "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245" +
    "E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED" +
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3D" +
    "C2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F" +
    "83655D23DCA3AD961C62F356208552BB9ED529077096966D" +
    "670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B" +
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9" +
    "DE2BCBF6955817183995497CEA956AE515D2261898FA0510" +
    "15728E5A8AACAA68FFFFFFFFFFFFFFFF",
);
export const Q = (P - 1n) >> 1n;
export const G = 2n;

export const COMMITMENT = 1;
export const CHALLENGE = 2;
export const RESPONSE = 3;
export const RESULT = 4;

const DEMO_SEED = "CheckMate Relay Schnorr demo key, v1";

export function modPow(base: bigint, exponent: bigint, modulus: bigint): bigint {
  let result = 1n;
  let b = base % modulus;
  let e = exponent;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % modulus;
    b = (b * b) % modulus;
    e >>= 1n;
  }
  return result;
}

export function inSubgroup(v: bigint): boolean {
  return v > 1n && v < P - 1n && modPow(v, Q, P) === 1n;
}

export function toBytes(v: bigint): Uint8Array {
  let hex = v.toString(16);
  if (hex.length % 2) hex = "0" + hex;
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function fromBytes(bytes: Uint8Array): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}

export function numberFrame(tag: number, v: bigint): Uint8Array {
  const magnitude = toBytes(v);
  const out = new Uint8Array(magnitude.length + 1);
  out[0] = tag;
  out.set(magnitude, 1);
  return out;
}

export function readNumber(tag: number, frame: Uint8Array): bigint {
  if (frame.length < 2 || frame[0] !== tag) {
    throw new Error(`expected frame tag ${tag}, got ${frame.length === 0 ? "an empty frame" : frame[0]}`);
  }
  return fromBytes(frame.subarray(1));
}

/** The demo's public key y = g^x for the fixed demo secret (the same derivation as the Java demo). */
export async function demoPublicKey(): Promise<bigint> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(DEMO_SEED)));
  const x = (fromBytes(digest) % (Q - 1n)) + 1n;
  return modPow(G, x, P);
}

/** 256 random bits from crypto.getRandomValues. */
export function randomChallenge(): bigint {
  return fromBytes(crypto.getRandomValues(new Uint8Array(32)));
}

/** Accepts iff s is in [0, q) and g^s == t * y^c (mod p). */
export function verify(y: bigint, t: bigint, c: bigint, s: bigint): boolean {
  if (s < 0n || s >= Q) return false;
  return modPow(G, s, P) === (t * modPow(y, c, P)) % P;
}
