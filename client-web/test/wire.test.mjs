// Unit tests of the SDK's encoding against bytes the Java side produces (protobuf-java), and of
// the gRPC-Web framing. Run after `npm run build`: node --test test/*.test.mjs
import { test } from "node:test";
import assert from "node:assert/strict";
import { encodeData, encodeJoin, encodeTerminate, decodeServerMessage, encodeSendRequest } from "../dist/wire.js";
import { FrameParser, frame, parseTrailers } from "../dist/grpcweb-framing.js";
import { statusForCloseCode, errorForStatus, TicketRejectedError, RoleTakenError, SessionEndedError } from "../dist/index.js";

const hex = (b) => Buffer.from(b).toString("hex");

test("ClientMessage bytes match protobuf-java", () => {
  // ClientMessage.newBuilder().setData(Frame.newBuilder().setSeq(1).setPayload("hi")).build().toByteArray()
  assert.equal(hex(encodeData(1n, new TextEncoder().encode("hi"))), "12060801120268" + "69");
  // setJoin(Join.newBuilder().setTicket("t"))
  assert.equal(hex(encodeJoin("t")), "0a030a0174");
  // setTerminate(Terminate.newBuilder().setReason("ok"))
  assert.equal(hex(encodeTerminate("ok")), "1a040a026f6b");
  // SendRequest{session_id "s", send_token "k", frames [{seq 2, payload 0x01}]}
  assert.equal(hex(encodeSendRequest("s", "k", [{ seq: 2n, payload: new Uint8Array([1]) }])), "0a0173120" + "16b1a05080212" + "0101");
});

test("ServerMessage from protobuf-java bytes", () => {
  // ServerMessage{data{seq 7, payload "x"}} and ServerMessage{session_ended{reason TERMINATED, message "m", ended_by VERIFIER}}
  const data = decodeServerMessage(Buffer.from("1a05080712017" + "8", "hex"));
  assert.equal(data.kind.case, "data");
  assert.equal(data.kind.value.seq, 7n);
  const ended = decodeServerMessage(Buffer.from("2a07080112016d1802", "hex"));
  assert.equal(ended.kind.case, "sessionEnded");
  assert.equal(ended.kind.value.message, "m");
});

test("gRPC-Web framing round trip and trailers", () => {
  const parser = new FrameParser();
  const trailers = Buffer.from("grpc-status:16\r\ngrpc-message:a%20b\r\n");
  const body = Buffer.concat([frame(new Uint8Array([1, 2, 3])), Buffer.from([0x80, 0, 0, 0, trailers.length]), trailers]);
  const parts = [...parser.push(body.subarray(0, 4)), ...parser.push(body.subarray(4))];
  assert.equal(parts.length, 2);
  assert.deepEqual([...parts[0].bytes], [1, 2, 3]);
  assert.deepEqual(parts[1], { kind: "trailers", status: 16, message: "a b" });
  assert.deepEqual(parseTrailers("grpc-status:0\r\n"), { kind: "trailers", status: 0, message: "" });
});

test("close codes map to typed errors", () => {
  assert.ok(errorForStatus(statusForCloseCode(4401, false), "bad") instanceof TicketRejectedError);
  assert.ok(errorForStatus(statusForCloseCode(4409, false), "taken", 4409, false) instanceof RoleTakenError);
  assert.ok(errorForStatus(statusForCloseCode(4410, true), "ended") instanceof SessionEndedError);
  assert.equal(statusForCloseCode(1012, true), "UNAVAILABLE");
  assert.equal(statusForCloseCode(4503, false), "UNAVAILABLE");
});
