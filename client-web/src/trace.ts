/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/) for a join, so the relay's spans of a
 * browser session continue the page's trace: sent as the `traceparent` / `tracestate` headers on
 * gRPC-Web requests (Envoy and the relay continue the trace), and inside the first WebSocket
 * message (the Join), because browsers cannot set headers on a WebSocket.
 */
export interface TraceContextOptions {
  /**
   * The W3C `traceparent` of the page's current span, e.g. what `@opentelemetry/api`'s
   * `propagation.inject(context.active(), carrier)` writes: `00-<32 hex trace id>-<16 hex span id>-<2 hex flags>`.
   */
  traceparent?: string;
  /** The matching W3C `tracestate` (optional; at most 512 characters). */
  tracestate?: string;
  /**
   * Only a trace id (32 lowercase hex digits, not all zero), when the page has no span of its own:
   * the SDK sends a `traceparent` with this trace id, a random parent span id and the sampled flag.
   * Ignored when `traceparent` is given.
   */
  traceId?: string;
}

/** What is sent: a validated traceparent and, if any, its tracestate. */
export interface TraceContext {
  traceparent: string;
  tracestate?: string;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const TRACE_ID = /^[0-9a-f]{32}$/;
const MAX_TRACESTATE = 512;

/**
 * The trace context to send, or undefined when none was given. Throws a TypeError for a malformed
 * `traceparent` or `traceId` (a programming error, reported before anything is sent).
 */
export function traceContext(options: TraceContextOptions): TraceContext | undefined {
  let traceparent = options.traceparent?.trim();
  if (traceparent) {
    const m = TRACEPARENT.exec(traceparent);
    if (!m || m[1] === "ff" || (m[1] === "00" && m[5] !== undefined) || /^0+$/.test(m[2]) || /^0+$/.test(m[3])) {
      throw new TypeError(`traceparent must be a W3C traceparent (00-<32 hex>-<16 hex>-<2 hex>), got "${traceparent}"`);
    }
  } else if (options.traceId !== undefined) {
    const id = options.traceId.trim().toLowerCase();
    if (!TRACE_ID.test(id) || /^0+$/.test(id)) {
      throw new TypeError(`traceId must be 32 hex digits, not all zero, got "${options.traceId}"`);
    }
    traceparent = `00-${id}-${randomSpanId()}-01`;
  } else {
    return undefined;
  }
  const tracestate = options.tracestate?.trim();
  return tracestate && tracestate.length <= MAX_TRACESTATE ? { traceparent, tracestate } : { traceparent };
}

/** The headers a gRPC-Web request carries for this trace context. */
export function traceHeaders(trace: TraceContext | undefined): Record<string, string> {
  if (!trace) return {};
  return trace.tracestate ? { traceparent: trace.traceparent, tracestate: trace.tracestate } : { traceparent: trace.traceparent };
}

function randomSpanId(): string {
  const b = new Uint8Array(8);
  do {
    crypto.getRandomValues(b);
  } while (b.every((x) => x === 0));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}
