// The browser as the Schnorr verifier, the Java prover on the other side of the relay.
import { RelayError, joinSession, type TransportChoice } from "../src/index.js";
import {
  CHALLENGE, COMMITMENT, RESPONSE, RESULT, demoPublicKey, inSubgroup, numberFrame, randomChallenge, readNumber, verify,
} from "./schnorr.js";

const $ = (id: string) => document.getElementById(id) as HTMLInputElement;
const log = document.getElementById("log")!;
const say = (line: string) => (log.textContent += line + "\n");

// The ticket may come in the fragment (never sent to a server): demo/#ticket=...
const fragment = new URLSearchParams(location.hash.slice(1));
if (fragment.get("ticket")) $("ticket").value = fragment.get("ticket")!;
$("endpoint").value = fragment.get("endpoint") ?? location.origin;
$("transport").value = fragment.get("transport") ?? "auto";

async function run(): Promise<void> {
  log.textContent = "";
  const status = document.getElementById("status")!;
  try {
    const y = await demoPublicKey();
    const session = await joinSession($("ticket").value.trim(), {
      endpoint: $("endpoint").value.trim(),
      transport: $("transport").value as TransportChoice,
    });
    say(`Joined session ${session.sessionId} as ${session.role} over ${session.transport}.`);
    if (!session.peerPresent) say("Waiting for the prover…");
    const t = readNumber(COMMITMENT, (await session.receive())!);
    say("Received commitment t.");
    if (!inSubgroup(t)) throw new Error("the commitment is not an element of the group");
    const c = randomChallenge();
    await session.send(numberFrame(CHALLENGE, c));
    say("Sent challenge c (256 random bits).");
    const s = readNumber(RESPONSE, (await session.receive())!);
    say("Received response s; checking g^s == t·y^c mod p…");
    const ok = verify(y, t, c, s);
    await session.send(new Uint8Array([RESULT, ok ? 1 : 0]));
    await session.terminate(ok ? "proof verified" : "proof rejected");
    status.textContent = ok ? "✔ proof verified" : "✘ proof rejected";
    status.className = ok ? "ok" : "bad";
    (window as { __result?: unknown }).__result = { ok, transport: session.transport };
  } catch (e) {
    const err = e as RelayError;
    status.textContent = `${err.name}: ${err.message}`;
    status.className = "bad";
    (window as { __result?: unknown }).__result = { ok: false, name: err.name, message: err.message };
  }
}

document.getElementById("verify")!.addEventListener("click", () => void run());
if (fragment.get("autostart") === "1") void run();
