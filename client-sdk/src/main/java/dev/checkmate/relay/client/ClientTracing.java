package dev.checkmate.relay.client;

import io.grpc.ClientInterceptor;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.opentelemetry.instrumentation.grpc.v1_6.GrpcTelemetry;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * The SDK's traces, only when {@link RelayClient.Builder#openTelemetry} was given:
 *
 * <ul>
 *   <li>the opentelemetry-grpc-1.6 client interceptor on the channel, so CreateSession, Connect and
 *       TerminateSession carry W3C {@code traceparent} and get CLIENT spans (message events off);
 *   <li>{@code relay.client.create_session} around CreateSession;
 *   <li>{@code relay.client.session} from join until the session ends ({@code
 *       relay.session.outcome}, the relay's outcome values plus {@code closed}, {@code
 *       e2e_failed} and {@code disconnected}), with {@code relay.client.join} (until Joined) and the
 *       Connect CLIENT span below it;
 *   <li>frames only as a sampled {@code relay.client.frames} event (1st frame each way, then
 *       every 4096th, at most 16 per session): counts, never payloads.
 * </ul>
 *
 * Attributes are bounded: the session id only as {@code relay.session.id_hash} (the relay's hash,
 * so SDK and relay spans can be matched), never tickets, keys, payloads, terminate reasons or
 * error messages (those can carry the peer's text). Without OpenTelemetry every hook is a no-op
 * behind one null check.
 */
final class ClientTracing {
  static final String INSTRUMENTATION = "dev.checkmate.relay.client";
  static final ClientTracing NOOP = new ClientTracing(null);
  static final AttributeKey<String> SESSION_HASH = AttributeKey.stringKey("relay.session.id_hash");
  static final AttributeKey<String> OUTCOME = AttributeKey.stringKey("relay.session.outcome");
  static final AttributeKey<String> ERROR_CODE = AttributeKey.stringKey("relay.error.code");
  private static final int FRAME_EVENT_MASK = 4095;
  private static final int MAX_FRAME_EVENTS = 16;

  private final OpenTelemetry openTelemetry; // null: tracing off
  private final Tracer tracer;

  private ClientTracing(OpenTelemetry openTelemetry) {
    this.openTelemetry = openTelemetry;
    this.tracer = openTelemetry == null ? null : openTelemetry.getTracer(INSTRUMENTATION);
  }

  static ClientTracing of(OpenTelemetry openTelemetry) {
    return openTelemetry == null ? NOOP : new ClientTracing(openTelemetry);
  }

  boolean enabled() {
    return tracer != null;
  }

  /** The gRPC client interceptor that propagates the context and makes CLIENT spans, or null. */
  ClientInterceptor interceptor() {
    return openTelemetry == null ? null
        : GrpcTelemetry.builder(openTelemetry).setEmitMessageEvents(false).build().createClientInterceptor();
  }

  /** {@code relay.client.create_session}, child of the caller's current context; invalid when off. */
  Span startCreateSession(long ttlSeconds) {
    if (tracer == null) {
      return Span.getInvalid();
    }
    return tracer.spanBuilder("relay.client.create_session").setParent(Context.current())
        .setAttribute("relay.session.ttl_seconds", ttlSeconds)
        .startSpan();
  }

  static void createSessionDone(Span span, String sessionId) {
    if (span.isRecording()) {
      span.setAttribute(SESSION_HASH, sessionHash(sessionId));
    }
    span.end();
  }

  static void failed(Span span, RelayException e) {
    if (span.isRecording()) {
      span.setAttribute(ERROR_CODE, e.code().name());
      span.setStatus(StatusCode.ERROR, e.code().name());
    }
    span.end();
  }

  /** Starts the spans of one participant stream; {@link SessionTrace#NOOP} when off. */
  SessionTrace startSession(boolean endToEnd) {
    if (tracer == null) {
      return SessionTrace.NOOP;
    }
    Span session = tracer.spanBuilder("relay.client.session").setParent(Context.current())
        .setSpanKind(SpanKind.INTERNAL)
        .setAttribute("relay.transport", "grpc")
        .setAttribute("relay.e2e", endToEnd)
        .startSpan();
    Span join = tracer.spanBuilder("relay.client.join").setParent(Context.current().with(session)).startSpan();
    return new SessionTrace(session, join);
  }

  /** The relay's {@code relay.session.id_hash}: the first 16 hex digits of SHA-256 of the session id. */
  static String sessionHash(String sessionId) {
    try {
      byte[] d = MessageDigest.getInstance("SHA-256").digest(sessionId.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(d, 0, 8);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** How a session ended, as {@code relay.session.outcome} (the relay's values where they exist). */
  static String outcome(RelayException end) {
    if (end instanceof EndToEndSecurityException) {
      return "e2e_failed";
    }
    if (end instanceof ProtocolViolationException) {
      return "error";
    }
    if (end instanceof SessionEndedException s && s.endReason() != EndReason.UNKNOWN) {
      return switch (s.endReason()) {
        case TERMINATED -> "terminated";
        case PEER_NEVER_JOINED -> "peer_never_joined";
        case IDLE_TIMEOUT -> "idle";
        case LIFETIME_EXCEEDED -> "expired";
        case RELAY_SHUTDOWN -> "shutdown";
        case LIMIT_EXCEEDED -> "rejected";
        default -> "error";
      };
    }
    return switch (end.code()) {
      case CANCELLED -> "closed";
      case UNAUTHENTICATED, ALREADY_EXISTS, FAILED_PRECONDITION, RESOURCE_EXHAUSTED, PERMISSION_DENIED,
          INVALID_ARGUMENT -> "rejected";
      case UNAVAILABLE -> "disconnected";
      default -> "error";
    };
  }

  /**
   * The spans of one {@link GrpcRelaySession}. Writers: {@link #sent} under the session's lock,
   * {@link #received} and the control hooks on gRPC's serialized callbacks, {@link #ended} once.
   */
  static final class SessionTrace {
    static final SessionTrace NOOP = new SessionTrace(null, null);

    final Span session; // null when off
    private final Span join;
    private volatile long framesSent;
    private volatile long bytesSent;
    private volatile long framesReceived;
    private volatile long bytesReceived;
    private int frameEvents; // guarded by this
    private boolean joinOpen = true; // guarded by this
    private boolean ended; // guarded by this

    private SessionTrace(Span session, Span join) {
      this.session = session;
      this.join = join;
    }

    /** The context to start the Connect call in, so its CLIENT span hangs below the session span. */
    Context context() {
      return session == null ? Context.current() : Context.current().with(session);
    }

    void joined(String sessionId, Role role, boolean peerPresent) {
      if (session == null) {
        return;
      }
      String hash = sessionHash(sessionId);
      String roleName = role == Role.PROVER ? "prover" : role == Role.VERIFIER ? "verifier" : "unspecified";
      session.setAttribute(SESSION_HASH, hash);
      session.setAttribute("relay.role", roleName);
      session.setAttribute("relay.peer_present", peerPresent);
      synchronized (this) {
        if (!joinOpen) {
          return;
        }
        joinOpen = false;
      }
      join.setAttribute(SESSION_HASH, hash);
      join.setAttribute("relay.role", roleName);
      join.end();
    }

    void event(String name) {
      if (session != null) {
        session.addEvent(name);
      }
    }

    void sent(int bytes) {
      if (session == null) {
        return;
      }
      long n = framesSent + 1;
      framesSent = n;
      bytesSent += bytes;
      if ((n & FRAME_EVENT_MASK) == 1) {
        frameEvent("sent");
      }
    }

    void received(int bytes) {
      if (session == null) {
        return;
      }
      long n = framesReceived + 1;
      framesReceived = n;
      bytesReceived += bytes;
      if ((n & FRAME_EVENT_MASK) == 1) {
        frameEvent("received");
      }
    }

    private void frameEvent(String direction) {
      synchronized (this) {
        if (ended || frameEvents >= MAX_FRAME_EVENTS) {
          return;
        }
        frameEvents++;
      }
      // Counts only: never payload bytes, never sequence numbers.
      session.addEvent("relay.client.frames", Attributes.builder()
          .put("relay.frames.direction", direction)
          .put("relay.frames.sent", framesSent)
          .put("relay.frames.received", framesReceived)
          .put("relay.bytes.sent", bytesSent)
          .put("relay.bytes.received", bytesReceived)
          .build());
    }

    /** The session (or the join) is over; called once with what the application sees. */
    void ended(RelayException end) {
      if (session == null) {
        return;
      }
      boolean joinWasOpen;
      synchronized (this) {
        if (ended) {
          return;
        }
        ended = true;
        joinWasOpen = joinOpen;
        joinOpen = false;
      }
      String outcome = outcome(end);
      boolean error = switch (outcome) {
        case "rejected", "error", "e2e_failed", "disconnected" -> true;
        default -> false;
      };
      if (joinWasOpen) {
        join.setAttribute(ERROR_CODE, end.code().name());
        join.setStatus(StatusCode.ERROR, end.code().name());
        join.end();
      }
      session.setAttribute(OUTCOME, outcome);
      if (end.code() != dev.checkmate.relay.client.StatusCode.OK) {
        session.setAttribute(ERROR_CODE, end.code().name());
      }
      session.setAttribute("relay.frames.sent", framesSent);
      session.setAttribute("relay.frames.received", framesReceived);
      session.setAttribute("relay.bytes.sent", bytesSent);
      session.setAttribute("relay.bytes.received", bytesReceived);
      if (error) {
        session.setStatus(StatusCode.ERROR, outcome);
      }
      session.end();
    }
  }
}
