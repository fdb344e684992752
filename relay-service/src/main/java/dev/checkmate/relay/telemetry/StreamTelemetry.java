package dev.checkmate.relay.telemetry;

import dev.checkmate.relay.error.RelayError;
import dev.checkmate.relay.error.RelayException;
import dev.checkmate.relay.session.Seat;
import dev.checkmate.relay.session.SessionHub.HubListener;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.ContextKey;
import io.opentelemetry.context.Scope;
import java.net.InetAddress;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One participant stream: the {@code relay_connections_active} gauge, the {@code relay.join} span
 * and its audit lines (refusals; stream and join lines at {@link AuditLevel#VERBOSE}). Its parent
 * context is the transport's server span (the gRPC server interceptor makes it current on the
 * stream's callbacks).
 */
final class StreamTelemetry implements HubListener.Connection {
  static final ContextKey<StreamTelemetry> KEY = ContextKey.named("relay-stream");

  private final RelayTelemetry telemetry;
  final String transport;
  private final int transportIndex;
  final InetAddress remote;
  private final AtomicBoolean closed = new AtomicBoolean();
  /** The stream's own context (its server span), parent of join, wait and session spans. */
  volatile Context parent = Context.root();
  volatile ObservedParticipant participant;

  StreamTelemetry(RelayTelemetry telemetry, String transport, InetAddress remote) {
    this.telemetry = telemetry;
    this.transport = transport;
    this.transportIndex = Labels.transport(transport);
    this.remote = remote;
    telemetry.connections[transportIndex].increment();
    telemetry.audit.streamOpened(transport, remote);
  }

  @Override
  public Seat join(HubListener.JoinAction action) throws RelayException {
    Context streamContext = Context.current();
    parent = streamContext;
    Span span = telemetry.tracer.spanBuilder("relay.join").setParent(streamContext)
        .setAttribute("relay.transport", transport)
        .startSpan();
    try (Scope ignored = streamContext.with(span).with(KEY, this).makeCurrent()) {
      Seat seat = action.join();
      String role = Labels.role(seat.role());
      if (telemetry.tracing) {
        span.setAttribute("relay.session.id_hash", dev.checkmate.relay.security.SessionIdHash.of(seat.sessionId()));
        span.setAttribute("relay.role", role);
      }
      telemetry.audit.joined(seat.sessionId(), role, transport, remote);
      return seat;
    } catch (RelayException e) {
      // The error's bounded label only: its message is for the client, not for traces.
      span.setAttribute("relay.rejection.reason", e.error().metricLabel());
      span.setStatus(StatusCode.ERROR, e.error().metricLabel());
      throw e;
    } catch (RuntimeException e) {
      span.setStatus(StatusCode.ERROR, e.getClass().getSimpleName());
      throw e;
    } finally {
      span.end();
    }
  }

  @Override
  public void rejected(RelayError error) {
    telemetry.audit.rejected(error.metricLabel(), "connect", transport, remote);
  }

  @Override
  public void closed() {
    if (closed.compareAndSet(false, true)) {
      telemetry.connections[transportIndex].decrement();
      ObservedParticipant p = participant;
      if (p != null) {
        p.streamGone();
      }
    }
  }
}
