/**
 * One connection of a session to the relay: the first join, or a rejoin after a loss (the Java
 * SDK's ConnectAttempt). It opens a link (WebSocket or gRPC-Web) whose Join carries the session's
 * incarnation, waits for Joined, and then hands the relay's messages on in order.
 */
import type { StatusCode } from "./errors.js";
import type { Link, LinkFactory, LinkListener } from "./link.js";
import type { ServerMessage } from "./wire.js";

export type Joined = Extract<ServerMessage["kind"], { case: "joined" }>["value"];

/** What a session hears from its attempts. */
export interface AttemptEvents {
  joined(attempt: ConnectAttempt, joined: Joined): void;
  message(attempt: ConnectAttempt, message: ServerMessage): void;
  closed(attempt: ConnectAttempt, code: StatusCode, message: string, closeCode?: number): void;
  /** The transport could not be reached at all (before Joined). */
  unreachable(attempt: ConnectAttempt, message: string): void;
}

export class ConnectAttempt {
  readonly link: Link;
  private joinedHere = false;
  private over = false;

  constructor(factory: LinkFactory, incarnation: bigint, private readonly events: AttemptEvents) {
    const listener: LinkListener = {
      message: (m) => {
        if (this.over) return;
        if (this.joinedHere) {
          this.events.message(this, m);
        } else if (m.kind.case === "joined") {
          this.joinedHere = true;
          this.events.joined(this, m.kind.value);
        }
      },
      closed: (code, message, closeCode) => {
        if (this.over) return;
        this.over = true;
        this.events.closed(this, code, message, closeCode);
      },
      unreachable: (message) => {
        if (this.over) return;
        this.over = true;
        this.events.unreachable(this, message);
      },
    };
    this.link = factory(listener, incarnation);
  }

  /** Whether the relay answered Joined on this attempt. */
  get joined(): boolean {
    return this.joinedHere;
  }
}

/** A random non-zero 64-bit incarnation, once per session object (docs/resume.md). */
export function newIncarnation(): bigint {
  const v = new BigUint64Array(1);
  do {
    globalThis.crypto.getRandomValues(v);
  } while (v[0] === 0n);
  return v[0];
}
