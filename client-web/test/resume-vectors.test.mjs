// The shared resume cases (testvectors/resume-v1.json, docs/resume.md), which the Java SDK runs too
// (client-sdk ResumeVectorsTest): the pure parts step by step, and every scenario as a whole
// session over a scripted link (the transport seam, src/link.ts), once reading with receive() and
// once with callbacks. Run after `npm run build`: node --test test/*.test.mjs
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { create } from "@bufbuild/protobuf";
import { ResumeBuffer } from "../dist/resume-buffer.js";
import { ACK_DELAY_MS, ACK_EVERY_BYTES, ACK_EVERY_FRAMES, InboundSequencer } from "../dist/inbound-sequencer.js";
import { BACKOFF_BASE_MS, BACKOFF_CAP_MS, ReconnectPolicy } from "../dist/reconnect-policy.js";
import { openSession } from "../dist/client.js";
import { PLAIN_CODEC } from "../dist/frame-codec.js";
import { PeerRestartedError } from "../dist/errors.js";
import { Role, ServerMessageSchema } from "../dist/gen/relay/v1/relay_pb.js";

const v = JSON.parse(await readFile(new URL("../../testvectors/resume-v1.json", import.meta.url), "utf8"));
const enc = new TextEncoder();
const dec = new TextDecoder();
const big = (n) => BigInt(n);

test("the constants are the SDK's", () => {
  assert.equal(v.constants.ackEveryFrames, ACK_EVERY_FRAMES);
  assert.equal(v.constants.ackEveryBytes, ACK_EVERY_BYTES);
  assert.equal(v.constants.ackDelayMs, ACK_DELAY_MS);
  assert.equal(v.constants.backoffBaseMs, BACKOFF_BASE_MS);
  assert.equal(v.constants.backoffCapMs, BACKOFF_CAP_MS);
});

for (const c of v.resumeBuffer) {
  test(`resumeBuffer: ${c.name}`, () => {
    const b = c.keep ? ResumeBuffer.keeping(c.maxFrames, c.maxBytes) : ResumeBuffer.counting();
    for (const s of c.steps) {
      const at = JSON.stringify(s);
      if ("add" in s) b.add(big(s.add), big(s.add), s.bytes, s.application !== false);
      else if ("hasRoom" in s) assert.equal(b.hasRoom(s.hasRoom), s.expect, at);
      else if ("ack" in s) assert.equal(b.onAck(big(s.ack)), s.expectReleased, at);
      else if ("markResend" in s) b.markResend();
      else if ("expectResend" in s) {
        const got = [];
        for (let f; (f = b.nextResend()) !== undefined;) got.push(Number(f));
        assert.deepEqual(got, s.expectResend, at);
      } else if ("clear" in s) assert.equal(b.clear(), s.expectLost, at);
      else if ("expectAcked" in s) assert.equal(b.acked, big(s.expectAcked), at);
      else if ("expectSize" in s) assert.equal(b.size, s.expectSize, at);
      else assert.fail("unknown step " + at);
    }
  });
}

for (const c of v.inbound) {
  test(`inbound: ${c.name}`, () => {
    const q = new InboundSequencer(c.resume);
    for (const s of c.steps) {
      const at = JSON.stringify(s);
      if ("offer" in s) assert.equal(q.offer(big(s.offer)), s.expect, at);
      else if ("expectLastAccepted" in s) assert.equal(q.lastAccepted, big(s.expectLastAccepted), at);
      else if ("reset" in s) q.reset();
      else if ("fence" in s) q.fence();
      else if ("liftFence" in s) q.liftFence();
      else assert.fail("unknown step " + at);
    }
  });
}

for (const c of v.ackPolicy) {
  test(`ackPolicy: ${c.name}`, () => {
    const q = new InboundSequencer(true);
    let seq = 0n;
    for (const s of c.steps) {
      const at = JSON.stringify(s);
      if ("frames" in s) {
        for (let i = 0; i < s.frames; i++) {
          assert.equal(q.offer(++seq), "DELIVER");
          assert.equal(q.delivered(seq, s.bytes), s.expectAck, at);
        }
      } else if ("acked" in s) q.acked();
      else if ("duplicate" in s) assert.equal(InboundSequencer.ackFor(q.offer(seq)), s.expectAck, at);
      else if ("ahead" in s) assert.equal(InboundSequencer.ackFor(q.offer(seq + 2n)), s.expectAck, at);
      else assert.fail("unknown step " + at);
    }
  });
}

for (const c of v.reconnect) {
  test(`reconnect: ${c.name}`, () => {
    let next = 0;
    const p = new ReconnectPolicy(c.graceMs, () => next);
    p.begin(0, c.joinDeadlineSeconds);
    assert.equal(p.window, c.expectWindowMs);
    for (const s of c.steps) {
      const at = JSON.stringify(s);
      if ("atMs" in s) {
        next = s.random;
        assert.equal(p.nextDelayMs(s.atMs), s.expectDelayMs, at);
      } else if ("attemptFailed" in s) p.attemptFailed();
      else if ("expectTarget" in s) assert.equal(p.target, s.expectTarget, at);
      else if ("expectAttempts" in s) assert.equal(p.attempts, s.expectAttempts, at);
      else assert.fail("unknown step " + at);
    }
  });
}

// ---- whole sessions over a scripted link ----

/** Resolves with `p`, or fails after `ms`. */
function within(p, ms, what) {
  let timer;
  return Promise.race([p.finally(() => clearTimeout(timer)), new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error("timed out waiting for " + what)), ms);
  })]);
}

/** An async queue of what one side produced. */
class Queue {
  items = [];
  waiters = [];
  push(x) {
    const w = this.waiters.shift();
    if (w) w(x);
    else this.items.push(x);
  }
  take(ms, what) {
    if (this.items.length > 0) return Promise.resolve(this.items.shift());
    return within(new Promise((resolve) => this.waiters.push(resolve)), ms, what);
  }
}

/** One link as the scripted relay sees it: what the SDK wrote, and the listener to answer it. */
class ScriptedLink {
  transport = "websocket";
  sent = new Queue();
  constructor(listener, incarnation) {
    this.listener = listener;
    this.incarnation = incarnation;
  }
  sendFrame(seq, payload) {
    this.sent.push({ frame: { seq, payload: dec.decode(payload) } });
  }
  sendAck(seq, incarnation) {
    this.sent.push({ ack: { seq, incarnation } });
  }
  terminate(reason) {
    this.sent.push({ terminate: { reason } });
  }
  ready() {
    return Promise.resolve();
  }
  bufferedAmount() {
    return 0;
  }
  close() {}
}

async function runScenario(c, style) {
  const links = new Queue();
  const factory = (listener, incarnation) => {
    const l = new ScriptedLink(listener, incarnation);
    links.push(l);
    return l;
  };
  const resume = { enabled: c.resume !== false, graceMs: 10_000, maxUnackedFrames: c.maxUnackedFrames ?? 1024 };
  const joining = openSession(factory, PLAIN_CODEC, resume);
  const seen = new Queue(); // callback style
  const sends = [];
  let session;
  let link;
  let self = 0n;
  const incarnation = (x) => (x === "self" ? self : big(x));
  const send = (m) => link.listener.message(create(ServerMessageSchema, { kind: m }));
  try {
    for (const s of c.steps) {
      const at = JSON.stringify(s);
      if (s.relay === "joined") {
        link = await links.take(5000, "a join");
        if (self === 0n) {
          assert.notEqual(link.incarnation, 0n, "the Join's incarnation");
          self = link.incarnation;
        } else {
          assert.equal(link.incarnation, self, "a rejoin keeps the incarnation");
        }
        send({ case: "joined", value: {
          sessionId: "s1", role: Role.VERIFIER, peerPresent: s.peerPresent === true,
          limits: { maxFrameBytes: 1024, joinDeadlineSeconds: 30 },
          peerIncarnation: big(s.peerIncarnation ?? 0), replacedIncarnation: big(s.replacedIncarnation ?? 0),
        } });
        if (!session) {
          session = await within(joining, 5000, "the session");
          if (style === "callbacks") {
            session.onFrame = (p) => seen.push(dec.decode(p));
            session.onPeerRestarted = (e) => seen.push(e);
            void session.ended.then((end) => end.error && seen.push(end.error));
          }
        }
      } else if (s.relay === "frame") send({ case: "data", value: { seq: big(s.seq), payload: enc.encode(s.payload) } });
      else if (s.relay === "ack") send({ case: "ack", value: { seq: big(s.seq), incarnation: incarnation(s.incarnation) } });
      else if (s.relay === "peerJoined") send({ case: "peerJoined", value: { role: Role.PROVER, incarnation: big(s.incarnation) } });
      else if (s.relay === "peerLeft") {
        send({ case: "peerLeft", value: { role: Role.PROVER, reconnecting: s.reconnecting === true, incarnation: big(s.incarnation) } });
      } else if (s.relay === "drop") link.listener.closed("UNAVAILABLE", "scripted loss", 1006);
      else if (s.app === "send") {
        for (const p of s.payloads) {
          const r = session.send(enc.encode(p));
          r.catch(() => undefined);
          sends.push(r);
        }
      } else if (s.expect === "sent") {
        for (const want of s.messages) await expectSent(link, want, incarnation);
      } else if (s.expect === "delivered") {
        for (const want of s.items) await expectDelivered(style === "callbacks" ? () => seen.take(5000, at) : () => receive(session), want);
      } else if (s.expect === "noMoreDelivered") {
        const next = style === "callbacks" ? seen.take(200, "nothing") : receive(session, 200);
        await assert.rejects(next, /timed out/, "nothing more delivered");
      } else if (s.expect === "sendsFailed") {
        const outcomes = await Promise.allSettled(sends.map((p) => within(p, 200, "a send").catch((e) => Promise.reject(e))));
        const failed = outcomes.filter((o) => o.status === "rejected" && o.reason instanceof PeerRestartedError).length;
        assert.equal(failed, s.count, at);
      } else if (s.expect === "state") {
        for (const [k, want] of Object.entries(s)) {
          if (k === "expect") continue;
          const get = { reconnecting: () => session.isReconnecting, open: () => session.isOpen,
            peerPresent: () => session.peerPresent, rejoinedAfterRestart: () => session.rejoinedAfterRestart }[k];
          assert.ok(get, "unknown state " + k);
          await within((async () => { while (get() !== want) await new Promise((r) => setTimeout(r, 5)); })(), 5000, `${k} ${want}`);
        }
      } else {
        assert.fail("unknown step " + at);
      }
    }
  } finally {
    session?.close();
  }
}

/** Blocking style: the next frame as text, or what receive rejected with. */
async function receive(session, ms = 5000) {
  try {
    const f = await within(session.receive(), ms, "a frame");
    return f === undefined ? undefined : dec.decode(f);
  } catch (e) {
    if (String(e?.message).startsWith("timed out")) throw e;
    return e;
  }
}

async function expectSent(link, want, incarnation) {
  for (;;) {
    const m = await link.sent.take(5000, JSON.stringify(want));
    if (want.frame && m.frame && m.frame.seq === big(want.frame.seq) && m.frame.payload === want.frame.payload) return;
    if (want.ack && m.ack && m.ack.seq === big(want.ack.seq) && m.ack.incarnation === incarnation(want.ack.incarnation)) return;
    if (want.terminate && m.terminate && m.terminate.reason.startsWith(want.terminate.reasonStartsWith)) return;
    if (m.ack) continue; // batched acks may come between; an expected one is matched above
    assert.fail(`expected the SDK to send ${JSON.stringify(want)} but it sent ${JSON.stringify(m, (_, x) => (typeof x === "bigint" ? String(x) : x))}`);
  }
}

async function expectDelivered(next, want) {
  const got = await next();
  if (typeof want === "string") {
    assert.equal(got, want);
  } else if (want.peerRestarted) {
    assert.ok(got instanceof PeerRestartedError, "expected the restart, got " + got);
    assert.equal(got.lostFrames, want.peerRestarted.lostFrames, "lostFrames");
    assert.equal(got.framesFromPreviousPeer, want.peerRestarted.framesFromPreviousPeer, "framesFromPreviousPeer");
    assert.equal(got.code, "ABORTED");
  } else {
    assert.equal(got?.constructor?.name, want.ended + "Error");
  }
}

for (const c of v.scenarios) {
  test(`scenario, receive(): ${c.name}`, () => runScenario(c, "receive"));
  test(`scenario, callbacks: ${c.name}`, () => runScenario(c, "callbacks"));
}

test("callback style without onPeerRestarted: a restart ends the session (and tells the peer) instead of going on", async () => {
  const links = new Queue();
  const joining = openSession((listener, incarnation) => {
    const l = new ScriptedLink(listener, incarnation);
    links.push(l);
    return l;
  }, PLAIN_CODEC, {});
  const link = await links.take(5000, "a join");
  const send = (m) => link.listener.message(create(ServerMessageSchema, { kind: m }));
  send({ case: "joined", value: { sessionId: "s1", role: Role.VERIFIER, peerPresent: true, peerIncarnation: 1001n } });
  const session = await within(joining, 5000, "the session");
  const frames = [];
  session.onFrame = (p) => frames.push(dec.decode(p));
  send({ case: "data", value: { seq: 1n, payload: enc.encode("a") } });
  send({ case: "peerJoined", value: { role: Role.PROVER, incarnation: 2002n } });
  const end = await within(session.ended, 5000, "the end");
  assert.ok(end.error instanceof PeerRestartedError, String(end.error));
  assert.deepEqual(frames, ["a"]);
  await expectSent(link, { terminate: { reasonStartsWith: "the peer restarted and the application does not handle restarts" } }, () => 0n);
  assert.equal(session.isOpen, false);
});
