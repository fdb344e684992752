package dev.checkmate.relay.telemetry;

import dev.checkmate.relay.proto.v1.Join;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapGetter;
import java.util.List;
import java.util.function.Function;

/**
 * A client's W3C Trace Context on transports without a gRPC server interceptor: the {@code
 * traceparent}/{@code tracestate} fields of the WebSocket's first message (Join; browsers cannot
 * set WebSocket headers) and the headers of a gRPC-Web Receive served on the relay's own HTTP port.
 * Make the returned context current around {@code Connection.join}: {@code relay.join}, {@code
 * relay.wait_for_peer} and {@code relay.session} then continue the client's trace.
 *
 * <p>Extraction uses the W3C propagator, which ignores malformed values (the current context is
 * returned then). Over-long values are ignored before parsing. Cheap when nothing is sent: one
 * empty-string check. Without telemetry ({@code --no-telemetry}) the context is simply unused.
 */
public final class RemoteTraceContext {
  /** {@code 00-<32 hex>-<16 hex>-<2 hex>} is 55 characters; future versions may append fields. */
  static final int MAX_TRACEPARENT = 256;
  /** The W3C limit for tracestate (32 members) is 512 characters. */
  static final int MAX_TRACESTATE = 512;

  private static final TextMapGetter<Function<String, String>> GETTER = new TextMapGetter<>() {
    @Override
    public Iterable<String> keys(Function<String, String> carrier) {
      return List.of("traceparent", "tracestate");
    }

    @Override
    public String get(Function<String, String> carrier, String key) {
      return carrier == null ? null : carrier.apply(key);
    }
  };

  private RemoteTraceContext() {}

  /** The context a Join asks to continue, or the current context if it carries none. */
  public static Context fromJoin(Join join) {
    return extract(join.getTraceparent(), join.getTracestate());
  }

  /** The context of W3C {@code traceparent}/{@code tracestate} values (null or empty: none). */
  public static Context extract(String traceparent, String tracestate) {
    Context current = Context.current();
    if (traceparent == null || traceparent.isEmpty() || traceparent.length() > MAX_TRACEPARENT) {
      return current;
    }
    String state = tracestate == null || tracestate.length() > MAX_TRACESTATE ? "" : tracestate;
    Function<String, String> carrier = key -> switch (key) {
      case "traceparent" -> traceparent;
      case "tracestate" -> state.isEmpty() ? null : state;
      default -> null;
    };
    return W3CTraceContextPropagator.getInstance().extract(current, carrier, GETTER);
  }
}
