/**
 * The transport seam (in the manner of connect-es): a {@link Link} is one connection to the relay
 * for one join — a WebSocket (websocket.ts) or a gRPC-Web Receive stream plus its Sends
 * (grpcweb.ts). Internal: applications use RelaySession.
 */
import type { StatusCode } from "./errors.js";
import type { ServerMessage } from "./wire.js";

export type TransportName = "websocket" | "grpc-web";

/** What a transport does for a session. */
export interface Link {
  readonly transport: TransportName;
  /** Hands one frame to the connection, in call order. */
  sendFrame(seq: bigint, payload: Uint8Array): void;
  /** Sends a cumulative Ack of the peer's frames, naming the peer incarnation it is meant for. */
  sendAck(seq: bigint, incarnation: bigint): void;
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
  /** The transport could not be reached at all (as opposed to the relay refusing). */
  unreachable(message: string): void;
}

/** Opens a link with the session's ticket; its Join carries `incarnation`. */
export type LinkFactory = (listener: LinkListener, incarnation: bigint) => Link;
