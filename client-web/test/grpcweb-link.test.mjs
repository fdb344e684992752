// The gRPC-Web link against a scripted relay (a stand-in for fetch: the Receive stream and each
// Send are answered by the test), for what only shows in timing: a resend after the peer re-paired
// and a Send refused because the relay no longer knows the Receive stream. Run after `npm run build`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { GrpcWebLink, TOKEN_LOST_WAIT_MS } from "../dist/grpcweb.js";
import { frame } from "../dist/grpcweb-framing.js";
import { SendRequestSchema, SendResponseSchema, ServerMessageSchema, EndReason } from "../dist/gen/relay/v1/relay_pb.js";

/** A relay played by the test: it holds the Receive stream open and answers each Send with `onSend`. */
function scriptedRelay(onSend) {
  let receive;
  const sends = [];
  const fetch = async (url, init) => {
    if (url.endsWith("/Receive")) {
      const body = new ReadableStream({ start: (c) => (receive = c) });
      init.signal?.addEventListener("abort", () => receive.error(new DOMException("aborted", "AbortError")));
      return new Response(body, { status: 200, headers: { "content-type": "application/grpc-web+proto" } });
    }
    const bytes = new Uint8Array(await new Response(init.body).arrayBuffer());
    const request = fromBinary(SendRequestSchema, bytes.slice(5));
    sends.push(request);
    const answer = await onSend(request);
    const parts = answer.status === 0 ? [frame(toBinary(SendResponseSchema, create(SendResponseSchema, { ackedSeq: answer.acked })))] : [];
    parts.push(trailers(answer.status, answer.message ?? ""));
    return new Response(concat(parts), { status: 200, headers: { "content-type": "application/grpc-web+proto" } });
  };
  return {
    fetch,
    sends,
    receiving: () => receive !== undefined,
    push(message) {
      receive.enqueue(frame(toBinary(ServerMessageSchema, create(ServerMessageSchema, message))));
    },
    end(status, message = "") {
      receive.enqueue(trailers(status, message));
      receive.close();
    },
  };
}

function trailers(status, message) {
  const text = new TextEncoder().encode(`grpc-status:${status}\r\ngrpc-message:${encodeURIComponent(message)}\r\n`);
  const out = new Uint8Array(5 + text.length);
  out[0] = 0x80;
  new DataView(out.buffer).setUint32(1, text.length);
  out.set(text, 5);
  return out;
}

function concat(parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let i = 0;
  for (const p of parts) {
    out.set(p, i);
    i += p.length;
  }
  return out;
}

function listener() {
  const events = [];
  let resolveDone;
  const done = new Promise((r) => (resolveDone = r));
  return {
    events,
    done,
    message: (m) => events.push(m.kind.case),
    closed(code, message) {
      events.push(`closed ${code}`);
      resolveDone({ code, message });
    },
    unreachable: (message) => resolveDone({ code: "unreachable", message }),
  };
}

const payload = (s) => new TextEncoder().encode(s);
const until = async (condition) => {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(condition(), "timed out");
};

/** A link on the scripted relay, past Joined (send token "token-1"). */
async function joined(relay, l) {
  const originalFetch = globalThis.fetch;
  globalThis.fetch = relay.fetch;
  const restore = () => (globalThis.fetch = originalFetch);
  try {
    const link = new GrpcWebLink("http://relay.test", "ticket", "sid", l, 64 * 1024, undefined, 7n);
    await until(relay.receiving);
    relay.push({ kind: { case: "joined", value: { sessionId: "sid", sendToken: "token-1", peerPresent: true } } });
    await until(() => l.events.includes("joined"));
    return { link, restore };
  } catch (e) {
    restore();
    throw e;
  }
}

test("frames the relay already accepted go out again marked resend after a re-pairing, and only then", async () => {
  const relay = scriptedRelay(async (r) => ({ status: 0, acked: r.frames.length ? r.frames[r.frames.length - 1].seq : 0n }));
  const l = listener();
  const { link, restore } = await joined(relay, l);
  try {
    link.sendFrame(1n, payload("a"));
    link.sendFrame(2n, payload("b"));
    link.sendFrame(3n, payload("c"));
    await until(() => relay.sends.flatMap((s) => s.frames).some((f) => f.seq === 3n));
    const before = relay.sends.length;
    assert.ok(relay.sends.every((s) => !s.resend), "nothing was sent again yet");
    // The peer re-paired having acknowledged frame 1: the session hands over 2 and 3 again, then 4.
    link.sendFrame(2n, payload("b"));
    link.sendFrame(3n, payload("c"));
    link.sendFrame(4n, payload("d"));
    await until(() => relay.sends.flatMap((s) => s.frames).some((f) => f.seq === 4n));
    const after = relay.sends.slice(before);
    assert.equal(after[0].resend, true);
    assert.equal(after[0].frames[0].seq, 2n);
    assert.ok(after.slice(1).every((s) => !s.resend), "only the Send that goes back is marked");
    assert.deepEqual(after.flatMap((s) => s.frames).map((f) => f.seq), [2n, 3n, 4n]);
  } finally {
    link.close();
    restore();
  }
});

test("a Send refused for an unknown token leaves the verdict to the Receive stream: a clean end stays clean", async () => {
  const relay = scriptedRelay(async () => ({ status: 9, message: "no live Receive stream for this send token" }));
  const l = listener();
  const { link, restore } = await joined(relay, l);
  try {
    link.sendAck(5n, 3n); // in flight when the peer terminates
    await until(() => relay.sends.length === 1);
    relay.push({ kind: { case: "sessionEnded", value: { reason: EndReason.TERMINATED, message: "done" } } });
    relay.end(0);
    const closed = await l.done;
    assert.equal(closed.code, "OK");
    assert.deepEqual(l.events, ["joined", "sessionEnded", "closed OK"]);
  } finally {
    restore();
  }
});

test("a Send refused for an unknown token while the Receive stream says nothing: the link is lost (resume)", async () => {
  const relay = scriptedRelay(async () => ({ status: 9, message: "no live Receive stream for this send token" }));
  const l = listener();
  const { link, restore } = await joined(relay, l);
  try {
    const t0 = Date.now();
    link.sendFrame(1n, payload("a"));
    const closed = await l.done;
    assert.equal(closed.code, "UNAVAILABLE");
    assert.match(closed.message, /no longer knows this Receive stream/);
    assert.ok(Date.now() - t0 >= TOKEN_LOST_WAIT_MS - 50, "it waited for the Receive stream first");
  } finally {
    restore();
  }
});
