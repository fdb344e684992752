import { RelayError, RelayUnavailableError, errorForStatus, type StatusCode } from "./errors.js";
import { GrpcWebLink } from "./grpcweb.js";
import { RelaySession, type Link, type LinkListener } from "./session.js";
import { WebSocketLink } from "./websocket.js";
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

export interface JoinOptions extends Partial<RelayClientOptions> {
  /** The session id (not secret) for routing: sent as `?session=` / `x-session-id`. */
  sessionId?: string;
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
  async joinSession(ticket: string, options: { sessionId?: string } = {}): Promise<RelaySession> {
    const o = this.options;
    if (o.transport === "grpc-web") {
      return open((l) => new GrpcWebLink(o.endpoint, ticket, options.sessionId, l, o.highWaterMark));
    }
    try {
      return await open((l) => new WebSocketLink(webSocketUrl(o.endpoint, options.sessionId), ticket, l, o.highWaterMark, o.openTimeoutMs));
    } catch (e) {
      if (o.transport === "auto" && e instanceof Unreachable) {
        return open((l) => new GrpcWebLink(o.endpoint, ticket, options.sessionId, l, o.highWaterMark));
      }
      throw e instanceof Unreachable ? new RelayUnavailableError(e.message, { code: "UNAVAILABLE" }) : e;
    }
  }
}

/** One-shot form: `joinSession(ticket, { endpoint, transport })`. */
export function joinSession(ticket: string, options: JoinOptions & { endpoint: string }): Promise<RelaySession> {
  return new RelayClient(options).joinSession(ticket, { sessionId: options.sessionId });
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
function open(makeLink: (listener: LinkListener & { unreachable(message: string): void }) => Link): Promise<RelaySession> {
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
          session = new RelaySession(link, m.kind.value);
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
