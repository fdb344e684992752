import { STATUS_CODES, type StatusCode } from "./errors.js";
import { FrameParser, frame, parseTrailers } from "./grpcweb-framing.js";
import type { Link, LinkListener } from "./link.js";
import { traceHeaders, type TraceContext } from "./trace.js";
import {
  decodeSendResponse, decodeServerMessage, encodeReceiveRequest, encodeSendRequest, type OutgoingAck, type OutgoingFrame,
} from "./wire.js";

const SERVICE = "/relay.v1.RelayService/";
const MAX_SEND_ATTEMPTS = 8;
/**
 * A Send refused because the relay knows no live Receive stream for its token (FAILED_PRECONDITION)
 * only says the stream is gone, not why: the Receive stream tells that (SessionEnded and its
 * status, or a break), and its answer may still be on the way. It gets this long; then the link
 * counts as lost (UNAVAILABLE), so the session resumes on a new Receive stream.
 */
export const TOKEN_LOST_WAIT_MS = 2000;

function statusName(n: number): StatusCode {
  return STATUS_CODES[n] ?? "UNKNOWN";
}

/**
 * The gRPC-Web fallback: a Receive server stream (fetch with a streamed body) for the relay's
 * messages, and unary Sends for this side's frames and acks. Frames carry consecutive seq numbers,
 * so a Send that failed in transit is simply sent again; the relay acknowledges duplicates. {@link
 * ready} waits while more than the high-water mark of frame bytes is not yet taken by the relay;
 * the relay takes a frame only once the peer could take it. The session's acks of the peer's
 * frames ride on the next Send (SendRequest.ack; a Send may carry only that), so a page on
 * gRPC-Web resumes like one on WebSocket: after a lost Receive stream the session opens a new
 * link, whose first Send may continue the numbering. When the peer re-pairs, the session hands this
 * link its unacknowledged frames again, with their old seqs: what is still pending from the first
 * of them on is replaced, and a Send whose first frame the relay has already accepted is marked
 * `resend`, so the relay forwards those frames again instead of taking them for a retry
 * (SendRequest.resend).
 */
export class GrpcWebLink implements Link {
  readonly transport = "grpc-web" as const;
  private readonly endpoint: string;
  private readonly headers: Record<string, string>;
  private readonly highWaterMark: number;
  private readonly listener: LinkListener;
  private readonly abort = new AbortController();
  private sessionId = "";
  private sendToken = "";
  private readonly pending: OutgoingFrame[] = [];
  private unackedBytes = 0;
  /** The seq last handed to this link: a frame at or below it starts a resend (new frames come next in line). */
  private lastSeq = 0n;
  /** The relay's last answer: every frame up to this seq accepted (Sends go one at a time, so it is current). */
  private relayAcked = 0n;
  private terminateReason?: string;
  /** The newest ack not yet carried by a Send (cumulative: a newer one replaces it). */
  private pendingAck?: OutgoingAck;
  private pumping = false;
  private done = false;
  private whenDone!: () => void;
  private readonly finished = new Promise<void>((resolve) => (this.whenDone = resolve));
  private readyWaiters: Array<() => void> = [];
  private maxBatchBytes = 64 * 1024;

  /**
   * `trace`: the page's W3C trace context, sent as `traceparent`/`tracestate` on every request
   * (Envoy continues it); `incarnation`: the session's, sent in the ReceiveRequest.
   */
  constructor(endpoint: string, ticket: string, sessionId: string | undefined, listener: LinkListener, highWaterMark: number,
    trace: TraceContext | undefined, private readonly incarnation: bigint) {
    this.endpoint = endpoint.replace(/\/+$/, "");
    this.listener = listener;
    this.highWaterMark = highWaterMark;
    this.headers = { "content-type": "application/grpc-web+proto", "x-grpc-web": "1", ...traceHeaders(trace) };
    if (sessionId) this.headers["x-session-id"] = sessionId;
    void this.receive(ticket);
  }

  private async receive(ticket: string): Promise<void> {
    let response: Response;
    try {
      response = await fetch(this.endpoint + SERVICE + "Receive", {
        method: "POST",
        headers: this.headers,
        body: frame(encodeReceiveRequest(ticket, this.incarnation)),
        signal: this.abort.signal,
      });
    } catch (e) {
      this.finishUnreachable(`cannot reach the relay's gRPC-Web endpoint ${this.endpoint}: ${String(e)}`);
      return;
    }
    if (response.status === 403) {
      this.finish("PERMISSION_DENIED", (await response.text()).trim() || "this origin is not allowed by the relay");
      return;
    }
    if (!response.ok || !response.body) {
      this.finishUnreachable(`gRPC-Web endpoint answered HTTP ${response.status}`);
      return;
    }
    const headerStatus = response.headers.get("grpc-status");
    const parser = new FrameParser();
    const reader = response.body.getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        for (const part of parser.push(value)) {
          if (part.kind === "trailers") {
            this.finish(statusName(part.status), part.message);
            return;
          }
          const m = decodeServerMessage(part.bytes);
          if (m.kind.case === "joined") {
            this.sessionId = m.kind.value.sessionId;
            this.sendToken = m.kind.value.sendToken;
            const limit = m.kind.value.limits?.maxFrameBytes ?? 0;
            if (limit > 0) this.maxBatchBytes = limit;
            this.headers["x-session-id"] = this.sessionId;
          }
          this.listener.message(m);
          if (m.kind.case === "joined") void this.pump(); // what was handed over before Joined
        }
      }
      if (headerStatus !== null) {
        // Trailers-only response (e.g. through Envoy): the status came with the headers.
        this.finish(statusName(Number(headerStatus)), decodeURIComponent(response.headers.get("grpc-message") ?? ""));
      } else {
        this.finish("UNAVAILABLE", "the Receive stream ended without a status");
      }
    } catch (e) {
      this.finish("UNAVAILABLE", `the Receive stream broke: ${String(e)}`);
    }
  }

  sendFrame(seq: bigint, payload: Uint8Array): void {
    if (seq <= this.lastSeq) {
      // A resend after a re-pairing: these seqs come again, in order, and replace what is pending
      // from the first of them on (a Send under way that carried them no longer counts).
      for (let i = this.pending.length - 1; i >= 0; i--) {
        if (this.pending[i].seq >= seq) this.unackedBytes -= this.pending.splice(i, 1)[0].payload.length;
      }
    }
    this.lastSeq = seq;
    this.pending.push({ seq, payload });
    this.unackedBytes += payload.length;
    void this.pump();
  }

  sendAck(seq: bigint, incarnation: bigint): void {
    this.pendingAck = { seq, incarnation };
    void this.pump();
  }

  bufferedAmount(): number {
    return this.unackedBytes;
  }

  ready(): Promise<void> {
    if (this.unackedBytes <= this.highWaterMark || this.done) return Promise.resolve();
    return new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  terminate(reason: string): void {
    this.terminateReason = reason;
    void this.pump();
  }

  close(): void {
    this.abort.abort();
    this.finish("CANCELLED", "closed by the application");
  }

  /** Sends the pending ack and frames (and a terminate after them), one Send at a time, in order. */
  private async pump(): Promise<void> {
    if (this.pumping || !this.sendToken) return; // nothing can be sent before Joined named the token
    this.pumping = true;
    try {
      let attempt = 0;
      while (!this.done && (this.pending.length > 0 || this.terminateReason !== undefined || this.pendingAck !== undefined)) {
        const batch: OutgoingFrame[] = [];
        let bytes = 0;
        for (const f of this.pending) {
          if (batch.length > 0 && bytes + f.payload.length > this.maxBatchBytes) break;
          batch.push(f);
          bytes += f.payload.length;
        }
        const withTerminate = batch.length === this.pending.length ? this.terminateReason : undefined;
        const ack = this.pendingAck;
        this.pendingAck = undefined;
        const resend = batch.length > 0 && batch[0].seq <= this.relayAcked;
        const body = frame(encodeSendRequest(this.sessionId, this.sendToken, batch, withTerminate, ack, resend));
        let acked: bigint;
        try {
          acked = await this.send(body);
        } catch (e) {
          if (this.pendingAck === undefined) this.pendingAck = ack; // unless a newer one came meanwhile
          if (e instanceof SendFailure && e.code === "FAILED_PRECONDITION") {
            // The token's Receive stream is gone: let the stream say how (e.g. SessionEnded after
            // the peer terminated, or a break), else resume on a new one.
            await Promise.race([this.finished, sleep(TOKEN_LOST_WAIT_MS)]);
            if (!this.done) {
              this.abort.abort();
              this.finish("UNAVAILABLE", `the relay no longer knows this Receive stream (${e.message})`);
            }
            return;
          }
          if (e instanceof SendFailure && !e.retry) {
            this.abort.abort();
            this.finish(e.code, e.message);
            return;
          }
          if (++attempt >= MAX_SEND_ATTEMPTS) {
            this.abort.abort();
            this.finish("UNAVAILABLE", `Send failed ${attempt} times: ${String(e)}`);
            return;
          }
          await sleep(Math.min(50 * 2 ** attempt, 2000));
          continue;
        }
        let progressed = false;
        // Only this Send's own frames are done (a resend may have replaced them meanwhile).
        for (const f of batch) {
          const i = f.seq <= acked ? this.pending.indexOf(f) : -1;
          if (i >= 0) {
            this.unackedBytes -= this.pending.splice(i, 1)[0].payload.length;
            progressed = true;
          }
        }
        this.relayAcked = acked;
        if (this.unackedBytes <= this.highWaterMark) {
          for (const w of this.readyWaiters.splice(0)) w();
        }
        if (withTerminate !== undefined && this.pending.length === 0) {
          this.terminateReason = undefined; // the relay ends the session; the Receive stream reports it
        }
        if (!progressed && batch.length > 0) {
          // The peer could not take more within the relay's send wait: try again shortly.
          await sleep(100);
        }
        attempt = 0;
      }
    } finally {
      this.pumping = false;
    }
  }

  private async send(body: Uint8Array<ArrayBuffer>): Promise<bigint> {
    const response = await fetch(this.endpoint + SERVICE + "Send", { method: "POST", headers: this.headers, body });
    if (!response.ok) {
      throw new SendFailure(response.status === 403 ? "PERMISSION_DENIED" : "UNAVAILABLE", `Send answered HTTP ${response.status}`, response.status >= 500);
    }
    const parts = new FrameParser().push(new Uint8Array(await response.arrayBuffer()));
    let acked: bigint | undefined;
    let status = response.headers.get("grpc-status") !== null
      ? parseTrailers(`grpc-status:${response.headers.get("grpc-status")}\r\ngrpc-message:${response.headers.get("grpc-message") ?? ""}`)
      : undefined;
    for (const p of parts) {
      if (p.kind === "message") acked = decodeSendResponse(p.bytes).ackedSeq;
      else status = p;
    }
    if (!status || status.status !== 0) {
      const code = status ? statusName(status.status) : "UNKNOWN";
      throw new SendFailure(code, status?.message ?? "Send ended without a status", code === "UNAVAILABLE");
    }
    return acked ?? 0n;
  }

  private finishUnreachable(message: string): void {
    if (this.done) return;
    this.done = true;
    this.whenDone();
    for (const w of this.readyWaiters.splice(0)) w();
    this.listener.unreachable(message);
  }

  private finish(code: StatusCode, message: string): void {
    if (this.done) return;
    this.done = true;
    this.whenDone();
    for (const w of this.readyWaiters.splice(0)) w();
    this.listener.closed(code, message);
  }
}

class SendFailure extends Error {
  constructor(readonly code: StatusCode, message: string, readonly retry: boolean) {
    super(message);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
