/**
 * The frames this side sent that the peer has not acknowledged yet, kept exactly as sent (numbered,
 * sealed) so they can be sent again after a loss; bounded in frames and bytes. Pure: no I/O, no
 * clock. The Java SDK's ResumeBuffer is the same; both pass the `resumeBuffer` cases of
 * testvectors/resume-v1.json (rules: docs/resume.md).
 *
 * Without resume ({@link ResumeBuffer.counting}) it keeps no frames and never back-pressures; it
 * only counts, so that a peer restart can still report how many frames the peer never acknowledged.
 */
interface Entry<F> {
  seq: bigint;
  frame: F;
  bytes: number;
  application: boolean;
}

export class ResumeBuffer<F> {
  private readonly unacked: Array<Entry<F>> = [];
  private resend: Array<Entry<F>> = [];
  /** Counting mode: the seqs of non-application frames not yet acknowledged (a handshake's few). */
  private readonly controlSeqs: bigint[] = [];
  private bytesHeld = 0;
  private ackedSeq = 0n;
  private lastSeq = 0n;

  private constructor(private readonly keep: boolean, private readonly maxFrames: number, private readonly maxBytes: number) {}

  /** Keeps frames for retransmission, at most `maxFrames` / `maxBytes` (one always fits). */
  static keeping<F>(maxFrames: number, maxBytes: number): ResumeBuffer<F> {
    return new ResumeBuffer<F>(true, maxFrames, maxBytes);
  }

  /** Keeps nothing, only counts (no resume). */
  static counting<F>(): ResumeBuffer<F> {
    return new ResumeBuffer<F>(false, Infinity, Infinity);
  }

  /** Whether a frame of `frameBytes` fits; an empty buffer always takes one frame. */
  hasRoom(frameBytes: number): boolean {
    return this.unacked.length === 0 || (this.unacked.length < this.maxFrames && this.bytesHeld + frameBytes <= this.maxBytes);
  }

  /** Keeps a frame just written; `application`: it carries an application payload (counts as lost). */
  add(seq: bigint, frame: F, frameBytes: number, application: boolean): void {
    this.lastSeq = seq;
    if (!this.keep) {
      if (!application) this.controlSeqs.push(seq);
      return;
    }
    this.unacked.push({ seq, frame, bytes: frameBytes, application });
    this.bytesHeld += frameBytes;
  }

  /**
   * The peer has every frame up to `seq`: forget them. An ack beyond the last frame sent is clamped
   * to it; an old ack changes nothing. Returns how many frames were released.
   */
  onAck(seq: bigint): number {
    const upTo = seq < this.lastSeq ? seq : this.lastSeq;
    if (upTo <= this.ackedSeq) return 0;
    let released = Number(upTo - this.ackedSeq);
    this.ackedSeq = upTo;
    while (this.controlSeqs.length > 0 && this.controlSeqs[0] <= upTo) this.controlSeqs.shift();
    if (!this.keep) return released;
    released = 0;
    while (this.unacked.length > 0 && this.unacked[0].seq <= upTo) {
      this.bytesHeld -= this.unacked.shift()!.bytes;
      released++;
    }
    return released;
  }

  /** Queues every unacknowledged frame to be sent again, oldest first (after a re-pairing). */
  markResend(): void {
    this.resend = this.unacked.slice();
  }

  /** The next frame to send again, skipping those acknowledged meanwhile; undefined when done. */
  nextResend(): F | undefined {
    let e: Entry<F> | undefined;
    while ((e = this.resend.shift()) !== undefined) {
      if (e.seq > this.ackedSeq) return e.frame;
    }
    return undefined;
  }

  /**
   * Forgets everything and starts the numbering over (the peer restarted: its new incarnation
   * never saw these frames). Returns how many application frames were dropped unacknowledged.
   */
  clear(): number {
    let application = this.keep ? 0 : Number(this.lastSeq - this.ackedSeq) - this.controlSeqs.length;
    this.controlSeqs.length = 0;
    for (const e of this.unacked) if (e.application) application++;
    this.unacked.length = 0;
    this.resend = [];
    this.bytesHeld = 0;
    this.ackedSeq = 0n;
    this.lastSeq = 0n;
    return application;
  }

  /** The highest seq the peer acknowledged. */
  get acked(): bigint {
    return this.ackedSeq;
  }

  get size(): number {
    return this.unacked.length;
  }

  get bytes(): number {
    return this.bytesHeld;
  }
}
