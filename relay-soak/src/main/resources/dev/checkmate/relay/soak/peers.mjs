// Browser-SDK participants for the soak harness: the real TypeScript SDK (client-web/dist) run in
// Node.js, over WebSocket (Node's WebSocket: --experimental-websocket on Node 20) and gRPC-Web
// (fetch). The Java harness decides everything; this process only joins, sends what it is told and
// reports what the SDK reports. One line per message, fields separated by tabs.
//
// Usage: node --experimental-websocket peers.mjs <path of client-web/dist/index.js>
//
// In (from the harness):
//   J id endpoint transport sessionId slowMs ticket   join (transport: websocket | grpc-web)
//   S id payload                                      send one frame (ASCII text)
//   T id reason                                       terminate
//   C id                                              close without terminating
// Out (to the harness):
//   joined id ms peerPresent | joinfail id name code message
//   peer id 0|1 | f id payload | rc id message | rs id ms | busy id 0|1 | dropped id n
//   end id reason errorName code message
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";

const sdk = await import(pathToFileURL(process.argv[2]).href);
const peers = new Map();
const decoder = new TextDecoder();
const encoder = new TextEncoder();
/** Sends queued in the SDK before a participant counts as busy (the harness then holds back). */
const BUSY_AT = 8;

let pending = [];
function emit(...fields) {
  pending.push(fields.map((f) => String(f ?? "").replace(/[\t\n\r]/g, " ")).join("\t"));
  if (pending.length === 1) setImmediate(flush);
}
function flush() {
  if (pending.length === 0) return;
  const out = pending.join("\n") + "\n";
  pending = [];
  process.stdout.write(out);
}

function errorFields(e) {
  return [e?.name ?? "Error", e?.code ?? "", e?.message ?? String(e)];
}

async function join(id, endpoint, transport, sessionId, slowMs, ticket) {
  const started = performance.now();
  let session;
  try {
    session = await sdk.joinSession(ticket, { endpoint, transport, sessionId });
  } catch (e) {
    emit("joinfail", id, ...errorFields(e));
    return;
  }
  const peer = { session, queued: 0, busy: false, chain: Promise.resolve(), lostAt: 0, dropped: 0 };
  peers.set(id, peer);
  session.onReconnecting = (cause) => {
    peer.lostAt = performance.now();
    emit("rc", id, cause?.message ?? "");
  };
  session.onResumed = () => emit("rs", id, (performance.now() - peer.lostAt).toFixed(1));
  session.onPeer = (present) => emit("peer", id, present ? 1 : 0);
  session.ended.then((end) => {
    emit("end", id, end.reason, end.error?.name ?? "", end.error?.code ?? "", end.message ?? "");
    peers.delete(id);
  });
  emit("joined", id, (performance.now() - started).toFixed(1), session.peerPresent ? 1 : 0);
  if (slowMs > 0) {
    // A slow reader: takes one frame, then dawdles (the SDK acknowledges only what it took).
    void (async () => {
      try {
        for (;;) {
          const frame = await session.receive();
          if (frame === undefined) return;
          emit("f", id, decoder.decode(frame));
          await new Promise((r) => setTimeout(r, slowMs));
        }
      } catch {
        // the end is reported by session.ended
      }
    })();
  } else {
    session.onFrame = (frame) => emit("f", id, decoder.decode(frame));
  }
}

function send(id, payload) {
  const peer = peers.get(id);
  if (!peer) {
    emit("dropped", id, 1);
    return;
  }
  peer.queued++;
  if (!peer.busy && peer.queued >= BUSY_AT) {
    peer.busy = true;
    emit("busy", id, 1);
  }
  const bytes = encoder.encode(payload);
  peer.chain = peer.chain
    .then(() => peer.session.send(bytes))
    .catch(() => emit("dropped", id, 1))
    .then(() => {
      peer.queued--;
      if (peer.busy && peer.queued === 0) {
        peer.busy = false;
        emit("busy", id, 0);
      }
    });
}

const input = createInterface({ input: process.stdin, crlfDelay: Infinity });
input.on("line", (line) => {
  const f = line.split("\t");
  const id = f[1];
  switch (f[0]) {
    case "J":
      void join(id, f[2], f[3], f[4], Number(f[5]), f[6]);
      break;
    case "S":
      send(id, f[2]);
      break;
    case "T": {
      const peer = peers.get(id);
      if (peer) peer.chain = peer.chain.then(() => peer.session.terminate(f[2] ?? "")).catch(() => undefined);
      break;
    }
    case "C":
      peers.get(id)?.session.close();
      break;
    default:
      break;
  }
});
input.on("close", () => {
  flush();
  process.exit(0);
});
