// The page the browser test opens: joins with ?ticket= over ?transport=, says hello, echoes the
// Java peer's frames until the peer terminates, and reports the outcome in the page and in
// window.__result (read by test/browser.mjs).
import { RelayError, joinSession, type TransportChoice } from "../src/index.js";

declare global {
  interface Window { __result?: unknown }
}

// Parameters come in the fragment, which never leaves the browser (the ticket is a secret).
const params = new URLSearchParams(location.hash.slice(1));
const status = document.getElementById("status")!;
const log = document.getElementById("log")!;
const enc = new TextEncoder();
const dec = new TextDecoder();

function say(line: string): void {
  log.textContent += line + "\n";
}

async function run(): Promise<void> {
  const transport = (params.get("transport") ?? "auto") as TransportChoice;
  try {
    const session = await joinSession(params.get("ticket") ?? "", {
      endpoint: params.get("endpoint") ?? location.origin,
      transport,
      sessionId: params.get("session") ?? undefined,
    });
    say(`joined ${session.sessionId} as ${session.role} over ${session.transport}`);
    await session.send(enc.encode("hello from the browser"));
    const received: string[] = [];
    for await (const frame of session) {
      const text = dec.decode(frame);
      received.push(text);
      say("received " + text);
      await session.send(enc.encode("echo:" + text));
    }
    const end = await session.ended;
    status.textContent = `session ended: ${end.reason} ${end.message}`;
    window.__result = { ok: true, transport: session.transport, received, reason: end.reason, message: end.message };
  } catch (e) {
    const err = e as RelayError;
    status.textContent = `${err.name}: ${err.message}`;
    window.__result = { ok: false, name: err.name, code: err.code, closeCode: err.closeCode, message: err.message };
  }
}

void run();
