import type { StatusCode } from "./errors.js";
import { statusForCloseCode } from "./errors.js";
import type { Link, LinkListener } from "./link.js";
import type { TraceContext } from "./trace.js";
import { decodeServerMessage, encodeAck, encodeData, encodeJoin, encodeTerminate } from "./wire.js";

/**
 * The WebSocket transport: one binary message per ClientMessage / ServerMessage on `/ws` of the
 * relay's HTTP port. Back-pressure through `bufferedAmount`: the relay stops reading this socket
 * while the peer cannot take more, so the browser's buffer fills and {@link ready} waits.
 */
export class WebSocketLink implements Link {
  readonly transport = "websocket" as const;
  private readonly ws: WebSocket;
  private readonly highWaterMark: number;
  private opened = false;
  private joined = false;
  private done = false;

  /**
   * `trace`: the page's W3C trace context, sent in the Join (browsers cannot set WebSocket headers);
   * `incarnation`: the session's, sent in the Join.
   */
  constructor(url: string, ticket: string, listener: LinkListener, highWaterMark: number, openTimeoutMs: number,
    trace: TraceContext | undefined, incarnation: bigint) {
    this.highWaterMark = highWaterMark;
    this.ws = new WebSocket(url);
    this.ws.binaryType = "arraybuffer";
    const timer = setTimeout(() => {
      if (!this.opened && !this.done) {
        this.done = true;
        this.ws.close();
        listener.unreachable(`WebSocket ${url} did not open within ${openTimeoutMs} ms`);
      }
    }, openTimeoutMs);
    this.ws.onopen = () => {
      clearTimeout(timer);
      this.opened = true;
      this.ws.send(encodeJoin(ticket, trace, incarnation));
    };
    this.ws.onmessage = (ev: MessageEvent) => {
      if (!(ev.data instanceof ArrayBuffer)) return;
      const m = decodeServerMessage(new Uint8Array(ev.data));
      if (m.kind.case === "joined") this.joined = true;
      listener.message(m);
    };
    this.ws.onclose = (ev: CloseEvent) => {
      clearTimeout(timer);
      if (this.done) return;
      this.done = true;
      if (!this.opened) {
        listener.unreachable(`cannot open WebSocket ${url} (blocked, refused or not a relay)`);
        return;
      }
      const code: StatusCode = statusForCloseCode(ev.code, this.joined);
      const reason = ev.reason || (ev.code === 1006 ? "connection to the relay lost" : `closed with code ${ev.code}`);
      listener.closed(code, reason, ev.code);
    };
  }

  sendFrame(seq: bigint, payload: Uint8Array): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(encodeData(seq, payload));
  }

  sendAck(seq: bigint, incarnation: bigint): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(encodeAck(seq, incarnation));
  }

  bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  ready(): Promise<void> {
    if (this.ws.bufferedAmount <= this.highWaterMark || this.ws.readyState !== WebSocket.OPEN) {
      return Promise.resolve();
    }
    // Browsers fire no event when bufferedAmount drops: poll, gently.
    return new Promise((resolve) => {
      let delay = 2;
      const check = () => {
        if (this.ws.bufferedAmount <= this.highWaterMark || this.ws.readyState !== WebSocket.OPEN) {
          resolve();
        } else {
          delay = Math.min(delay * 2, 50);
          setTimeout(check, delay);
        }
      };
      setTimeout(check, delay);
    });
  }

  terminate(reason: string): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(encodeTerminate(reason));
  }

  close(): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) {
      this.ws.close(1000, "client closed");
    }
  }
}
