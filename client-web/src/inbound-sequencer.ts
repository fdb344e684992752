/**
 * Decides what happens to each frame from the peer, by sequence number, before anything else sees
 * it (before end-to-end decryption and before the application), and when to acknowledge. Pure: no
 * I/O, no clock. The Java SDK's InboundSequencer is the same; both pass the `inbound` and
 * `ackPolicy` cases of testvectors/resume-v1.json.
 *
 * `offer`: the next frame in order is accepted; with resume, a frame already accepted is a
 * retransmission (dropped, and the peer is told again soon that we have it) and a frame ahead of
 * the next one is dropped (the peer resends everything unacknowledged in order after a re-pairing);
 * without resume both are protocol violations. While fenced (the peer restarted, or this side
 * replaced an earlier incarnation of itself) every frame is dropped until the peer's first ack
 * naming this side's incarnation lifts the fence.
 *
 * `delivered`: an accepted frame reached the application (or the end-to-end layer consumed it).
 * Only delivered frames are acknowledged. The ack policy is written once, in docs/resume.md
 * ("Acknowledgements").
 */
export const ACK_EVERY_FRAMES = 16;
export const ACK_EVERY_BYTES = 64 * 1024;
export const ACK_DELAY_MS = 50;

export type Verdict = "DELIVER" | "DUPLICATE" | "AHEAD" | "FENCED" | "VIOLATION";
/** What the session does about acknowledgements. */
export type AckAction = "NONE" | "NOW" | "SOON";

export class InboundSequencer {
  private accepted = 0n;
  private deliveredSeq = 0n;
  private lastAcked = 0n;
  private framesSinceAck = 0;
  private bytesSinceAck = 0;
  private isFenced = false;
  duplicates = 0;
  ahead = 0;

  /** `resume`: tolerate retransmissions (duplicates and frames ahead are dropped, not fatal). */
  constructor(private readonly resume: boolean) {}

  offer(seq: bigint): Verdict {
    if (this.isFenced) return "FENCED";
    if (seq === this.accepted + 1n) {
      this.accepted = seq;
      return "DELIVER";
    }
    if (!this.resume) return "VIOLATION";
    if (seq <= this.accepted) {
      this.duplicates++;
      return "DUPLICATE";
    }
    this.ahead++;
    return "AHEAD";
  }

  /** The ack a verdict calls for: a duplicate means the peer missed our last ack. */
  static ackFor(verdict: Verdict): AckAction {
    return verdict === "DUPLICATE" ? "SOON" : "NONE";
  }

  /** Accepted frame `seq` (in order) reached the application; returns when to acknowledge. */
  delivered(seq: bigint, payloadBytes: number): AckAction {
    this.deliveredSeq = seq;
    this.framesSinceAck++;
    this.bytesSinceAck += payloadBytes;
    return this.framesSinceAck >= ACK_EVERY_FRAMES || this.bytesSinceAck >= ACK_EVERY_BYTES ? "NOW" : "SOON";
  }

  /** The cumulative ack to send: the highest seq delivered. */
  get ackValue(): bigint {
    return this.deliveredSeq;
  }

  /** Whether the ack moved since the last one sent. */
  get ackPending(): boolean {
    return this.deliveredSeq !== this.lastAcked;
  }

  /** An ack carrying `ackValue` was sent: the batch counters start over. */
  acked(): void {
    this.lastAcked = this.deliveredSeq;
    this.framesSinceAck = 0;
    this.bytesSinceAck = 0;
  }

  /** The highest seq accepted in order (the next frame expected is this + 1). */
  get lastAccepted(): bigint {
    return this.accepted;
  }

  /** The peer restarted: its new incarnation numbers from 1. */
  reset(): void {
    this.accepted = 0n;
    this.deliveredSeq = 0n;
    this.lastAcked = 0n;
    this.framesSinceAck = 0;
    this.bytesSinceAck = 0;
  }

  /** Drops every frame until `liftFence`. */
  fence(): void {
    this.isFenced = true;
  }

  liftFence(): void {
    this.isFenced = false;
  }

  get fenced(): boolean {
    return this.isFenced;
  }
}
