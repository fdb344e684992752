/**
 * How frames, a peer restart and the end reach the page, in the order the session produced them:
 * through `receive()` / `for await` (a queue), or an `onFrame` callback (the Java SDK's Delivery:
 * BlockingInbox / ListenerDelivery). A frame counts as delivered, and may be acknowledged, only when
 * the page has it: the callback returned, or `receive()` handed it over.
 */
import type { PeerRestartedError, RelayError } from "./errors.js";

type Item =
  | { kind: "frame"; payload: Uint8Array; seq: bigint; delivered: () => void }
  | { kind: "restart"; error: PeerRestartedError };

interface Waiter {
  resolve: (v: IteratorResult<Uint8Array>) => void;
  reject: (e: unknown) => void;
}

/** What became of a restart handed to {@link Delivery.peerRestarted}. */
export type RestartOutcome = "reported" | "unhandled";

export class Delivery {
  private readonly queue: Item[] = [];
  private readonly waiters: Waiter[] = [];
  private frameCallback?: (payload: Uint8Array, seq: bigint) => void;
  private end?: { error: RelayError | null };
  /** Called for a restart in the callback style (`session.onPeerRestarted`). */
  restartCallback?: (e: PeerRestartedError) => void;
  /** The callback style has no handler for a restart that was queued before `onFrame` was set. */
  onUnhandledRestart?: (e: PeerRestartedError) => void;

  /** One frame from the peer, in order, exactly once; `delivered` runs once the page has it. */
  frame(payload: Uint8Array, seq: bigint, delivered: () => void): void {
    if (this.frameCallback) {
      this.frameCallback(payload, seq);
      delivered();
      return;
    }
    const w = this.waiters.shift();
    if (w) {
      delivered();
      w.resolve({ value: payload, done: false });
    } else {
      this.queue.push({ kind: "frame", payload, seq, delivered });
    }
  }

  /** The peer restarted: reported in order, or "unhandled" (a callback style without a restart handler). */
  peerRestarted(error: PeerRestartedError): RestartOutcome {
    if (this.restartCallback) {
      this.restartCallback(error);
      return "reported";
    }
    if (this.frameCallback) return "unhandled";
    const w = this.waiters.shift();
    if (w) w.reject(error);
    else this.queue.push({ kind: "restart", error });
    return "reported";
  }

  /** The session is over: waiting readers get the end after what is queued. */
  ended(error: RelayError | null): void {
    this.end = { error };
    if (this.queue.length === 0) {
      for (const w of this.waiters.splice(0)) {
        if (error) w.reject(error);
        else w.resolve({ value: undefined, done: true });
      }
    }
  }

  /** The next frame (receive / for await). */
  next(): Promise<IteratorResult<Uint8Array>> {
    const head = this.queue.shift();
    if (head?.kind === "frame") {
      head.delivered();
      return Promise.resolve({ value: head.payload, done: false });
    }
    if (head?.kind === "restart") return Promise.reject(head.error);
    if (this.end) {
      return this.end.error ? Promise.reject(this.end.error) : Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Callback style: every frame goes to `callback` (what is queued first), not to receive(). */
  set onFrame(callback: ((payload: Uint8Array, seq: bigint) => void) | undefined) {
    this.frameCallback = callback;
    if (!callback) return;
    for (const item of this.queue.splice(0)) {
      if (item.kind === "frame") {
        callback(item.payload, item.seq);
        item.delivered();
      } else if (this.restartCallback) {
        this.restartCallback(item.error);
      } else {
        this.onUnhandledRestart?.(item.error);
        return;
      }
    }
  }
}
