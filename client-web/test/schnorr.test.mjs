// The demo verifier's arithmetic against an honest and a lying prover computed here.
import { test } from "node:test";
import assert from "node:assert/strict";
import { build } from "esbuild";

const out = await build({ entryPoints: ["demo/schnorr.ts"], bundle: true, format: "esm", write: false });
const s = await import("data:text/javascript;base64," + Buffer.from(out.outputFiles[0].text).toString("base64"));

test("an honest proof verifies and a wrong secret does not", async () => {
  const y = await s.demoPublicKey();
  assert.ok(s.inSubgroup(y));
  const x = (s.fromBytes(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode("CheckMate Relay Schnorr demo key, v1")))) % (s.Q - 1n)) + 1n;
  const r = 123456789n;
  const t = s.modPow(s.G, r, s.P);
  const c = s.randomChallenge();
  assert.ok(s.verify(y, t, c, (r + c * x) % s.Q));
  assert.ok(!s.verify(y, t, c, (r + c * (x + 1n)) % s.Q));
  assert.equal(s.readNumber(s.CHALLENGE, s.numberFrame(s.CHALLENGE, c)), c);
  // Java's BigInteger.toByteArray may add a leading zero byte: still the same number.
  assert.equal(s.readNumber(1, new Uint8Array([1, 0, 0xff])), 255n);
});
