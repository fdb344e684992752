import {
  ProtocolViolationError,
  RelayError,
  SessionEndedError,
  errorForStatus,
  type EndReason,
  type Role,
  type StatusCode,
} from "./errors.js";
import { endReasonName, roleName, type ServerMessage } from "./wire.js";

export type TransportName = "websocket" | "grpc-web";

/** The limits the relay enforces on this participant (relay.v1.Limits). */
export interface RelayLimits {
  maxFrameBytes: number;
  maxFramesPerSecond: number;
  maxBytesPerSecond: bigint;
  joinDeadlineSeconds: number;
  idleTimeoutSeconds: number;
}

/** What a transport does for a session. Internal: applications use {@link RelaySession}. */
export interface Link {
  readonly transport: TransportName;
  /** Hands one frame to the connection, in call order. */
  sendFrame(seq: bigint, payload: Uint8Array): void;
  /** Resolves once the connection holds at most its high-water mark of unsent bytes. */
  ready(): Promise<void>;
  /** Bytes handed to the connection that the relay has not taken yet. */
  bufferedAmount(): number;
  /** Sends a Terminate after every frame already handed over. */
  terminate(reason: string): void;
  /** Drops the connection without terminating the session. */
  close(): void;
}

/** How a link reports to its session. */
export interface LinkListener {
  message(message: ServerMessage): void;
  closed(code: StatusCode, message: string, closeCode?: number): void;
}

/** How a session ended: `error` is null when it was terminated on purpose (by either side). */
export interface SessionEnd {
  error: RelayError | null;
  reason: EndReason;
  endedBy?: Role;
  message: string;
}

/**
 * One participant's live connection to a session, from {@link joinSession}. Frames arrive in the
 * order the peer sent them, through {@link receive} / `for await` or the {@link onFrame} callback.
 *
 * Back-pressure: {@link send} resolves once the connection can take more (the WebSocket's
 * `bufferedAmount`, or gRPC-Web's unacknowledged bytes, is at or below the high-water mark). The
 * relay only takes bytes off the connection while the peer can take them, so awaiting each send
 * paces the page to the peer. Sends that are not awaited are buffered by the browser without bound.
 */
export class RelaySession implements AsyncIterable<Uint8Array> {
  readonly sessionId: string;
  readonly role: Role;
  readonly expiresAt: Date;
  readonly limits: RelayLimits;
  /** Whether the peer's connection is live right now. */
  peerPresent: boolean;

  /** Resolves once, when the session is over (never rejects). */
  readonly ended: Promise<SessionEnd>;

  private readonly link: Link;
  private sendSeq = 0n;
  private receiveSeq = 0n;
  private readonly queue: Uint8Array[] = [];
  private readonly waiters: Array<{ resolve: (v: IteratorResult<Uint8Array>) => void; reject: (e: unknown) => void }> = [];
  private readonly peerWaiters: Array<{ resolve: () => void; reject: (e: unknown) => void }> = [];
  private frameCallback?: (payload: Uint8Array, seq: bigint) => void;
  private peerCallback?: (present: boolean) => void;
  private endedMessage?: { reason: EndReason; endedBy?: Role; message: string };
  private end?: SessionEnd;
  private resolveEnded!: (end: SessionEnd) => void;

  /** @internal Built by joinSession once the relay answered Joined. */
  constructor(link: Link, joined: Extract<ServerMessage["kind"], { case: "joined" }>["value"]) {
    this.link = link;
    this.sessionId = joined.sessionId;
    this.role = roleName(joined.role) ?? "prover";
    this.peerPresent = joined.peerPresent;
    const ts = joined.expiresAt;
    this.expiresAt = new Date(ts ? Number(ts.seconds) * 1000 + Math.floor(ts.nanos / 1e6) : 0);
    const l = joined.limits;
    this.limits = {
      maxFrameBytes: l?.maxFrameBytes ?? 0,
      maxFramesPerSecond: l?.maxFramesPerSecond ?? 0,
      maxBytesPerSecond: l?.maxBytesPerSecond ?? 0n,
      joinDeadlineSeconds: l?.joinDeadlineSeconds ?? 0,
      idleTimeoutSeconds: l?.idleTimeoutSeconds ?? 0,
    };
    this.ended = new Promise((resolve) => (this.resolveEnded = resolve));
  }

  /** "websocket" or "grpc-web": the transport this session runs on. */
  get transport(): TransportName {
    return this.link.transport;
  }

  /** Whether the session is still open on this side. */
  get isOpen(): boolean {
    return this.end === undefined;
  }

  /** Bytes sent but not yet taken by the relay. */
  get bufferedAmount(): number {
    return this.link.bufferedAmount();
  }

  /**
   * Sends one frame (at most `limits.maxFrameBytes`). Resolves when the connection can take more;
   * rejects with the session's end error if it is over.
   */
  async send(payload: Uint8Array): Promise<void> {
    if (this.end) {
      throw this.end.error ?? new SessionEndedError("the session has ended: " + this.end.message, this.end.reason, this.end.endedBy, { code: "FAILED_PRECONDITION" });
    }
    if (this.limits.maxFrameBytes > 0 && payload.length > this.limits.maxFrameBytes) {
      throw new RangeError(`frame of ${payload.length} bytes exceeds the relay's limit of ${this.limits.maxFrameBytes} bytes; split it`);
    }
    this.sendSeq += 1n;
    this.link.sendFrame(this.sendSeq, payload);
    await this.ready();
  }

  /** Resolves when the connection can take more (or immediately once the session is over). */
  ready(): Promise<void> {
    if (this.end) return Promise.resolve();
    return Promise.race([this.link.ready(), this.ended.then(() => undefined)]);
  }

  /**
   * The next frame from the peer. Resolves with `undefined` once the session was terminated and
   * every frame has been read; rejects with the typed error for any other end.
   */
  async receive(): Promise<Uint8Array | undefined> {
    const r = await this.next();
    return r.done ? undefined : r.value;
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return { next: () => this.next() };
  }

  private next(): Promise<IteratorResult<Uint8Array>> {
    const head = this.queue.shift();
    if (head) return Promise.resolve({ value: head, done: false });
    if (this.end) {
      return this.end.error ? Promise.reject(this.end.error) : Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Callback style: every frame goes to `callback` (frames already queued first), not to receive(). */
  set onFrame(callback: ((payload: Uint8Array, seq: bigint) => void) | undefined) {
    this.frameCallback = callback;
    if (callback) {
      let seq = this.receiveSeq - BigInt(this.queue.length);
      for (const f of this.queue.splice(0)) callback(f, ++seq);
    }
  }

  /** Called with true / false when the peer's connection comes and goes. */
  set onPeer(callback: ((present: boolean) => void) | undefined) {
    this.peerCallback = callback;
  }

  /** Resolves when the peer is present; rejects if the session ends first. */
  waitForPeer(): Promise<void> {
    if (this.peerPresent) return Promise.resolve();
    if (this.end) return Promise.reject(this.end.error ?? new SessionEndedError(this.end.message, this.end.reason, this.end.endedBy, { code: "FAILED_PRECONDITION" }));
    return new Promise((resolve, reject) => this.peerWaiters.push({ resolve, reject }));
  }

  /**
   * Ends the session for both participants, after the frames already sent. Resolves when the relay
   * confirmed the end. Reason: at most 256 UTF-8 bytes, passed to the peer.
   */
  async terminate(reason = ""): Promise<SessionEnd> {
    if (!this.end) {
      this.link.terminate(reason);
    }
    return this.ended;
  }

  /** Drops the connection without ending the session (the peer sees PeerLeft; rejoin with the same ticket). */
  close(): void {
    this.link.close();
  }

  /** @internal */
  handle(m: ServerMessage): void {
    switch (m.kind.case) {
      case "data": {
        const frame = m.kind.value;
        if (frame.seq !== this.receiveSeq + 1n) {
          this.finish({
            error: new ProtocolViolationError(`frame seq ${frame.seq} arrived after ${this.receiveSeq}; frames must be consecutive`, { code: "DATA_LOSS" }),
            reason: "PROTOCOL_ERROR",
            message: "frames out of order",
          });
          this.link.close();
          return;
        }
        this.receiveSeq = frame.seq;
        if (this.frameCallback) {
          this.frameCallback(frame.payload, frame.seq);
        } else {
          const w = this.waiters.shift();
          if (w) w.resolve({ value: frame.payload, done: false });
          else this.queue.push(frame.payload);
        }
        break;
      }
      case "peerJoined":
        this.setPeer(true);
        break;
      case "peerLeft":
        this.setPeer(false);
        break;
      case "sessionEnded": {
        const e = m.kind.value;
        this.endedMessage = { reason: endReasonName(e.reason), endedBy: roleName(e.endedBy), message: e.message };
        break;
      }
      default:
        break; // heartbeats, and kinds a newer relay may add
    }
  }

  /** @internal The link is gone: work out why, once. */
  closed(code: StatusCode, message: string, closeCode?: number): void {
    const e = this.endedMessage;
    if (e) {
      const error = e.reason === "TERMINATED" ? null
        : new SessionEndedError(e.message || message, e.reason, e.endedBy, { code, closeCode });
      this.finish({ error, reason: e.reason, endedBy: e.endedBy, message: e.message });
    } else if (code === "OK") {
      this.finish({ error: null, reason: "UNKNOWN", message: message || "closed" });
    } else {
      this.finish({ error: errorForStatus(code, message, closeCode, true), reason: "UNKNOWN", message });
    }
  }

  private setPeer(present: boolean): void {
    this.peerPresent = present;
    if (present) for (const w of this.peerWaiters.splice(0)) w.resolve();
    this.peerCallback?.(present);
  }

  private finish(end: SessionEnd): void {
    if (this.end) return;
    this.end = end;
    for (const w of this.waiters.splice(0)) {
      if (end.error) w.reject(end.error);
      else w.resolve({ value: undefined, done: true });
    }
    const peerError = end.error ?? new SessionEndedError(end.message, end.reason, end.endedBy, { code: "FAILED_PRECONDITION" });
    for (const w of this.peerWaiters.splice(0)) w.reject(peerError);
    this.resolveEnded(end);
  }
}
