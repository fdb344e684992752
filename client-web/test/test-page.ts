// The page the browser tests open: joins with #ticket= over #transport=, says hello, echoes the
// Java peer's frames until the peer terminates, and reports the outcome in the page and in
// window.__result (read by test/browser.mjs); every line it logs also goes to the console (kept
// across reloads by browser.mjs). With #e2e=<base64url pairing secret> or #e2e=sas the page joins
// with end-to-end encryption and reports the SAS once the channel is secure. The ticket is in the
// URL (its fragment), so reloading the page joins again with it: a new incarnation.
import {
  EndToEndSecurityError, PeerRestartedError, RelayError, decodePairingSecret, joinSession, type TransportChoice,
} from "../src/index.js";

declare global {
  interface Window { __result?: unknown; __echoes?: number }
}

// Parameters come in the fragment, which never leaves the browser (the ticket is a secret).
const params = new URLSearchParams(location.hash.slice(1));
const status = document.getElementById("status")!;
const log = document.getElementById("log")!;
const enc = new TextEncoder();
const dec = new TextDecoder();

function say(line: string): void {
  log.textContent += line + "\n";
  console.log(line);
}

async function run(): Promise<void> {
  const transport = (params.get("transport") ?? "auto") as TransportChoice;
  const e2eParam = params.get("e2e");
  let sas: string | undefined;
  try {
    const session = await joinSession(params.get("ticket") ?? "", {
      endpoint: params.get("endpoint") ?? location.origin,
      transport,
      sessionId: params.get("session") ?? undefined,
      e2e: e2eParam === null ? undefined : e2eParam === "sas" ? {} : { pairingSecret: decodePairingSecret(e2eParam) },
    });
    say(`joined ${session.sessionId} as ${session.role} over ${session.transport}`
      + (session.rejoinedAfterRestart ? " (rejoined after a restart)" : ""));
    // Resume (WebSocket): a lost connection is reopened by the SDK; the test counts it.
    let resumed = 0;
    session.onReconnecting = (cause) => say("reconnecting: " + cause.message);
    session.onResumed = () => {
      resumed++;
      say("resumed");
    };
    if (session.endToEnd) {
      sas = await session.secure;
      say(`end-to-end encrypted; SAS ${sas.slice(0, 3)} ${sas.slice(3)}`);
    }
    await session.send(enc.encode("hello from the browser"));
    const received: string[] = [];
    window.__echoes = 0;
    for (;;) {
      let frame: Uint8Array | undefined;
      try {
        frame = await session.receive();
      } catch (e) {
        if (!(e instanceof PeerRestartedError)) throw e;
        say(`peer restarted: ${e.lostFrames} lost, ${e.framesFromPreviousPeer} received from it`);
        continue;
      }
      if (frame === undefined) break;
      const text = dec.decode(frame);
      received.push(text);
      say("received " + text);
      await session.send(enc.encode("echo:" + text));
      window.__echoes++;
    }
    const end = await session.ended;
    status.textContent = `session ended: ${end.reason} ${end.message}`;
    window.__result = { ok: true, transport: session.transport, received, reason: end.reason, message: end.message, sas, resumed,
      rejoinedAfterRestart: session.rejoinedAfterRestart };
  } catch (e) {
    const err = e as RelayError;
    status.textContent = `${err.name}: ${err.message}`;
    const e2e = err instanceof EndToEndSecurityError ? { check: err.check, reportedByPeer: err.reportedByPeer } : {};
    window.__result = { ok: false, name: err.name, code: err.code, closeCode: err.closeCode, message: err.message, ...e2e };
  }
}

void run();
