/**
 * The sending side of a session (the Java SDK's Outbound): the page's payloads (and a Terminate
 * behind them) waiting in order, the end-to-end handshake messages that pass them, the numbering,
 * and the {@link ResumeBuffer} of what the peer has not acknowledged.
 *
 * Write order ({@link Outbound.pump}): frames to send again after a re-pairing (exact bytes,
 * original seq), then handshake messages, then queued payloads — each numbered and sealed only when
 * written, so sequence order is wire order, and only while the resume buffer has room
 * (back-pressure) and the codec can seal (DATA only after our CONFIRM). Sealing is asynchronous
 * (WebCrypto): one pump runs at a time.
 */
import type { FrameCodec } from "./frame-codec.js";
import type { Link } from "./link.js";
import type { ResumeBuffer } from "./resume-buffer.js";

type Queued =
  | { kind: "frame"; payload: Uint8Array; resolve: () => void; reject: (e: unknown) => void }
  | { kind: "terminate"; reason: string };

/** Where frames go, and whether they may go now. */
export interface OutboundTarget {
  /** The live link, or undefined while there is none (reconnecting, ended). */
  link(): Link | undefined;
  /** Sealing failed: the session must end. */
  sealFailed(e: unknown): void;
}

export type SentFrame = { seq: bigint; payload: Uint8Array };

export class Outbound {
  private readonly queue: Queued[] = [];
  private readonly handshakes: Uint8Array[] = [];
  private nextSeq = 1n;
  private pumping = false;
  private again = false;
  /** The Terminate written, until the session ends: written again on the next link if this one breaks first. */
  private terminateWritten: string | undefined;

  constructor(
    private readonly sent: ResumeBuffer<SentFrame>,
    private readonly codec: FrameCodec,
    private readonly target: OutboundTarget,
  ) {}

  /** Queues a payload; resolves once it is written, rejects if it is dropped (restart, end). */
  send(payload: Uint8Array): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ kind: "frame", payload, resolve, reject });
      this.pump();
    });
  }

  /** Queues a Terminate behind everything queued before it. */
  terminate(reason: string): void {
    this.queue.push({ kind: "terminate", reason });
    this.pump();
  }

  /** Handshake payloads (COMMIT, HELLO, CONFIRM) to write before any queued payload. */
  handshake(payloads: Uint8Array[]): void {
    this.handshakes.push(...payloads);
    this.pump();
  }

  /** The peer acknowledged our frames up to `seq`: room for more. */
  onAck(seq: bigint): void {
    this.sent.onAck(seq);
    this.pump();
  }

  /** After a re-pairing: every unacknowledged frame goes out again first. */
  markResend(): void {
    this.sent.markResend();
  }

  /**
   * On a new link after a lost one: a Terminate already written may have been lost with the old
   * link (or between relay nodes) — the relay ended nothing, since the session resumed — so it is
   * written again, behind whatever is sent again. Terminating is idempotent at the relay.
   */
  relinked(): void {
    if (this.terminateWritten !== undefined && !this.queue.some((q) => q.kind === "terminate")) {
      this.queue.push({ kind: "terminate", reason: this.terminateWritten });
      this.pump();
    }
  }

  /**
   * The peer restarted: what it never acknowledged and what is still queued is dropped and
   * counted, handshake messages of the old pairing too, and numbering starts at 1. A queued
   * Terminate stays. Returns the lost count and the rejecters of the dropped sends.
   */
  restart(): { lostFrames: number; dropped: Array<(e: unknown) => void> } {
    const dropped: Array<(e: unknown) => void> = [];
    for (let i = 0; i < this.queue.length;) {
      const q = this.queue[i];
      if (q.kind === "frame") {
        dropped.push(q.reject);
        this.queue.splice(i, 1);
      } else {
        i++;
      }
    }
    const lostFrames = this.sent.clear() + dropped.length;
    this.handshakes.length = 0;
    this.nextSeq = 1n;
    return { lostFrames, dropped };
  }

  /** The session ended: every waiting send fails with `error`. */
  clear(error: unknown): void {
    for (const q of this.queue.splice(0)) if (q.kind === "frame") q.reject(error);
    this.handshakes.length = 0;
    this.sent.clear();
  }

  /** Writes what it can now; runs again when called during a pump. */
  pump(): void {
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    void this.drain().finally(() => {
      this.pumping = false;
      if (this.again) {
        this.again = false;
        this.pump();
      }
    });
  }

  private async drain(): Promise<void> {
    for (let link = this.target.link(); link; link = this.target.link()) {
      const again = this.sent.nextResend();
      if (again) {
        link.sendFrame(again.seq, again.payload); // same seq, same bytes
        continue;
      }
      const handshake = this.handshakes.shift();
      if (handshake) {
        this.write(link, handshake, false);
        continue;
      }
      const next = this.queue[0];
      if (!next) return;
      if (next.kind === "terminate") {
        this.queue.shift();
        this.terminateWritten = next.reason;
        link.terminate(next.reason);
        continue;
      }
      if (!this.sent.hasRoom(next.payload.length + this.codec.overhead)) return; // acks make room
      if (!this.codec.canSeal) return; // DATA after our CONFIRM; handshake replies still pass above
      let payload = next.payload;
      if (this.codec.endToEnd) {
        try {
          payload = await this.codec.seal(payload);
        } catch (e) {
          this.target.sealFailed(e);
          return;
        }
        // Meanwhile the peer may have restarted (the send was dropped) or the link changed.
        if (this.queue[0] !== next) continue;
        link = this.target.link();
        if (!link) return;
      }
      this.queue.shift();
      this.write(link, payload, true);
      next.resolve();
    }
  }

  /** Numbers one payload and hands it to the link; kept until acknowledged. */
  private write(link: Link, payload: Uint8Array, application: boolean): void {
    const seq = this.nextSeq++;
    this.sent.add(seq, { seq, payload }, payload.length, application);
    link.sendFrame(seq, payload);
  }
}
