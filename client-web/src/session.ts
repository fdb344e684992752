import {
  ProtocolViolationError,
  RelayError,
  SessionEndedError,
  errorForStatus,
  type EndReason,
  type Role,
  type StatusCode,
} from "./errors.js";
import { RelayUnavailableError } from "./errors.js";
import { endReasonName, roleName, type ServerMessage } from "./wire.js";
import {
  E2E_OVERHEAD,
  E2eLayer,
  EndToEndSecurityError,
  TERMINATE_PREFIX,
  peerReportedError,
  type E2eKeyPair,
} from "./e2e.js";

/** @internal What joinSession hands a session that runs end-to-end encryption. */
export interface E2eSetup {
  pairingSecret?: Uint8Array;
  keys: E2eKeyPair;
}

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
  /** Resume: sends a cumulative Ack (transports without one, gRPC-Web, leave it out: no resume). */
  sendAck?(seq: bigint): void;
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

/**
 * Resume (WebSocket; on by default): the session survives a lost connection. Sent frames are kept
 * until the peer acknowledges them (at most `maxUnackedFrames` / `maxUnackedBytes`; `send` waits
 * beyond that), incoming frames are de-duplicated by seq before decryption and delivery and
 * acknowledged cumulatively, and a connection that drops (close 1006 / UNAVAILABLE) is reopened with
 * the same ticket, jittered exponential backoff (100 ms doubling to 2 s), within `graceMs` (default
 * 30 s, capped by the relay's join deadline); then the current ack and every unacknowledged frame go
 * out again in order. The page sees `onReconnecting` / `onResumed`, never an error, unless the grace
 * window passes (`RelayUnavailableError`). gRPC-Web has no ack yet: no resume there.
 */
export interface ResumeOptions {
  /** Default true (WebSocket only). */
  enabled?: boolean;
  graceMs?: number;
  maxUnackedFrames?: number;
  maxUnackedBytes?: number;
}

/** @internal Opens a replacement link with the same ticket (WebSocket), for resume. */
export type Relinker = (listener: LinkListener & { unreachable(message: string): void }) => Link;

const ACK_EVERY_FRAMES = 16;
const ACK_DELAY_MS = 50;
const BACKOFF_BASE_MS = 100;
const BACKOFF_CAP_MS = 2000;

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
 *
 * End-to-end encryption (`joinSession(ticket, { e2e: { pairingSecret } })`, docs/e2e-protocol.md):
 * the session runs the handshake with the peer right after Joined; {@link send} seals and
 * {@link receive} opens every frame, so the application only handles plaintext. {@link secure}
 * resolves once the peer's key confirmation checked out, {@link sas} then holds the 6-digit short
 * authentication string. Any failed check ends the session with an `EndToEndSecurityError`.
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

  private link: Link;
  private sendSeq = 0n;
  private receiveSeq = 0n;
  private readonly queue: Array<{ payload: Uint8Array; seq: bigint }> = [];
  private readonly waiters: Array<{ resolve: (v: IteratorResult<Uint8Array>) => void; reject: (e: unknown) => void }> = [];
  private readonly peerWaiters: Array<{ resolve: () => void; reject: (e: unknown) => void }> = [];
  private frameCallback?: (payload: Uint8Array, seq: bigint) => void;
  private peerCallback?: (present: boolean) => void;
  private endedMessage?: { reason: EndReason; endedBy?: Role; message: string };
  private end?: SessionEnd;
  private resolveEnded!: (end: SessionEnd) => void;
  // End-to-end encryption: incoming payloads (and the link's close) are processed in order on
  // `inbound`; sealed sends leave in call order on `outbound`, once our CONFIRM is out.
  private readonly e2e?: E2eLayer;
  private inbound: Promise<void> = Promise.resolve();
  private outbound: Promise<void> = Promise.resolve();
  private sendable?: Deferred<void>;
  private secured?: Deferred<string>;
  // Resume state (see ResumeOptions).
  private readonly relink?: Relinker;
  private readonly resumeOn: boolean;
  private readonly graceMs: number;
  private readonly maxUnackedFrames: number;
  private readonly maxUnackedBytes: number;
  private readonly unacked: Array<{ seq: bigint; payload: Uint8Array }> = [];
  private unackedBytes = 0;
  private peerAcked = 0n;
  private lastAckSent = 0n;
  private framesSinceAck = 0;
  private ackTimer?: ReturnType<typeof setTimeout>;
  private roomWaiters: Array<() => void> = [];
  private linkLive = true;
  private reconnectingNow = false;
  private graceDeadline = 0;
  private attempts = 0;
  private resumes = 0;
  private everPaired: boolean;
  private closedLocally = false;
  private pendingTerminate?: string;
  /** Resume: this side's connection was lost and is being reopened (nothing failed yet). */
  onReconnecting?: (cause: RelayError) => void;
  /** Resume: the connection was replaced and the session continues where it stopped. */
  onResumed?: () => void;
  /** The peer's connection dropped and the relay keeps its role reserved: it is expected back. */
  onPeerReconnecting?: () => void;

  /** @internal Built by joinSession once the relay answered Joined. */
  constructor(link: Link, joined: Extract<ServerMessage["kind"], { case: "joined" }>["value"], e2e?: E2eSetup,
    relink?: Relinker, resume?: ResumeOptions) {
    this.link = link;
    this.relink = relink;
    this.resumeOn = relink !== undefined && link.sendAck !== undefined && resume?.enabled !== false;
    this.maxUnackedFrames = resume?.maxUnackedFrames ?? 1024;
    this.maxUnackedBytes = resume?.maxUnackedBytes ?? 4 * 1024 * 1024;
    this.everPaired = joined.peerPresent;
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
    const deadlineMs = this.limits.joinDeadlineSeconds > 0 ? this.limits.joinDeadlineSeconds * 1000 : Infinity;
    this.graceMs = Math.min(resume?.graceMs ?? 30_000, deadlineMs);
    this.ended = new Promise((resolve) => (this.resolveEnded = resolve));
    if (e2e) {
      this.e2e = new E2eLayer(this.sessionId, this.role, e2e.pairingSecret, e2e.keys);
      this.sendable = deferred();
      this.secured = deferred();
      // The COMMIT is the first frame (relay seq 1); the relay holds it until the peer joins.
      const layer = this.e2e;
      this.inbound = layer.start().then(
        (commit) => {
          if (!this.end) this.sendRaw(commit);
        },
        (e) => this.e2eFailed(e),
      );
    }
  }

  /** Whether this session runs end-to-end encryption. */
  get endToEnd(): boolean {
    return this.e2e !== undefined;
  }

  /**
   * End-to-end sessions: resolves with the SAS once the handshake completed and the peer's key
   * confirmation verified; rejects with the session's end error (e.g. `EndToEndSecurityError`
   * KEY_CONFIRMATION_FAILED for a wrong pairing secret) if it ends first. Rejects at once for a
   * session without end-to-end encryption.
   */
  get secure(): Promise<string> {
    if (!this.secured) return Promise.reject(new Error("this session was joined without end-to-end encryption (e2e option)"));
    return this.secured.promise;
  }

  /**
   * The short authentication string (6 digits) once {@link secure} resolved, else undefined. Without
   * a pairing secret both users must compare it (e.g. read aloud) before trusting the channel.
   */
  get sas(): string | undefined {
    return this.e2e?.sas;
  }

  /** "websocket" or "grpc-web": the transport this session runs on. */
  get transport(): TransportName {
    return this.link.transport;
  }

  /** Resume: whether the connection is being reopened right now. */
  get isReconnecting(): boolean {
    return this.reconnectingNow && this.end === undefined;
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
    const max = this.limits.maxFrameBytes > 0 && this.e2e ? Math.max(1, this.limits.maxFrameBytes - E2E_OVERHEAD) : this.limits.maxFrameBytes;
    if (max > 0 && payload.length > max) {
      throw new RangeError(`frame of ${payload.length} bytes exceeds the relay's limit of ${max} bytes`
        + (this.e2e ? " (frame limit minus 28 bytes of end-to-end overhead)" : "") + "; split it");
    }
    if (this.e2e) {
      const layer = this.e2e;
      const plaintext = payload.slice(); // the caller may reuse its buffer while we wait
      const op = this.outbound.then(async () => {
        await this.sendable!.promise; // DATA only after our CONFIRM
        await this.room(plaintext.length + E2E_OVERHEAD);
        this.throwIfEnded();
        let sealed: Uint8Array;
        try {
          sealed = await layer.seal(plaintext);
        } catch (e) {
          this.e2eFailed(e);
          throw e;
        }
        this.throwIfEnded();
        this.sendRaw(sealed);
      });
      this.outbound = op.catch(() => undefined);
      await op;
    } else if (this.resumeOn) {
      // In call order, each once the unacknowledged buffer has room.
      const copy = payload.slice();
      const op = this.outbound.then(async () => {
        await this.room(copy.length);
        this.throwIfEnded();
        this.sendRaw(copy);
      });
      this.outbound = op.catch(() => undefined);
      await op;
    } else {
      this.sendRaw(payload);
    }
    await this.ready();
  }

  /** Resume: waits until `bytes` more fit in the unacknowledged buffer (back-pressure by acks). */
  private async room(bytes: number): Promise<void> {
    while (this.resumeOn && !this.end && this.unacked.length > 0
      && (this.unacked.length >= this.maxUnackedFrames || this.unackedBytes + bytes > this.maxUnackedBytes)) {
      await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
    }
  }

  private throwIfEnded(): void {
    if (this.end) {
      throw this.end.error ?? new SessionEndedError("the session has ended: " + this.end.message, this.end.reason, this.end.endedBy, { code: "FAILED_PRECONDITION" });
    }
  }

  /** Hands one payload to the link with the next relay seq (call order = wire order). */
  private sendRaw(payload: Uint8Array): void {
    this.sendSeq += 1n;
    if (this.resumeOn) {
      // Kept as sent (sealed, numbered) until acknowledged; resent after a loss.
      this.unacked.push({ seq: this.sendSeq, payload });
      this.unackedBytes += payload.length;
    }
    if (this.linkLive) this.link.sendFrame(this.sendSeq, payload);
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
    if (head) return Promise.resolve({ value: head.payload, done: false });
    if (this.end) {
      return this.end.error ? Promise.reject(this.end.error) : Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Callback style: every frame goes to `callback` (frames already queued first), not to receive(). */
  set onFrame(callback: ((payload: Uint8Array, seq: bigint) => void) | undefined) {
    this.frameCallback = callback;
    if (callback) {
      for (const f of this.queue.splice(0)) callback(f.payload, f.seq);
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
      if (this.linkLive) this.link.terminate(reason);
      else this.pendingTerminate = reason; // after the resume, behind the resent frames
    }
    return this.ended;
  }

  /**
   * Drops the connection without ending the session (the peer sees PeerLeft; rejoin with the same
   * ticket). No resume follows.
   */
  close(): void {
    this.closedLocally = true;
    if (this.reconnectingNow && !this.end) {
      this.finish({ error: null, reason: "UNKNOWN", message: "closed" });
    }
    this.link.close();
  }

  /** @internal */
  handle(m: ServerMessage): void {
    switch (m.kind.case) {
      case "data": {
        const frame = m.kind.value;
        if (this.resumeOn) {
          // De-duplication first: neither E2E nor the page ever sees a frame twice. A frame ahead
          // of the next one is dropped: the peer resends everything unacknowledged in order.
          if (frame.seq <= this.receiveSeq) {
            this.scheduleAck();
            return;
          }
          if (frame.seq !== this.receiveSeq + 1n) return;
        } else if (frame.seq !== this.receiveSeq + 1n) {
          this.finish({
            error: new ProtocolViolationError(`frame seq ${frame.seq} arrived after ${this.receiveSeq}; frames must be consecutive`, { code: "DATA_LOSS" }),
            reason: "PROTOCOL_ERROR",
            message: "frames out of order",
          });
          this.link.close();
          return;
        }
        this.receiveSeq = frame.seq;
        if (this.resumeOn) this.countForAck();
        if (this.e2e) {
          const payload = frame.payload;
          this.inbound = this.inbound.then(() => this.e2eIncoming(payload, frame.seq));
        } else {
          this.deliver(frame.payload, frame.seq);
        }
        break;
      }
      case "peerJoined":
        if (this.resumeOn) {
          // Frames in the relay's rendezvous buffer reach a first peer intact; after any loss
          // (ours, or the peer's) send the unacknowledged ones again.
          if (this.everPaired || this.resumes > 0) this.resendAll();
          this.everPaired = true;
          this.sendAck(true);
        }
        this.setPeer(true);
        break;
      case "peerLeft":
        this.setPeer(false);
        if (m.kind.value.reconnecting) this.onPeerReconnecting?.();
        break;
      case "ack":
        if (this.resumeOn) this.onAck(m.kind.value.seq);
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

  private deliver(payload: Uint8Array, seq: bigint): void {
    if (this.frameCallback) {
      this.frameCallback(payload, seq);
    } else {
      const w = this.waiters.shift();
      if (w) w.resolve({ value: payload, done: false });
      else this.queue.push({ payload, seq });
    }
  }

  /** One payload from the peer through the end-to-end layer (runs in order on `inbound`). */
  private async e2eIncoming(payload: Uint8Array, seq: bigint): Promise<void> {
    if (this.end) return; // a failed direction accepts nothing more
    const layer = this.e2e!;
    let r;
    try {
      r = await layer.onIncoming(payload);
    } catch (e) {
      this.e2eFailed(e);
      return;
    }
    if (this.end) return;
    for (const reply of r.replies) this.sendRaw(reply);
    if (layer.canSeal) this.sendable!.resolve(); // our CONFIRM is out: DATA may follow
    if (r.becameSecure) this.secured!.resolve(layer.sas!);
    if (r.plaintext) this.deliver(r.plaintext, seq);
  }

  /** An end-to-end check failed: tell the peer which one (via the relay) and end the session. */
  private e2eFailed(e: unknown): void {
    if (this.end) return;
    const error = e instanceof EndToEndSecurityError ? e
      : e instanceof RelayError ? e
      : new EndToEndSecurityError("CLOSED", "end-to-end encryption failed: " + String((e as Error)?.message ?? e));
    const reason = TERMINATE_PREFIX + (error instanceof EndToEndSecurityError ? error.check : "CLOSED");
    this.link.terminate(reason);
    this.finish({ error, reason: "TERMINATED", endedBy: this.role, message: reason });
  }

  /** @internal The link is gone: work out why, once (after the payloads before it, with E2E). */
  closed(code: StatusCode, message: string, closeCode?: number): void {
    if (this.e2e) {
      this.inbound = this.inbound.then(() => this.closedNow(code, message, closeCode));
    } else {
      this.closedNow(code, message, closeCode);
    }
  }

  private closedNow(code: StatusCode, message: string, closeCode?: number): void {
    if (this.end) return;
    const e = this.endedMessage;
    if (this.resumeOn && !e && !this.closedLocally && code === "UNAVAILABLE") {
      this.beginReconnect(errorForStatus(code, message, closeCode, true));
      return;
    }
    if (e && this.e2e && e.reason === "TERMINATED" && e.message.startsWith(TERMINATE_PREFIX)) {
      // The peer's end-to-end check failed: it ended the session with "e2e: CHECK".
      this.finish({ error: peerReportedError(e.message), reason: e.reason, endedBy: e.endedBy, message: e.message });
    } else if (e) {
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

  // ---- resume ----

  private countForAck(): void {
    this.framesSinceAck++;
    if (this.framesSinceAck >= ACK_EVERY_FRAMES) this.sendAck(false);
    else this.scheduleAck();
  }

  private scheduleAck(): void {
    if (this.ackTimer !== undefined || this.end) return;
    this.ackTimer = setTimeout(() => {
      this.ackTimer = undefined;
      this.sendAck(true);
    }, ACK_DELAY_MS);
  }

  private sendAck(force: boolean): void {
    if (!this.linkLive || this.end || this.receiveSeq === 0n) return;
    if (!force && this.receiveSeq === this.lastAckSent) return;
    this.link.sendAck?.(this.receiveSeq);
    this.lastAckSent = this.receiveSeq;
    this.framesSinceAck = 0;
  }

  private onAck(seq: bigint): void {
    if (seq > this.sendSeq) seq = this.sendSeq;
    if (seq <= this.peerAcked) return;
    this.peerAcked = seq;
    while (this.unacked.length > 0 && this.unacked[0].seq <= seq) {
      this.unackedBytes -= this.unacked.shift()!.payload.length;
    }
    for (const w of this.roomWaiters.splice(0)) w();
  }

  private resendAll(): void {
    if (!this.linkLive) return;
    for (const f of this.unacked) {
      if (f.seq > this.peerAcked) this.link.sendFrame(f.seq, f.payload); // same seq, same bytes
    }
  }

  private beginReconnect(cause: RelayError): void {
    this.linkLive = false;
    this.reconnectingNow = true;
    this.attempts = 0;
    this.graceDeadline = Date.now() + this.graceMs;
    this.peerPresent = false;
    this.onReconnecting?.(cause);
    this.scheduleReconnect(cause);
  }

  private scheduleReconnect(cause: RelayError): void {
    if (this.end) return;
    if (this.closedLocally) {
      this.finish({ error: null, reason: "UNKNOWN", message: "closed" });
      return;
    }
    const left = this.graceDeadline - Date.now();
    if (left <= 0) {
      const message = `could not resume the session within ${this.graceMs} ms (${this.attempts} attempts); last error: ${cause.message}`;
      this.finish({ error: new RelayUnavailableError(message, { code: "UNAVAILABLE" }), reason: "UNKNOWN", message });
      return;
    }
    const cap = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.min(this.attempts, 20));
    const delay = Math.min(Math.floor(Math.random() * (cap + 1)), left);
    this.attempts++;
    setTimeout(() => this.reconnectNow(), delay);
  }

  /** Opens a new link with the same ticket; on Joined it replaces the lost one. */
  private reconnectNow(): void {
    if (this.end || !this.relink) return;
    if (this.closedLocally) {
      this.finish({ error: null, reason: "UNKNOWN", message: "closed" });
      return;
    }
    let joinedHere = false;
    let link: Link | undefined;
    const failed = (error: RelayError) => {
      if (this.end) return;
      if (error.code === "UNAVAILABLE") this.scheduleReconnect(error);
      else this.finish({ error, reason: "UNKNOWN", message: error.message }); // refused: the relay's verdict
    };
    link = this.relink({
      message: (m: ServerMessage) => {
        if (this.end) return;
        if (!joinedHere) {
          if (m.kind.case === "joined") {
            joinedHere = true;
            this.resumedOn(link!, m.kind.value);
          }
          return;
        }
        if (this.link === link) this.handle(m);
      },
      closed: (code: StatusCode, message: string, closeCode?: number) => {
        if (this.end) return;
        if (!joinedHere) failed(errorForStatus(code, message, closeCode, false));
        else if (this.link === link) this.closed(code, message, closeCode);
      },
      unreachable: (message: string) => failed(new RelayUnavailableError(message, { code: "UNAVAILABLE" })),
    });
  }

  private resumedOn(link: Link, joined: Extract<ServerMessage["kind"], { case: "joined" }>["value"]): void {
    if (joined.sessionId !== this.sessionId) {
      link.close();
      this.finish({
        error: new ProtocolViolationError("the relay resumed a different session", { code: "DATA_LOSS" }),
        reason: "PROTOCOL_ERROR",
        message: "resumed a different session",
      });
      return;
    }
    this.link = link;
    this.linkLive = true;
    this.reconnectingNow = false;
    this.resumes++;
    this.endedMessage = undefined;
    if (joined.peerPresent) {
      this.everPaired = true;
      this.sendAck(true); // the current ack first, then the unacknowledged frames
      this.resendAll();
      this.setPeer(true);
    }
    if (this.pendingTerminate !== undefined) {
      link.terminate(this.pendingTerminate);
      this.pendingTerminate = undefined;
    }
    this.onResumed?.();
  }

  private finish(end: SessionEnd): void {
    if (this.end) return;
    this.end = end;
    if (this.ackTimer !== undefined) clearTimeout(this.ackTimer);
    this.reconnectingNow = false;
    this.unacked.length = 0;
    for (const w of this.roomWaiters.splice(0)) w();
    for (const w of this.waiters.splice(0)) {
      if (end.error) w.reject(end.error);
      else w.resolve({ value: undefined, done: true });
    }
    const peerError = end.error ?? new SessionEndedError(end.message, end.reason, end.endedBy, { code: "FAILED_PRECONDITION" });
    for (const w of this.peerWaiters.splice(0)) w.reject(peerError);
    this.sendable?.reject(peerError);
    this.secured?.reject(peerError);
    this.e2e?.close();
    this.resolveEnded(end);
  }
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(v: T): void;
  reject(e: unknown): void;
}

/** A promise with its settle functions; never an unhandled rejection on its own. */
function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}
