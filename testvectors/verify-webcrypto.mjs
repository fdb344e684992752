// Checks testvectors/e2e-v1.json with WebCrypto only (globalThis.crypto.subtle), written from
// docs/e2e-protocol.md: a starting point for the browser SDK's tests.
// Run: node testvectors/verify-webcrypto.mjs   (Node >= 20; no dependencies)
import { readFile } from 'node:fs/promises';

const subtle = globalThis.crypto.subtle;
const te = new TextEncoder();
const hex = (s) => Uint8Array.from(s.match(/../g) ?? [], (h) => parseInt(h, 16));
const toHex = (b) => Array.from(new Uint8Array(b), (x) => x.toString(16).padStart(2, '0')).join('');
const cat = (...parts) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
};
const ascii = (s) => te.encode(s);
let failures = 0;
let checks = 0;
const eq = (what, got, want) => {
  checks++;
  const g = typeof got === 'string' ? got : toHex(got);
  if (g !== want) { failures++; console.error(`FAIL ${what}\n  got  ${g}\n  want ${want}`); }
};

// X25519 with a raw private key: WebCrypto imports private keys as PKCS#8 (RFC 8410).
const PKCS8_X25519 = hex('302e020100300506032b656e04220420');
async function x25519(sk, pk) {
  const priv = await subtle.importKey('pkcs8', cat(PKCS8_X25519, sk), { name: 'X25519' }, false, ['deriveBits']);
  const pub = await subtle.importKey('raw', pk, { name: 'X25519' }, false, []);
  return new Uint8Array(await subtle.deriveBits({ name: 'X25519', public: pub }, priv, 256));
}
async function hmac(key, data) {
  const k = await subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return new Uint8Array(await subtle.sign('HMAC', k, data));
}
async function hkdf(salt, ikm, info, len) {
  const k = await subtle.importKey('raw', ikm, 'HKDF', false, ['deriveBits']);
  return new Uint8Array(await subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt, info }, k, 8 * len));
}
const sha256 = async (...parts) => new Uint8Array(await subtle.digest('SHA-256', cat(...parts)));
const u16be = (n) => Uint8Array.of(n >> 8, n & 0xff);
// nonce = 4 zero bytes || u64be(counter)
const nonceOf = (counter) => { const n = new Uint8Array(12); new DataView(n.buffer).setBigUint64(4, BigInt(counter)); return n; };

const v = JSON.parse(await readFile(new URL('./e2e-v1.json', import.meta.url), 'utf8'));

for (const t of v.x25519_rfc7748) {
  if (t.iterations) {
    let k = hex('09'.padEnd(64, '0'));
    let u = k;
    for (let i = 0; i < t.iterations; i++) { const r = await x25519(k, u); u = k; k = r; }
    eq(`${t.name} x${t.iterations}`, k, t.output);
  } else {
    const u = hex(t.u);
    u[31] &= 0x7f; // RFC 7748 decodeUCoordinate (some WebCrypto engines refuse the top bit)
    eq(t.name, await x25519(hex(t.scalar), u), t.output);
  }
}
for (const t of v.hkdf_sha256_rfc5869) {
  const salt = t.salt ? hex(t.salt) : new Uint8Array(32);
  eq(`${t.name} PRK`, await hmac(salt, hex(t.ikm)), t.prk);
  eq(`${t.name} OKM`, await hkdf(salt, hex(t.ikm), hex(t.info), t.length), t.okm);
}

for (const hs of v.handshakes) {
  const { inputs, prover, verifier, derived } = hs;
  const flags = inputs.pairing_secret ? 1 : 0;
  const sid = te.encode(inputs.session_id);
  const pkP = await x25519(hex(inputs.prover_private_key), hex('09'.padEnd(64, '0')));
  const pkV = await x25519(hex(inputs.verifier_private_key), hex('09'.padEnd(64, '0')));
  const helloP = cat(Uint8Array.of(1, 2, 1, flags), pkP);
  const helloV = cat(Uint8Array.of(1, 2, 2, flags), pkV);
  eq(`${hs.name} prover hello`, helloP, prover.hello);
  eq(`${hs.name} verifier hello`, helloV, verifier.hello);
  eq(`${hs.name} prover commit`, cat(Uint8Array.of(1, 1, 1, flags), await sha256(ascii('CheckMate-E2E-v1 commit'), helloP)), prover.commit);
  eq(`${hs.name} verifier commit`, cat(Uint8Array.of(1, 1, 2, flags), await sha256(ascii('CheckMate-E2E-v1 commit'), helloV)), verifier.commit);
  const th = await sha256(ascii('CheckMate-E2E-v1 transcript'), u16be(sid.length), sid, helloP, helloV);
  eq(`${hs.name} TH`, th, derived.transcript_hash);
  const ss = await x25519(hex(inputs.prover_private_key), pkV);
  eq(`${hs.name} shared secret (prover)`, ss, derived.shared_secret);
  eq(`${hs.name} shared secret (verifier)`, await x25519(hex(inputs.verifier_private_key), pkP), derived.shared_secret);
  const salt = inputs.pairing_secret ? hex(inputs.pairing_secret) : new Uint8Array(32);
  eq(`${hs.name} PRK`, await hmac(salt, ss), derived.prk);
  const key = (label, len) => hkdf(salt, ss, cat(ascii('CheckMate-E2E-v1 ' + label), th), len);
  const kP2V = await key('key prover to verifier', 32);
  const kV2P = await key('key verifier to prover', 32);
  const kcP = await key('confirm prover', 32);
  const kcV = await key('confirm verifier', 32);
  const sasBytes = await key('sas', 4);
  eq(`${hs.name} K_p2v`, kP2V, derived.key_prover_to_verifier);
  eq(`${hs.name} K_v2p`, kV2P, derived.key_verifier_to_prover);
  eq(`${hs.name} K_confirm_prover`, kcP, derived.confirm_key_prover);
  eq(`${hs.name} K_confirm_verifier`, kcV, derived.confirm_key_verifier);
  eq(`${hs.name} sas bytes`, sasBytes, derived.sas_bytes);
  const sas = String(new DataView(sasBytes.buffer).getUint32(0) % 1000000).padStart(6, '0');
  eq(`${hs.name} SAS`, sas, derived.sas);
  eq(`${hs.name} prover confirm`, cat(Uint8Array.of(1, 3, 1, flags), await hmac(kcP, cat(ascii('CheckMate-E2E-v1 confirm'), th))), prover.confirm);
  eq(`${hs.name} verifier confirm`, cat(Uint8Array.of(1, 3, 2, flags), await hmac(kcV, cat(ascii('CheckMate-E2E-v1 confirm'), th))), verifier.confirm);
  for (const f of hs.frames) {
    const role = f.sender === 'PROVER' ? 1 : 2;
    const header = new Uint8Array(12);
    header.set([1, 4, role, 0]);
    new DataView(header.buffer).setBigUint64(4, BigInt(f.counter));
    const nonce = nonceOf(f.counter);
    const aad = cat(header, th);
    eq(`${hs.name} frame ${f.sender} #${f.counter} nonce`, nonce, f.nonce);
    eq(`${hs.name} frame ${f.sender} #${f.counter} aad`, aad, f.aad);
    const k = await subtle.importKey('raw', role === 1 ? kP2V : kV2P, 'AES-GCM', false, ['encrypt', 'decrypt']);
    const ct = new Uint8Array(await subtle.encrypt({ name: 'AES-GCM', iv: nonce, additionalData: aad, tagLength: 128 }, k, hex(f.plaintext)));
    eq(`${hs.name} frame ${f.sender} #${f.counter} payload`, cat(header, ct), f.payload);
    const pt = await subtle.decrypt({ name: 'AES-GCM', iv: nonce, additionalData: aad, tagLength: 128 }, k, hex(f.payload).subarray(12));
    eq(`${hs.name} frame ${f.sender} #${f.counter} opens`, new Uint8Array(pt), f.plaintext);
  }
}

if (failures) {
  console.error(`${failures} of ${checks} checks failed`);
  process.exit(1);
}
console.log(`all ${checks} checks passed (rejections are exercised by the Java E2eVectorsTest)`);
