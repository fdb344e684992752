// The page of BrowserTracingIT: joins with #ticket= over #transport= carrying #traceparent= (or
// #traceId=), says hello, waits for the Java peer to terminate, and reports in window.__result.
import { RelayError, joinSession, type TransportChoice } from "../src/index.js";

declare global {
  interface Window { __result?: unknown }
}

const params = new URLSearchParams(location.hash.slice(1));
const status = document.getElementById("status")!;

async function run(): Promise<void> {
  try {
    const session = await joinSession(params.get("ticket") ?? "", {
      endpoint: location.origin,
      transport: (params.get("transport") ?? "websocket") as TransportChoice,
      sessionId: params.get("session") ?? undefined,
      traceparent: params.get("traceparent") ?? undefined,
      tracestate: params.get("tracestate") ?? undefined,
      traceId: params.get("traceId") ?? undefined,
    });
    await session.send(new TextEncoder().encode("hello from the traced page"));
    const end = await session.ended;
    status.textContent = `session ended: ${end.reason}`;
    window.__result = { ok: true, transport: session.transport, reason: end.reason };
  } catch (e) {
    const err = e as RelayError;
    status.textContent = `${err.name}: ${err.message}`;
    window.__result = { ok: false, name: err.name, message: err.message };
  }
}

void run();
