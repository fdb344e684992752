package dev.checkmate.relay.telemetry;

import dev.checkmate.relay.proto.v1.CreateSessionResponse;
import dev.checkmate.relay.proto.v1.RelayServiceGrpc;
import io.grpc.ForwardingServerCall.SimpleForwardingServerCall;
import io.grpc.ForwardingServerCallListener.SimpleForwardingServerCallListener;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.Scope;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;

/**
 * The {@code relay.CreateSession} span (child of the gRPC server span) and the audit line of every
 * CreateSession, without touching the service: the response is only read for its session id
 * (never the tickets).
 */
final class CreateSessionSpans implements ServerInterceptor {
  private final Tracer tracer;
  private final boolean tracing;
  private final AuditLog audit;

  CreateSessionSpans(Tracer tracer, boolean tracing, AuditLog audit) {
    this.tracer = tracer;
    this.tracing = tracing;
    this.audit = audit;
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    if (!RelayServiceGrpc.getCreateSessionMethod().getFullMethodName().equals(call.getMethodDescriptor().getFullMethodName())) {
      return next.startCall(call, headers);
    }
    SocketAddress sa = call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR);
    InetAddress remote = sa instanceof InetSocketAddress inet ? inet.getAddress() : null;
    Span span = tracer.spanBuilder("relay.CreateSession").setParent(Context.current()).startSpan();
    Context ctx = Context.current().with(span);
    ServerCall<Q, R> observed = new SimpleForwardingServerCall<>(call) {
      private String sessionId;

      @Override
      public void sendMessage(R message) {
        if (message instanceof CreateSessionResponse r) {
          sessionId = r.getSessionId();
        }
        super.sendMessage(message);
      }

      @Override
      public void close(Status status, Metadata trailers) {
        try {
          if (status.isOk() && sessionId != null) {
            if (tracing) {
              span.setAttribute("relay.session.id_hash", dev.checkmate.relay.security.SessionIdHash.of(sessionId));
            }
            audit.sessionCreated(sessionId, remote);
          } else if (!status.isOk()) {
            String reason = reason(status.getCode());
            span.setAttribute("relay.rejection.reason", reason);
            span.setStatus(StatusCode.ERROR, reason);
            audit.rejected(reason, "create_session", "grpc", remote);
          }
        } finally {
          span.end();
        }
        super.close(status, trailers);
      }
    };
    ServerCall.Listener<Q> delegate;
    try (Scope ignored = ctx.makeCurrent()) {
      delegate = next.startCall(observed, headers);
    }
    return new SimpleForwardingServerCallListener<>(delegate) {
      @Override
      public void onMessage(Q message) {
        try (Scope ignored = ctx.makeCurrent()) {
          super.onMessage(message);
        }
      }

      @Override
      public void onHalfClose() {
        try (Scope ignored = ctx.makeCurrent()) {
          super.onHalfClose();
        }
      }

      @Override
      public void onCancel() {
        span.setAttribute("relay.cancelled", true);
        span.end();
        super.onCancel();
      }
    };
  }

  /** CreateSession's refusals map one-to-one onto these codes (RelayError.NOT_AUTHORIZED, NOT_ISSUER, MALFORMED). */
  private static String reason(Status.Code code) {
    return switch (code) {
      case PERMISSION_DENIED -> "not_authorized";
      case FAILED_PRECONDITION -> "not_issuer";
      case INVALID_ARGUMENT -> "protocol_error";
      case UNAUTHENTICATED -> "bad_ticket";
      default -> "error";
    };
  }
}
