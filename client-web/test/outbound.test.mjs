// The sending side (Outbound) on its own, with links played by the test: a Terminate written on a
// link that broke before the session ended is written again on the next one, behind the frames sent
// again (the soak found sessions left open when their prover's Terminate went down with a killed
// relay). Run after `npm run build`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Outbound } from "../dist/outbound.js";
import { ResumeBuffer } from "../dist/resume-buffer.js";
import { PLAIN_CODEC } from "../dist/frame-codec.js";

function recordingLink(log) {
  return {
    sendFrame: (seq, payload) => log.push(`frame ${seq} ${new TextDecoder().decode(payload)}`),
    terminate: (reason) => log.push(`terminate ${reason}`),
  };
}

const settle = () => new Promise((r) => setTimeout(r, 10));

test("a Terminate lost with its link is written again on the next link, after the frames sent again", async () => {
  let link;
  const outbound = new Outbound(ResumeBuffer.keeping(16, 1 << 20), PLAIN_CODEC, { link: () => link, sealFailed: () => {} });
  const first = [];
  link = recordingLink(first);
  await outbound.send(new TextEncoder().encode("last"));
  outbound.terminate("done");
  await settle();
  assert.deepEqual(first, ["frame 1 last", "terminate done"]);

  link = undefined; // lost: reconnecting
  const second = [];
  link = recordingLink(second);
  outbound.markResend(); // the peer is present on the new link
  outbound.relinked();
  await settle();
  assert.deepEqual(second, ["frame 1 last", "terminate done"]);

  // Lost again before the end: once more, on the third link (the frame was acknowledged meanwhile).
  outbound.onAck(1n);
  const third = [];
  link = recordingLink(third);
  outbound.relinked();
  await settle();
  assert.deepEqual(third, ["terminate done"]);
});

test("without a Terminate written, a new link carries none", async () => {
  let link;
  const outbound = new Outbound(ResumeBuffer.keeping(16, 1 << 20), PLAIN_CODEC, { link: () => link, sealFailed: () => {} });
  const first = [];
  link = recordingLink(first);
  await outbound.send(new TextEncoder().encode("a"));
  const second = [];
  link = recordingLink(second);
  outbound.relinked();
  await settle();
  assert.deepEqual(second, []);
});
