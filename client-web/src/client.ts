import { RelayError, RelayUnavailableError, errorForStatus } from "./errors.js";
import { ConnectAttempt, newIncarnation } from "./connect-attempt.js";
import { checkPairingSecret, generateE2eKeyPair, type EndToEndOptions } from "./e2e/keys.js";
import { E2eCodec, PLAIN_CODEC, type FrameCodec } from "./frame-codec.js";
import { GrpcWebLink } from "./grpcweb.js";
import type { LinkFactory } from "./link.js";
import { RelaySession, type ResumeOptions } from "./session.js";
import { traceContext, type TraceContextOptions } from "./trace.js";
import { WebSocketLink } from "./websocket.js";

export type TransportChoice = "websocket" | "grpc-web" | "auto";

export interface RelayClientOptions {
  /**
   * The relay's HTTP endpoint, e.g. "https://relay.example.com" (through Envoy) or
   * "http://127.0.0.1:8080" (a development relay). WebSocket uses `<endpoint>/ws` with ws(s)://,
   * gRPC-Web posts to `<endpoint>/relay.v1.RelayService/…`.
   */
  endpoint: string;
  /** "auto" (default): WebSocket, and gRPC-Web if a WebSocket cannot be opened at all. */
  transport?: TransportChoice;
  /** send() resolves while at most this many bytes wait to be taken by the relay. Default 64 KiB. */
  highWaterMark?: number;
  /** How long a WebSocket may take to open before "auto" falls back. Default 5000 ms. */
  openTimeoutMs?: number;
}

export interface JoinOptions extends Partial<RelayClientOptions>, TraceContextOptions {
  /** The session id (not secret) for routing: sent as `?session=` / `x-session-id`. */
  sessionId?: string;
  /**
   * End-to-end encryption (docs/e2e-protocol.md), interoperable with the Java SDK's
   * `JoinOptions.endToEnd(secret)` / `endToEndWithSas()`: `{ pairingSecret }` (16..1024 bytes,
   * delivered with the invitation, never through the relay), or `{}` to rely on comparing
   * `session.sas`. Both participants must join the same way.
   */
  e2e?: EndToEndOptions;
  /** Resume (on by default, WebSocket and gRPC-Web; `{ enabled: false }` turns it off). See ResumeOptions. */
  resume?: ResumeOptions;
}

/** Per-join options of {@link RelayClient.joinSession}. */
export interface SessionJoinOptions extends TraceContextOptions {
  sessionId?: string;
  e2e?: EndToEndOptions;
  /** Resume (on by default, WebSocket and gRPC-Web; `{ enabled: false }` turns it off). See ResumeOptions. */
  resume?: ResumeOptions;
}

/** Entry point, built once per relay endpoint and shared (the counterpart of the Java RelayClient). */
export class RelayClient {
  readonly options: Required<RelayClientOptions>;

  constructor(options: RelayClientOptions) {
    this.options = {
      endpoint: options.endpoint.replace(/\/+$/, ""),
      transport: options.transport ?? "auto",
      highWaterMark: options.highWaterMark ?? 64 * 1024,
      openTimeoutMs: options.openTimeoutMs ?? 5000,
    };
  }

  /**
   * Joins the ticket's session. Resolves once the relay answered Joined; rejects with a typed
   * {@link RelayError} (TicketRejectedError, RoleTakenError, SessionEndedError, …) otherwise.
   */
  async joinSession(ticket: string, options: SessionJoinOptions = {}): Promise<RelaySession> {
    const o = this.options;
    // W3C trace context: gRPC-Web headers, or the Join message on a WebSocket (see trace.ts).
    const trace = traceContext(options);
    let codec: FrameCodec = PLAIN_CODEC;
    if (options.e2e) {
      const secret = options.e2e.pairingSecret;
      if (secret !== undefined) checkPairingSecret(secret);
      // Before connecting: a browser without X25519 fails here (EndToEndUnsupportedError), not mid-session.
      codec = new E2eCodec(secret?.slice(), await generateE2eKeyPair());
    }
    const grpcWeb: LinkFactory = (l, incarnation) =>
      new GrpcWebLink(o.endpoint, ticket, options.sessionId, l, o.highWaterMark, trace, incarnation);
    if (o.transport === "grpc-web") {
      return openSession(grpcWeb, codec, options.resume);
    }
    const webSocket: LinkFactory = (l, incarnation) =>
      new WebSocketLink(webSocketUrl(o.endpoint, options.sessionId), ticket, l, o.highWaterMark, o.openTimeoutMs, trace, incarnation);
    try {
      return await openSession(webSocket, codec, options.resume);
    } catch (e) {
      if (o.transport === "auto" && e instanceof Unreachable) {
        return openSession(grpcWeb, codec, options.resume);
      }
      throw e instanceof Unreachable ? new RelayUnavailableError(e.message, { code: "UNAVAILABLE" }) : e;
    }
  }
}

/** One-shot form: `joinSession(ticket, { endpoint, transport })`. */
export function joinSession(ticket: string, options: JoinOptions & { endpoint: string }): Promise<RelaySession> {
  return new RelayClient(options).joinSession(ticket, {
    sessionId: options.sessionId,
    e2e: options.e2e,
    resume: options.resume,
    traceparent: options.traceparent,
    tracestate: options.tracestate,
    traceId: options.traceId,
  });
}

export function webSocketUrl(endpoint: string, sessionId?: string): string {
  const base = endpoint.replace(/^http(s?):\/\//, "ws$1://").replace(/\/+$/, "");
  return base + "/ws" + (sessionId ? "?session=" + encodeURIComponent(sessionId) : "");
}

/** The transport could not be reached at all (as opposed to the relay refusing). */
class Unreachable extends Error {}

/**
 * @internal Opens the first link (a new incarnation) and resolves with the session once the relay
 * answered Joined. What comes with Joined (PeerJoined, early frames) reaches the session only after
 * the caller had a chance to attach its callbacks, in order.
 */
export function openSession(factory: LinkFactory, codec: FrameCodec, resume?: ResumeOptions): Promise<RelaySession> {
  return new Promise((resolve, reject) => {
    const incarnation = newIncarnation();
    const early: Array<() => void> = [];
    let session: RelaySession | undefined;
    let attached = false;
    const later = (f: () => void) => (attached ? f() : early.push(f));
    void new ConnectAttempt(factory, incarnation, {
      joined(attempt, joined) {
        const s = new RelaySession(attempt, joined, { factory, incarnation, codec, resume });
        session = s;
        resolve(s);
        setTimeout(() => {
          attached = true;
          for (const f of early.splice(0)) f();
        }, 0);
      },
      message: (a, m) => later(() => session!.events.message(a, m)),
      closed(a, code, message, closeCode) {
        if (session) later(() => session!.events.closed(a, code, message, closeCode));
        else reject(errorForStatus(code, message, closeCode, false));
      },
      unreachable(_a, message) {
        reject(new Unreachable(message));
      },
    });
  });
}

export { RelayError };
