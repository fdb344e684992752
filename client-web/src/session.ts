import {
  PeerRestartedError,
  ProtocolViolationError,
  RelayError,
  RelayUnavailableError,
  RoleTakenError,
  SessionEndedError,
  errorForStatus,
  type EndReason,
  type Role,
  type StatusCode,
} from "./errors.js";
import { ConnectAttempt, type AttemptEvents, type Joined } from "./connect-attempt.js";
import { Delivery } from "./delivery.js";
import { EndToEndSecurityError, TERMINATE_PREFIX, peerReportedError } from "./e2e/errors.js";
import type { FrameCodec } from "./frame-codec.js";
import { ACK_DELAY_MS, InboundSequencer } from "./inbound-sequencer.js";
import type { Link, LinkFactory, TransportName } from "./link.js";
import { Outbound } from "./outbound.js";
import { ReconnectPolicy } from "./reconnect-policy.js";
import { ResumeBuffer } from "./resume-buffer.js";
import { endReasonName, roleName, type ServerMessage } from "./wire.js";

export type { TransportName } from "./link.js";

/** The limits the relay enforces on this participant (relay.v1.Limits). */
export interface RelayLimits {
  maxFrameBytes: number;
  maxFramesPerSecond: number;
  maxBytesPerSecond: bigint;
  joinDeadlineSeconds: number;
  idleTimeoutSeconds: number;
}

/**
 * Resume (on by default, WebSocket and gRPC-Web; the rules are in docs/resume.md): the session
 * survives a lost connection. Sent frames are kept until the peer acknowledges them (at most
 * `maxUnackedFrames` / `maxUnackedBytes`; `send` waits beyond that), incoming frames are
 * de-duplicated by seq before decryption and delivery, and a connection that drops (close 1006,
 * UNAVAILABLE) is reopened with the same ticket within `graceMs` (default 30 s, capped by the
 * relay's join deadline). The page sees `onReconnecting` / `onResumed`, never an error, unless the
 * grace window passes (`RelayUnavailableError`).
 */
export interface ResumeOptions {
  /** Default true. */
  enabled?: boolean;
  graceMs?: number;
  maxUnackedFrames?: number;
  maxUnackedBytes?: number;
}

/** How a session ended: `error` is null when it was terminated on purpose (by either side). */
export interface SessionEnd {
  error: RelayError | null;
  reason: EndReason;
  endedBy?: Role;
  message: string;
}

/** @internal What joinSession gives a session besides its first attempt. */
export interface SessionConfig {
  /** Opens a link with the same ticket and transport (first join, rejoins). */
  factory: LinkFactory;
  incarnation: bigint;
  codec: FrameCodec;
  resume?: ResumeOptions;
}

/**
 * One participant's session, from {@link joinSession}: the state machine (live, reconnecting,
 * ended) over one connect attempt at a time, driving the same parts as the Java SDK's session:
 * ResumeBuffer, InboundSequencer, ReconnectPolicy, FrameCodec, Delivery, ConnectAttempt (rules:
 * docs/resume.md). Frames arrive in the order the peer sent them, through {@link receive} /
 * `for await` or the {@link onFrame} callback.
 *
 * Back-pressure: {@link send} resolves once the connection can take more (the WebSocket's
 * `bufferedAmount`, or gRPC-Web's bytes not yet taken, is at or below the high-water mark) and,
 * with resume, once the frame fits in the unacknowledged buffer. Sends that are not awaited are
 * buffered without bound.
 *
 * End-to-end encryption (`joinSession(ticket, { e2e: { pairingSecret } })`, docs/e2e-protocol.md):
 * the session runs the handshake right after Joined; {@link send} seals and {@link receive} opens
 * every frame. {@link secure} resolves once the peer's key confirmation checked out, {@link sas}
 * then holds the 6-digit short authentication string. Any failed check ends the session with an
 * `EndToEndSecurityError`.
 *
 * Peer restarts: a peer that restarts (a new page or process) and joins again with its ticket is a
 * new incarnation. Both sides start over (numbering, keys) and this side reports it once, in order:
 * {@link receive} rejects once with a `PeerRestartedError` (catch it to go on), or
 * {@link onPeerRestarted} is called.
 */
export class RelaySession implements AsyncIterable<Uint8Array> {
  readonly sessionId: string;
  readonly role: Role;
  readonly expiresAt: Date;
  readonly limits: RelayLimits;
  /**
   * Whether this session took over its role from an earlier incarnation of itself (another page
   * or process joined with the same ticket before): the peer treats this one as new, and whatever
   * the earlier one sent without acknowledgement is lost.
   */
  readonly rejoinedAfterRestart: boolean;
  /** Whether the peer's connection is live right now. */
  peerPresent: boolean;
  /** Resolves once, when the session is over (never rejects). */
  readonly ended: Promise<SessionEnd>;
  /** Resume: this side's connection was lost and is being reopened (nothing failed yet). */
  onReconnecting?: (cause: RelayError) => void;
  /** Resume: the connection was replaced and the session continues where it stopped. */
  onResumed?: () => void;
  /** The peer's connection dropped and the relay keeps its role reserved: it is expected back. */
  onPeerReconnecting?: () => void;

  private readonly config: SessionConfig;
  private readonly codec: FrameCodec;
  private readonly resumeOn: boolean;
  private readonly outbound: Outbound;
  private readonly inbound: InboundSequencer;
  private readonly reconnect: ReconnectPolicy;
  private readonly delivery = new Delivery();
  private attempt: ConnectAttempt;
  private state: "live" | "reconnecting" | "ended" = "live";
  private peerIncarnation: bigint;
  /** Peer restarts so far: a delivery from before the last one must not touch the new ack. */
  private inboundEpoch = 0;
  /** Application frames handed to delivery since the session or the last peer restart. */
  private framesFromPeer = 0;
  private resendOnPairing: boolean;
  private terminateQueued = false;
  private closedLocally = false;
  /** A protocol violation was seen: nothing more is accepted; the end follows in order. */
  private violated = false;
  private ackTimer?: ReturnType<typeof setTimeout>;
  /** Incoming work that must stay in order (end-to-end opening is asynchronous). */
  private serial: Promise<void> = Promise.resolve();
  private endedMessage?: { reason: EndReason; endedBy?: Role; message: string };
  private end?: SessionEnd;
  private resolveEnded!: (end: SessionEnd) => void;
  private readonly peerWaiters: Array<{ resolve: () => void; reject: (e: unknown) => void }> = [];
  private peerCallback?: (present: boolean) => void;
  private secured?: Deferred<string>;

  /** @internal Built by joinSession once the relay answered Joined. */
  constructor(attempt: ConnectAttempt, joined: Joined, config: SessionConfig) {
    this.attempt = attempt;
    this.config = config;
    this.codec = config.codec;
    const resume = config.resume;
    this.resumeOn = resume?.enabled !== false;
    this.outbound = new Outbound(this.resumeOn
      ? ResumeBuffer.keeping(resume?.maxUnackedFrames ?? 1024, resume?.maxUnackedBytes ?? 4 * 1024 * 1024)
      : ResumeBuffer.counting(), this.codec, {
      link: () => (this.state === "live" && !this.end ? this.link : undefined),
      sealFailed: (e) => this.e2eFailed(e),
    });
    this.inbound = new InboundSequencer(this.resumeOn);
    this.reconnect = new ReconnectPolicy(resume?.graceMs ?? 30_000);
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
    this.rejoinedAfterRestart = joined.replacedIncarnation !== 0n;
    this.peerIncarnation = joined.peerIncarnation;
    // Frames in the relay's rendezvous buffer reach a first peer intact; every later pairing
    // resends. A restarted participant resends from its first pairing on, and takes nothing from
    // the peer before the peer has acknowledged this incarnation.
    this.resendOnPairing = joined.peerPresent || this.rejoinedAfterRestart;
    if (this.rejoinedAfterRestart && this.peerIncarnation !== 0n) this.inbound.fence();
    this.delivery.onUnhandledRestart = (e) => this.endBecauseUnhandled(e);
    if (joined.peerPresent) this.sendAck(true); // names the peer, before anything else
    if (this.codec.endToEnd) {
      this.secured = deferred();
      this.inOrder(() => this.startHandshake());
    }
  }

  /** Whether this session runs end-to-end encryption. */
  get endToEnd(): boolean {
    return this.codec.endToEnd;
  }

  /**
   * End-to-end sessions: resolves with the SAS once the handshake completed and the peer's key
   * confirmation verified (after a peer restart: the new handshake's); rejects with the session's
   * end error if it ends first. Rejects at once for a session without end-to-end encryption.
   */
  get secure(): Promise<string> {
    if (!this.secured) return Promise.reject(new Error("this session was joined without end-to-end encryption (e2e option)"));
    return this.secured.promise;
  }

  /** The short authentication string (6 digits) once {@link secure} resolved, else undefined. */
  get sas(): string | undefined {
    return this.codec.sas;
  }

  /** "websocket" or "grpc-web": the transport this session runs on. */
  get transport(): TransportName {
    return this.link.transport;
  }

  /** Resume: whether the connection is being reopened right now. */
  get isReconnecting(): boolean {
    return this.state === "reconnecting";
  }

  /** Whether the session is still open on this side. */
  get isOpen(): boolean {
    return this.end === undefined;
  }

  /** Bytes sent but not yet taken by the relay. */
  get bufferedAmount(): number {
    return this.link.bufferedAmount();
  }

  private get link(): Link {
    return this.attempt.link;
  }

  /**
   * Sends one frame (at most `limits.maxFrameBytes`, minus 28 bytes with end-to-end encryption).
   * Resolves when the connection can take more; rejects with the session's end error if it is over,
   * or with a `PeerRestartedError` if the peer restarted before the frame went out.
   */
  async send(payload: Uint8Array): Promise<void> {
    this.throwIfEnded();
    if (this.terminateQueued) throw new Error("terminate() was called; the session accepts no more frames");
    const max = this.limits.maxFrameBytes > 0 && this.codec.endToEnd
      ? Math.max(1, this.limits.maxFrameBytes - this.codec.overhead) : this.limits.maxFrameBytes;
    if (max > 0 && payload.length > max) {
      throw new RangeError(`frame of ${payload.length} bytes exceeds the relay's limit of ${max} bytes`
        + (this.codec.endToEnd ? " (frame limit minus 28 bytes of end-to-end overhead)" : "") + "; split it");
    }
    const copy = payload.slice(); // the caller may reuse its buffer while the frame waits
    await this.outbound.send(copy);
    await this.ready();
  }

  /** Resolves when the connection can take more (or immediately once the session is over). */
  ready(): Promise<void> {
    if (this.end) return Promise.resolve();
    return Promise.race([this.link.ready(), this.ended.then(() => undefined)]);
  }

  /**
   * The next frame from the peer. Resolves with `undefined` once the session was terminated and
   * every frame has been read; rejects with the typed error for any other end, and once with a
   * `PeerRestartedError` where the peer restarted.
   */
  async receive(): Promise<Uint8Array | undefined> {
    const r = await this.delivery.next();
    return r.done ? undefined : r.value;
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return { next: () => this.delivery.next() };
  }

  /** Callback style: every frame goes to `callback` (frames already queued first), not to receive(). */
  set onFrame(callback: ((payload: Uint8Array, seq: bigint) => void) | undefined) {
    this.delivery.onFrame = callback;
  }

  /**
   * Callback style: the peer restarted (see {@link PeerRestartedError}); called in order between
   * the frames of its previous and its new incarnation. With `onFrame` set and this unset, the
   * session ends with the error instead (it never goes on with a new peer silently).
   */
  set onPeerRestarted(callback: ((restart: PeerRestartedError) => void) | undefined) {
    this.delivery.restartCallback = callback;
  }

  /** Called with true / false when the peer's connection comes and goes. */
  set onPeer(callback: ((present: boolean) => void) | undefined) {
    this.peerCallback = callback;
  }

  /** Resolves when the peer is present; rejects if the session ends first. */
  waitForPeer(): Promise<void> {
    if (this.peerPresent) return Promise.resolve();
    if (this.end) return Promise.reject(this.endError());
    return new Promise((resolve, reject) => this.peerWaiters.push({ resolve, reject }));
  }

  /**
   * Ends the session for both participants, after the frames already sent. Resolves when the relay
   * confirmed the end. Reason: at most 256 UTF-8 bytes, passed to the peer.
   */
  async terminate(reason = ""): Promise<SessionEnd> {
    if (!this.end && !this.terminateQueued) {
      this.terminateQueued = true;
      this.outbound.terminate(reason); // behind the frames queued before it
    }
    return this.ended;
  }

  /**
   * Drops the connection without ending the session (the peer sees PeerLeft; rejoin with the same
   * ticket). No resume follows.
   */
  close(): void {
    this.closedLocally = true;
    if (this.state === "reconnecting") {
      this.finish({ error: null, reason: "UNKNOWN", message: "closed" });
    }
    this.link.close();
  }

  // ---- incoming ----

  /** @internal What this session does with its attempts' events (the first one's are forwarded here). */
  readonly events: AttemptEvents = {
    joined: () => undefined, // the first attempt's Joined made this session
    message: (a, m) => {
      if (a === this.attempt) this.handle(m);
    },
    closed: (a, code, message, closeCode) => {
      if (a === this.attempt) this.inOrder(() => this.linkClosed(code, message, closeCode));
    },
    unreachable: () => undefined,
  };

  /** One message from the relay on the current link. */
  private handle(m: ServerMessage): void {
    if (this.end || this.violated) return;
    switch (m.kind.case) {
      case "data":
        this.onFrameMessage(m.kind.value.seq, m.kind.value.payload);
        break;
      case "peerJoined":
        this.onPeerJoined(m.kind.value.incarnation);
        break;
      case "peerLeft":
        this.setPeer(false);
        if (m.kind.value.reconnecting) this.onPeerReconnecting?.();
        break;
      case "ack": {
        const named = m.kind.value.incarnation;
        if (named === 0n || named === this.config.incarnation) {
          // Naming us: the peer knows this incarnation, what it sends from now on is meant for it.
          if (named === this.config.incarnation) this.inbound.liftFence();
          this.outbound.onAck(m.kind.value.seq);
        } // else meant for a predecessor of ours that held this role
        break;
      }
      case "sessionEnded": {
        const e = m.kind.value;
        this.endedMessage = { reason: endReasonName(e.reason), endedBy: roleName(e.endedBy), message: e.message };
        break;
      }
      default:
        break; // heartbeats, and kinds a newer relay may add
    }
  }

  private onFrameMessage(seq: bigint, payload: Uint8Array): void {
    const expected = this.inbound.lastAccepted + 1n;
    const verdict = this.inbound.offer(seq);
    if (verdict === "DUPLICATE") {
      this.scheduleAck(); // the peer still holds it: tell it again that we have it
      return;
    }
    if (verdict === "AHEAD" || verdict === "FENCED") return; // resent in order later / not meant for us
    if (verdict === "VIOLATION") {
      // After the frames accepted before it have been delivered.
      this.violated = true;
      this.inOrder(() => this.protocolViolation(`expected frame ${expected} from the peer but got frame ${seq}`));
      return;
    }
    const epoch = this.inboundEpoch;
    this.inOrder(async () => {
      if (this.end) return;
      let opened;
      try {
        opened = await this.codec.open(payload);
      } catch (e) {
        this.e2eFailed(e);
        return;
      }
      if (this.end) return;
      if (opened.plaintext === undefined) {
        // A handshake message: answer it; DATA may be sealed once our CONFIRM is out. One of a peer
        // that has restarted since is not answered: its handshake is over.
        if (epoch !== this.inboundEpoch) return;
        this.outbound.handshake(opened.replies);
        this.delivered(epoch, seq, payload.length);
        if (opened.becameSecure) this.secured?.resolve(this.codec.sas!);
        return;
      }
      this.framesFromPeer++;
      this.delivery.frame(opened.plaintext, seq, () => this.delivered(epoch, seq, payload.length));
    });
  }

  /** Frame `seq` reached the page (or the end-to-end layer consumed it): acknowledge it by the policy. */
  private delivered(epoch: number, seq: bigint, size: number): void {
    if (epoch !== this.inboundEpoch || this.end) return;
    if (this.inbound.delivered(seq, size) === "NOW") this.sendAck(false);
    else this.scheduleAck();
  }

  private onPeerJoined(peer: bigint): void {
    let restarted = false;
    if (this.peerChanged(peer)) {
      this.restart(peer);
      restarted = true;
    } else if (peer !== 0n) {
      this.peerIncarnation = peer;
    }
    if (this.resendOnPairing && !restarted) this.outbound.markResend(); // after any loss, ours or the peer's
    this.resendOnPairing = true;
    this.sendAck(true); // our ack first, so the peer drops what we already have
    this.setPeer(true);
    this.outbound.pump();
  }

  /** Runs `work` after the incoming work before it (frames being opened, a restart being reported). */
  private inOrder(work: () => void | Promise<void>): void {
    this.serial = this.serial.then(work).catch((e) => this.e2eFailed(e));
  }

  // ---- incarnations ----

  private peerChanged(reported: bigint): boolean {
    return reported !== 0n && this.peerIncarnation !== 0n && reported !== this.peerIncarnation;
  }

  /**
   * The peer restarted. Now: our unacknowledged and queued frames are dropped and counted as lost,
   * numbering starts at 1 both ways, frames from the peer are ignored until it acknowledges this
   * incarnation, nothing more is sealed with the old keys, and the ack naming the new incarnation
   * goes out before anything else. In order with the frames still being opened: the report, then a
   * new end-to-end handshake.
   */
  private restart(newPeer: bigint): void {
    const { lostFrames: lost, dropped: doomed } = this.outbound.restart();
    this.inbound.reset();
    this.inboundEpoch++;
    this.inbound.fence();
    this.peerIncarnation = newPeer;
    this.resendOnPairing = true;
    this.codec.pause();
    this.sendAck(true);
    this.inOrder(() => {
      const error = new PeerRestartedError(lost, this.framesFromPeer);
      this.framesFromPeer = 0;
      for (const reject of doomed) reject(error);
      if (this.end) return;
      if (this.delivery.peerRestarted(error) === "unhandled") {
        this.endBecauseUnhandled(error);
        return;
      }
      if (this.codec.endToEnd) {
        this.secured?.reject(error);
        this.secured = deferred();
        // Within this step: the new peer's COMMIT may already be queued behind it.
        return this.startHandshake();
      }
    });
  }

  /** Starts a handshake (new keys); its COMMIT is this side's first frame of the pairing. Runs in order. */
  private async startHandshake(): Promise<void> {
    const hello = await this.codec.start(this.sessionId, this.role);
    if (hello && !this.end) this.outbound.handshake([hello]);
  }

  private endBecauseUnhandled(error: PeerRestartedError): void {
    this.link.terminate("the peer restarted and the application does not handle restarts");
    this.finish({ error, reason: "UNKNOWN", message: error.message });
  }

  // ---- acknowledgements (the policy is InboundSequencer's) ----

  private sendAck(force: boolean): void {
    if (this.state !== "live" || this.end) return;
    const seq = this.inbound.ackValue;
    if ((seq === 0n && this.peerIncarnation === 0n) || (!force && !this.inbound.ackPending)) return;
    this.link.sendAck(seq, this.peerIncarnation);
    this.inbound.acked();
  }

  private scheduleAck(): void {
    if (this.ackTimer !== undefined || this.end) return;
    this.ackTimer = setTimeout(() => {
      this.ackTimer = undefined;
      this.sendAck(true);
    }, ACK_DELAY_MS);
  }

  // ---- ends and reconnects ----

  /** The link is gone: work out why (after the incoming work before it). */
  private linkClosed(code: StatusCode, message: string, closeCode?: number): void {
    if (this.end) return;
    const e = this.endedMessage;
    if (this.resumeOn && !e && !this.closedLocally && code === "UNAVAILABLE") {
      this.beginReconnect(errorForStatus(code, message, closeCode, true));
      return;
    }
    if (e && this.codec.endToEnd && e.reason === "TERMINATED" && e.message.startsWith(TERMINATE_PREFIX)) {
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

  private beginReconnect(cause: RelayError): void {
    this.state = "reconnecting";
    this.reconnect.begin(Date.now(), this.limits.joinDeadlineSeconds);
    this.setPeer(false);
    this.onReconnecting?.(cause);
    this.scheduleReconnect(cause);
  }

  private scheduleReconnect(cause: RelayError): void {
    if (this.end) return;
    if (this.closedLocally) {
      this.finish({ error: null, reason: "UNKNOWN", message: "closed" });
      return;
    }
    const delay = this.reconnect.nextDelayMs(Date.now());
    if (delay < 0) {
      const message = `could not resume the session within ${this.reconnect.window} ms (${this.reconnect.attempts} attempts); last error: ${cause.message}`;
      this.finish({ error: new RelayUnavailableError(message, { code: "UNAVAILABLE" }), reason: "UNKNOWN", message });
      return;
    }
    setTimeout(() => this.reconnectNow(), delay);
  }

  /** Opens a new link with the same ticket and incarnation; on Joined it replaces the lost one. */
  private reconnectNow(): void {
    if (this.end) return;
    if (this.closedLocally) {
      this.finish({ error: null, reason: "UNKNOWN", message: "closed" });
      return;
    }
    const failed = (error: RelayError) => {
      if (this.end) return;
      if (error.code === "UNAVAILABLE") {
        this.reconnect.attemptFailed();
        this.scheduleReconnect(error);
      } else {
        this.finish({ error, reason: "UNKNOWN", message: error.message }); // refused: the relay's verdict
      }
    };
    const events = this.events;
    void new ConnectAttempt(this.config.factory, this.config.incarnation, {
      ...events,
      joined: (a, joined) => this.resumedOn(a, joined),
      closed: (a, code, message, closeCode) => {
        if (!a.joined) failed(errorForStatus(code, message, closeCode, false));
        else events.closed(a, code, message, closeCode);
      },
      unreachable: (_a, message) => failed(new RelayUnavailableError(message, { code: "UNAVAILABLE" })),
    });
  }

  private resumedOn(a: ConnectAttempt, joined: Joined): void {
    if (this.end) {
      a.link.close();
      return;
    }
    if (joined.sessionId !== this.sessionId) {
      a.link.close();
      this.finish({
        error: new ProtocolViolationError("the relay resumed a different session", { code: "DATA_LOSS" }),
        reason: "PROTOCOL_ERROR",
        message: "resumed a different session",
      });
      return;
    }
    if (joined.replacedIncarnation !== 0n) {
      // Another page held this role meanwhile, and the peer has started over with it.
      const message = "another participant joined with this session's ticket while this one was reconnecting";
      a.link.close();
      this.finish({ error: new RoleTakenError(message, { code: "ALREADY_EXISTS" }), reason: "UNKNOWN", message });
      return;
    }
    this.attempt = a;
    this.state = "live";
    this.endedMessage = undefined;
    this.outbound.relinked();
    if (this.peerChanged(joined.peerIncarnation)) {
      this.restart(joined.peerIncarnation); // the peer restarted while we were away
    } else {
      if (joined.peerIncarnation !== 0n) this.peerIncarnation = joined.peerIncarnation;
      if (joined.peerPresent) {
        this.resendOnPairing = true;
        this.outbound.markResend();
      }
    }
    if (joined.peerPresent) {
      this.sendAck(true); // the current ack first, then retransmissions, then new frames
      this.setPeer(true);
    }
    this.onResumed?.();
    this.outbound.pump();
  }

  private protocolViolation(detail: string): void {
    this.link.terminate("protocol error: " + detail);
    this.finish({ error: new ProtocolViolationError(detail, { code: "DATA_LOSS" }), reason: "PROTOCOL_ERROR", message: detail });
    this.link.close();
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

  private setPeer(present: boolean): void {
    this.peerPresent = present;
    if (present) for (const w of this.peerWaiters.splice(0)) w.resolve();
    this.peerCallback?.(present);
  }

  private endError(): RelayError {
    const end = this.end!;
    return end.error ?? new SessionEndedError("the session has ended: " + end.message, end.reason, end.endedBy, { code: "FAILED_PRECONDITION" });
  }

  private throwIfEnded(): void {
    if (this.end) throw this.endError();
  }

  private finish(end: SessionEnd): void {
    if (this.end) return;
    this.end = end;
    this.state = "ended";
    if (this.ackTimer !== undefined) clearTimeout(this.ackTimer);
    const error = this.endError();
    this.outbound.clear(error);
    this.delivery.ended(end.error);
    for (const w of this.peerWaiters.splice(0)) w.reject(error);
    this.secured?.reject(error);
    this.codec.close();
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
