import { RelayError, RelayUnavailableError, errorForStatus, type StatusCode } from "./errors.js";
import { GrpcWebLink } from "./grpcweb.js";
import { RelaySession, type E2eSetup, type Link, type LinkListener, type Relinker, type ResumeOptions } from "./session.js";
import { checkPairingSecret, generateE2eKeyPair, type EndToEndOptions } from "./e2e.js";
import { WebSocketLink } from "./websocket.js";
import { traceContext, type TraceContextOptions } from "./trace.js";
import type { ServerMessage } from "./wire.js";

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
  /** Resume over WebSocket (on by default; `{ enabled: false }` turns it off). See ResumeOptions. */
  resume?: ResumeOptions;
}

/** Per-join options of {@link RelayClient.joinSession}. */
export interface SessionJoinOptions extends TraceContextOptions {
  sessionId?: string;
  e2e?: EndToEndOptions;
  /** Resume over WebSocket (on by default; `{ enabled: false }` turns it off). See ResumeOptions. */
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
    let e2e: E2eSetup | undefined;
    if (options.e2e) {
      const secret = options.e2e.pairingSecret;
      if (secret !== undefined) checkPairingSecret(secret);
      // Before connecting: a browser without X25519 fails here (EndToEndUnsupportedError), not mid-session.
      e2e = { pairingSecret: secret?.slice(), keys: await generateE2eKeyPair() };
    }
    if (o.transport === "grpc-web") {
      return open((l) => new GrpcWebLink(o.endpoint, ticket, options.sessionId, l, o.highWaterMark, trace), e2e);
    }
    try {
      const webSocket: Relinker = (l) => new WebSocketLink(webSocketUrl(o.endpoint, options.sessionId), ticket, l, o.highWaterMark, o.openTimeoutMs, trace);
      return await open(webSocket, e2e, webSocket, options.resume);
    } catch (e) {
      if (o.transport === "auto" && e instanceof Unreachable) {
        return open((l) => new GrpcWebLink(o.endpoint, ticket, options.sessionId, l, o.highWaterMark, trace), e2e);
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
 * Opens a link and waits for Joined. Messages after Joined that arrive before the session exists
 * (PeerJoined, early frames) are replayed to it in order.
 */
function open(makeLink: (listener: LinkListener & { unreachable(message: string): void }) => Link, e2e?: E2eSetup,
  relink?: Relinker, resume?: ResumeOptions): Promise<RelaySession> {
  return new Promise((resolve, reject) => {
    let session: RelaySession | undefined;
    const early: Array<() => void> = [];
    let settled = false;
    const listener = {
      message(m: ServerMessage) {
        if (session) {
          session.handle(m);
        } else if (m.kind.case === "joined" && !settled) {
          settled = true;
          session = new RelaySession(link, m.kind.value, e2e, relink, resume);
          resolve(session);
          // Deliver what came with Joined after the caller had a chance to attach callbacks.
          queueMicrotask(() => {
            for (const f of early.splice(0)) f();
          });
        } else {
          early.push(() => session?.handle(m));
        }
      },
      closed(code: StatusCode, message: string, closeCode?: number) {
        if (session && early.length === 0) {
          session.closed(code, message, closeCode);
        } else if (session) {
          early.push(() => session?.closed(code, message, closeCode));
        } else if (!settled) {
          settled = true;
          reject(errorForStatus(code, message, closeCode, false));
        }
      },
      unreachable(message: string) {
        if (!settled) {
          settled = true;
          reject(new Unreachable(message));
        }
      },
    };
    const link: Link = makeLink(listener);
  });
}

export { RelayError };
