// The browser SDK's end-to-end encryption (dist/e2e.js, the E2eCodec of dist/frame-codec.js) against every value and every must-reject
// case of testvectors/e2e-v1.json (docs/e2e-protocol.md §11), with Node's WebCrypto (X25519 needs
// Node >= 20). Run after `npm run build`: node --test test/*.test.mjs
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import {
  E2eHandshake,
  E2eCodec,
  EndToEndSecurityError,
  deriveKeySchedule,
  isCanonicalX25519,
  sasOf,
  decodePairingSecret,
  encodePairingSecret,
  peerReportedError,
} from "../dist/e2e.js";

const v = JSON.parse(await readFile(new URL("../../testvectors/e2e-v1.json", import.meta.url), "utf8"));
const subtle = globalThis.crypto.subtle;
const hex = (s) => Uint8Array.from(s.match(/../g) ?? [], (h) => parseInt(h, 16));
const toHex = (b) => Buffer.from(b).toString("hex");
const role = (name) => (name === "PROVER" ? "prover" : "verifier");

// The deterministic test hook (docs §12): a given private key, imported as PKCS#8 (RFC 8410).
const PKCS8_X25519 = hex("302e020100300506032b656e04220420");
const BASE_POINT = hex("09".padEnd(64, "0"));
async function x25519(sk, u) {
  const priv = await subtle.importKey("pkcs8", Buffer.concat([PKCS8_X25519, sk]), { name: "X25519" }, false, ["deriveBits"]);
  const pub = await subtle.importKey("raw", u, { name: "X25519" }, false, []);
  return new Uint8Array(await subtle.deriveBits({ name: "X25519", public: pub }, priv, 256));
}
async function keysOf(skHex) {
  const sk = hex(skHex);
  const privateKey = await subtle.importKey("pkcs8", Buffer.concat([PKCS8_X25519, sk]), { name: "X25519" }, false, ["deriveBits"]);
  return { privateKey, publicKey: await x25519(sk, BASE_POINT) };
}
const secretOf = (hs) => (hs.inputs.pairing_secret ? hex(hs.inputs.pairing_secret) : undefined);

test("WebCrypto X25519 is available (Node >= 20)", async () => {
  await subtle.generateKey({ name: "X25519" }, false, ["deriveBits"]);
});

test("X25519 RFC 7748 vectors", async () => {
  for (const t of v.x25519_rfc7748) {
    if (t.iterations) {
      let k = BASE_POINT;
      let u = k;
      for (let i = 0; i < t.iterations; i++) {
        const r = await x25519(k, u);
        u = k;
        k = r;
      }
      assert.equal(toHex(k), t.output, `${t.name} x${t.iterations}`);
    } else {
      const u = hex(t.u);
      u[31] &= 0x7f; // decodeUCoordinate masks the top bit (the protocol itself refuses such keys)
      assert.equal(toHex(await x25519(hex(t.scalar), u)), t.output, t.name);
    }
  }
});

test("HKDF-SHA256 RFC 5869 vectors", async () => {
  for (const t of v.hkdf_sha256_rfc5869) {
    const salt = t.salt ? hex(t.salt) : new Uint8Array(32);
    const k = await subtle.importKey("raw", hex(t.ikm), "HKDF", false, ["deriveBits"]);
    const okm = await subtle.deriveBits({ name: "HKDF", hash: "SHA-256", salt, info: hex(t.info) }, k, 8 * t.length);
    assert.equal(toHex(okm), t.okm, t.name);
  }
});

for (const hs of v.handshakes) {
  test(`${hs.name}: both handshakes reproduce every message and derived value`, async () => {
    const { inputs, prover, verifier, derived } = hs;
    const secret = secretOf(hs);
    const p = await E2eHandshake.start(inputs.session_id, "prover", secret, await keysOf(inputs.prover_private_key));
    const q = await E2eHandshake.start(inputs.session_id, "verifier", secret, await keysOf(inputs.verifier_private_key));
    assert.equal(toHex(p.commit), prover.commit);
    assert.equal(toHex(q.commit), verifier.commit);
    const helloP = p.acceptPeerCommit(q.commit);
    const helloV = q.acceptPeerCommit(p.commit);
    assert.equal(toHex(helloP), prover.hello);
    assert.equal(toHex(helloV), verifier.hello);
    assert.equal(toHex(helloP.subarray(4)), prover.public_key);
    const chP = await p.complete(helloV);
    const chV = await q.complete(helloP);
    assert.equal(toHex(chP.confirm), prover.confirm);
    assert.equal(toHex(chV.confirm), verifier.confirm);
    assert.equal(toHex(chP.transcriptHash), derived.transcript_hash);
    assert.equal(chP.sas, derived.sas);
    assert.equal(chV.sas, derived.sas);
    chP.verifyPeerConfirm(chV.confirm);
    chV.verifyPeerConfirm(chP.confirm);

    // The key schedule from the formulas (the channel keeps its keys non-extractable).
    const ss = await x25519(hex(inputs.prover_private_key), hex(verifier.public_key));
    assert.equal(toHex(ss), derived.shared_secret);
    const ks = await deriveKeySchedule(new TextEncoder().encode(inputs.session_id), helloP, helloV, ss, secret);
    assert.equal(toHex(ks.transcriptHash), derived.transcript_hash);
    assert.equal(toHex(ks.prk), derived.prk);
    assert.equal(toHex(ks.keyProverToVerifier), derived.key_prover_to_verifier);
    assert.equal(toHex(ks.keyVerifierToProver), derived.key_verifier_to_prover);
    assert.equal(toHex(ks.confirmKeyProver), derived.confirm_key_prover);
    assert.equal(toHex(ks.confirmKeyVerifier), derived.confirm_key_verifier);
    assert.equal(toHex(ks.sasBytes), derived.sas_bytes);
    assert.equal(sasOf(ks.sasBytes), derived.sas);
    assert.equal(toHex(secret ?? new Uint8Array(32)), derived.hkdf_salt);

    // DATA: sealing reproduces every payload byte for byte; the other side opens it.
    for (const f of hs.frames) {
      const [from, to] = f.sender === "PROVER" ? [chP, chV] : [chV, chP];
      const sealed = await from.seal(hex(f.plaintext));
      assert.equal(toHex(sealed), f.payload, `${f.sender} #${f.counter}`);
      assert.equal(toHex(sealed.subarray(4, 12)), f.nonce.slice(8), "counter = nonce tail");
      assert.equal(toHex(await to.open(hex(f.payload))), f.plaintext);
    }
  });

  test(`${hs.name}: the session layer of both sides interoperates over the vector messages`, async () => {
    const { inputs, prover, verifier } = hs;
    const secret = secretOf(hs);
    const a = new E2eCodec(secret, await keysOf(inputs.prover_private_key));
    const b = new E2eCodec(secret, await keysOf(inputs.verifier_private_key));
    assert.equal(toHex(await a.start(inputs.session_id, "prover")), prover.commit);
    assert.equal(toHex(await b.start(inputs.session_id, "verifier")), verifier.commit);
    const r1 = await b.open(hex(prover.commit));
    assert.equal(toHex(r1.replies[0]), verifier.hello);
    const r2 = await b.open(hex(prover.hello));
    assert.equal(toHex(r2.replies[0]), verifier.confirm);
    assert.equal(b.canSeal, true);
    assert.equal(b.secure, false);
    const r3 = await b.open(hex(prover.confirm));
    assert.equal(r3.becameSecure, true);
    assert.equal(b.sas, hs.derived.sas);
    for (const f of hs.frames.filter((x) => x.sender === "PROVER")) {
      assert.equal(toHex((await b.open(hex(f.payload))).plaintext), f.plaintext);
    }
    assert.ok(a); // a's side is exercised by the handshake test above
  });

  for (const r of hs.rejections) {
    test(`${hs.name}: the verifier rejects ${r.description} with ${r.check}`, async () => {
      const { inputs, prover } = hs;
      assert.equal(r.receiver, "VERIFIER");
      const layer = new E2eCodec(secretOf(hs), await keysOf(inputs.verifier_private_key));
      await layer.start(inputs.session_id, "verifier");
      const steps = [
        ["commit", r.commit ?? prover.commit, r.commit !== undefined],
        ["hello", r.hello ?? prover.hello, r.hello !== undefined],
        ["confirm", r.confirm ?? prover.confirm, r.confirm !== undefined],
      ];
      let failed;
      const deliver = async (payload, mustFail) => {
        try {
          await layer.open(hex(payload));
        } catch (e) {
          assert.ok(e instanceof EndToEndSecurityError, String(e));
          assert.ok(mustFail, `unexpected failure ${e.check}: ${e.message}`);
          failed = e;
          return true;
        }
        assert.ok(!mustFail, "accepted a payload that must be refused");
        return false;
      };
      // Handshake: the last replaced message fails (a replaced COMMIT may match the replaced HELLO);
      // the messages before it pass. Data: delivered in order after the handshake, the first
      // refused frame has the check (for "2 and 3 reordered" that is the second one delivered).
      const lastReplaced = steps.map((s) => s[2]).lastIndexOf(true);
      for (let i = 0; i < steps.length && !failed; i++) {
        if (await deliver(steps[i][1], i === lastReplaced)) break;
      }
      if (!failed) {
        const data = r.data;
        assert.ok(data && data.length > 0, "a rejection without replaced messages has data");
        for (let i = 0; i < data.length && !failed; i++) {
          try {
            await layer.open(hex(data[i]));
          } catch (e) {
            assert.ok(e instanceof EndToEndSecurityError, String(e));
            failed = e;
          }
        }
      }
      assert.ok(failed, "nothing was rejected");
      assert.equal(failed.check, r.check, failed.message);
      assert.equal(failed.code, "DATA_LOSS");
      // Messages never carry secrets.
      for (const s of [hs.derived.shared_secret, hs.derived.prk, hs.derived.key_prover_to_verifier, inputs.pairing_secret ?? "--"]) {
        assert.ok(!failed.message.includes(s));
      }
      // After a failed DATA frame the receiving direction stays dead.
      if (r.data) {
        const next = hs.frames.find((f) => f.sender === "PROVER");
        await assert.rejects(layer.open(hex(next.payload)), (e) => e.check === "CLOSED" || e.check === "COUNTER_MISMATCH" || e.check === "UNEXPECTED_MESSAGE");
      }
    });
  }
}

test("protocol details: second CONFIRM, DATA before CONFIRM, canonical keys, SAS padding, secret encoding", async () => {
  const hs = v.handshakes[0];
  const { inputs, prover } = hs;
  const layer = new E2eCodec(secretOf(hs), await keysOf(inputs.verifier_private_key));
  await layer.start(inputs.session_id, "verifier");
  await layer.open(hex(prover.commit));
  await layer.open(hex(prover.hello));
  await assert.rejects(layer.open(hex(hs.frames[0].payload)), (e) => e.check === "UNEXPECTED_MESSAGE");

  const l2 = new E2eCodec(secretOf(hs), await keysOf(inputs.verifier_private_key));
  await l2.start(inputs.session_id, "verifier");
  await l2.open(hex(prover.commit));
  await l2.open(hex(prover.hello));
  await l2.open(hex(prover.confirm));
  await assert.rejects(l2.open(hex(prover.confirm)), (e) => e.check === "UNEXPECTED_MESSAGE");
  await assert.rejects(l2.open(hex(prover.commit)), (e) => e.check === "UNEXPECTED_MESSAGE");
  await assert.rejects(l2.open(new Uint8Array([1, 9, 1, 0])), (e) => e.check === "MALFORMED");
  await assert.rejects(l2.open(new Uint8Array([1, 4])), (e) => e.check === "MALFORMED");

  assert.equal(isCanonicalX25519(hex("ec".padEnd(62, "f") + "7f")), true); // p - 1
  assert.equal(isCanonicalX25519(hex("ed".padEnd(62, "f") + "7f")), false); // p
  assert.equal(sasOf(Uint8Array.of(0, 0, 0, 7)), "000007");
  const secret = hex(inputs.pairing_secret);
  assert.deepEqual(decodePairingSecret(encodePairingSecret(secret)), secret);
  assert.equal(encodePairingSecret(Uint8Array.of(0xfb, 0xff)), "-_8"); // base64url, no padding (Java's encoder)
  const peer = peerReportedError("e2e: KEY_CONFIRMATION_FAILED");
  assert.equal(peer.check, "KEY_CONFIRMATION_FAILED");
  assert.equal(peer.reportedByPeer, true);
  await assert.rejects(E2eHandshake.start("s", "prover", new Uint8Array(15)), RangeError);
});
