// Unit tests of the W3C trace context a join sends (src/trace.ts). Run after `npm run build`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { fromBinary } from "@bufbuild/protobuf";
import { traceContext } from "../dist/index.js";
import { traceHeaders } from "../dist/trace.js";
import { encodeJoin } from "../dist/wire.js";
import { ClientMessageSchema } from "../dist/gen/relay/v1/relay_pb.js";

const TP = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

test("no trace options: nothing is sent", () => {
  assert.equal(traceContext({}), undefined);
  assert.deepEqual(traceHeaders(undefined), {});
  // Join without trace context: the same bytes as before the fields existed (protobuf-java: setTicket("t")).
  assert.equal(Buffer.from(encodeJoin("t")).toString("hex"), "0a030a0174");
});

test("a traceparent (and tracestate) is validated and sent as headers and in the Join", () => {
  const t = traceContext({ traceparent: TP, tracestate: "vendor=abc" });
  assert.deepEqual(t, { traceparent: TP, tracestate: "vendor=abc" });
  assert.deepEqual(traceHeaders(t), { traceparent: TP, tracestate: "vendor=abc" });
  const join = fromBinary(ClientMessageSchema, encodeJoin("ticket", t)).kind.value;
  assert.equal(join.ticket, "ticket");
  assert.equal(join.traceparent, TP);
  assert.equal(join.tracestate, "vendor=abc");
  // An over-long tracestate is dropped, the traceparent kept.
  assert.deepEqual(traceContext({ traceparent: TP, tracestate: "x".repeat(600) }), { traceparent: TP });
});

test("a trace id alone becomes a sampled traceparent with a random parent span id", () => {
  const t = traceContext({ traceId: "4BF92F3577B34DA6A3CE929D0E0E4736" });
  assert.match(t.traceparent, /^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
  assert.notEqual(t.traceparent.split("-")[2], "0000000000000000");
  assert.equal(traceContext({ traceparent: TP, traceId: "1".repeat(32) }).traceparent, TP);
});

test("malformed values are refused before anything is sent", () => {
  for (const bad of ["", "00-123-456-01", "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    "00-00000000000000000000000000000000-00f067aa0ba902b7-01", "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
    "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"]) {
    if (bad === "") {
      assert.equal(traceContext({ traceparent: bad }), undefined);
    } else {
      assert.throws(() => traceContext({ traceparent: bad }), TypeError, bad);
    }
  }
  assert.throws(() => traceContext({ traceId: "xyz" }), TypeError);
  assert.throws(() => traceContext({ traceId: "0".repeat(32) }), TypeError);
});
