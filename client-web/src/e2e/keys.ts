/** Ephemeral X25519 keys and pairing secrets. */
import { EndToEndUnsupportedError } from "./errors.js";
import { subtle } from "./bytes.js";

/** `join(..., { e2e: {...} })`: both participants must use the same pairing secret, or both none. */
export interface EndToEndOptions {
  /**
   * 16 to 1024 bytes (use {@link newPairingSecret}) that both participants received with the
   * invitation, never through the relay. Without one, the users must compare `session.sas`.
   */
  pairingSecret?: Uint8Array;
}


export const MIN_SECRET = 16;
export const MAX_SECRET = 1024;

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
