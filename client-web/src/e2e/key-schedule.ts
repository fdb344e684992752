/** The key schedule of a completed handshake (docs/e2e-protocol.md §6) and the SAS (§8). */
import { buf, cat, hmac, sha256, subtle, te } from "./bytes.js";
import { LABEL_TRANSCRIPT, PREFIX } from "./wire.js";

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
