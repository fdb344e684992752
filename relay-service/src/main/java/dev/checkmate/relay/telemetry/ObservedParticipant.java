package dev.checkmate.relay.telemetry;

import dev.checkmate.relay.proto.v1.Frame;
import dev.checkmate.relay.proto.v1.Role;
import dev.checkmate.relay.proto.v1.ServerMessage;
import dev.checkmate.relay.session.Participant;
import io.grpc.Status;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.context.Context;
import java.util.concurrent.atomic.LongAdder;

/**
 * A participant as telemetry sees it: wraps the transport's adapter at join. Per frame it adds two
 * LongAdder increments (frames and bytes delivered, labelled by this — the receiving — transport)
 * and a milestone check; control messages (Joined, PeerJoined, SessionEnded) drive the spans:
 *
 * <ul>
 *   <li>{@code relay.session}: from seat to session end (or until this stream goes away), with
 *       {@code relay.session.outcome};
 *   <li>{@code relay.wait_for_peer}: from join until the peer is there (or the end).
 * </ul>
 *
 * Frame-level detail is only a sampled span event ({@code relay.frames}) at the 1st frame and every
 * 4096th, at most {@link #MAX_FRAME_EVENTS} per span.
 */
final class ObservedParticipant implements Participant {
  private static final int FRAME_EVENT_MASK = 4095;
  private static final int MAX_FRAME_EVENTS = 16;

  final Participant delegate;
  private final RelayTelemetry telemetry;
  private final Context parent;
  private final String sessionId;
  private final String sessionHash;
  private final Role roleEnum;
  private final java.net.InetAddress remote;
  private final String role;
  private final String transport;
  private final LongAdder frames;
  private final LongAdder bytes;
  /** Approximate (unsynchronized) per-participant totals, for span attributes only. */
  private long framesDelivered;
  private long bytesDelivered;
  private int frameEvents;
  private Span sessionSpan; // guarded by this
  private Span waitSpan; // guarded by this
  private volatile boolean seated;

  ObservedParticipant(RelayTelemetry telemetry, Participant delegate, Context parent, String sessionId, Role role,
      java.net.InetAddress remote) {
    this.telemetry = telemetry;
    this.delegate = delegate;
    this.parent = parent;
    this.sessionId = sessionId;
    // Only spans show it: not computed when there is no trace exporter (spans are no-ops then).
    this.sessionHash = telemetry.tracing ? dev.checkmate.relay.security.SessionIdHash.of(sessionId) : "";
    this.roleEnum = role;
    this.remote = remote;
    this.role = Labels.role(role);
    this.transport = delegate.transport();
    int t = Labels.transport(transport);
    this.frames = telemetry.frames[t];
    this.bytes = telemetry.bytes[t];
  }

  @Override
  public void send(ServerMessage message) {
    switch (message.getKindCase()) {
      case DATA -> delivered(message.getData());
      case JOINED -> onJoined(message.getJoined().getPeerPresent());
      case PEER_JOINED -> onPeerJoined();
      case PEER_LEFT -> event("relay.peer_left");
      case SESSION_ENDED -> onEnded(Labels.outcome(message.getSessionEnded().getReason()));
      default -> { }
    }
    delegate.send(message);
  }

  @Override
  public long notReadingSinceNanos() {
    return delegate.notReadingSinceNanos();
  }

  @Override
  public void sendData(Frame frame) {
    delivered(frame);
    delegate.sendData(frame);
  }

  private void delivered(Frame frame) {
    int size = frame.getPayload().size();
    frames.increment();
    bytes.add(size);
    long n = ++framesDelivered;
    bytesDelivered += size;
    if ((n & FRAME_EVENT_MASK) == 1 && telemetry.tracing) {
      frameEvent(n); // builds attributes: not for a no-op span (no exporter)
    }
  }

  private void frameEvent(long n) {
    Span s;
    synchronized (this) {
      if (frameEvents >= MAX_FRAME_EVENTS || sessionSpan == null) {
        return;
      }
      frameEvents++;
      s = sessionSpan;
    }
    // Counts only: never payload bytes, never sequence numbers chosen by the client.
    s.addEvent("relay.frames", Attributes.builder()
        .put("relay.frames.delivered", n)
        .put("relay.bytes.delivered", bytesDelivered)
        .build());
  }

  private void onJoined(boolean peerPresent) {
    Span session = telemetry.tracer.spanBuilder("relay.session").setParent(parent)
        .setAttribute("relay.session.id_hash", sessionHash)
        .setAttribute("relay.role", role)
        .setAttribute("relay.transport", transport)
        .setAttribute("relay.peer_present", peerPresent)
        .startSpan();
    Span wait = peerPresent ? null : telemetry.tracer.spanBuilder("relay.wait_for_peer").setParent(parent)
        .setAttribute("relay.session.id_hash", sessionHash)
        .setAttribute("relay.role", role)
        .startSpan();
    Span oldSession;
    Span oldWait;
    synchronized (this) {
      oldSession = sessionSpan;
      oldWait = waitSpan;
      sessionSpan = session;
      waitSpan = wait;
    }
    end(oldWait, null);
    end(oldSession, null);
    seated = true;
    telemetry.seated(sessionId, roleEnum, transport, remote, parent);
  }

  private void onPeerJoined() {
    Span wait;
    Span session;
    synchronized (this) {
      wait = waitSpan;
      waitSpan = null;
      session = sessionSpan;
    }
    if (wait != null) {
      wait.setAttribute("relay.paired", true);
      wait.end();
    }
    if (session != null) {
      session.addEvent("relay.peer_joined");
    }
  }

  private void event(String name) {
    Span s;
    synchronized (this) {
      s = sessionSpan;
    }
    if (s != null) {
      s.addEvent(name);
    }
  }

  private void onEnded(String outcome) {
    finish("relay.session.outcome", outcome, outcome.equals("error") || outcome.equals("rejected"));
  }

  /** The stream went away (left, replaced or cancelled) while the session goes on. */
  void streamGone() {
    finishOpen("stream_closed");
  }

  private void finishOpen(String why) {
    finish("relay.participant.end", why, false);
  }

  /** Ends the open wait and session spans once, tagged with why they ended. */
  private void finish(String endKey, String endValue, boolean error) {
    Span wait;
    Span session;
    synchronized (this) {
      wait = waitSpan;
      session = sessionSpan;
      waitSpan = null;
      sessionSpan = null;
    }
    if (wait != null) {
      wait.setAttribute("relay.paired", false);
      wait.setAttribute(endKey, endValue);
      wait.end();
    }
    if (session != null) {
      session.setAttribute(endKey, endValue);
      session.setAttribute("relay.frames.delivered", framesDelivered);
      session.setAttribute("relay.bytes.delivered", bytesDelivered);
      if (error) {
        session.setStatus(StatusCode.ERROR, endValue);
      }
      session.end();
    }
  }

  private static void end(Span s, String why) {
    if (s != null) {
      if (why != null) {
        s.setAttribute("relay.participant.end", why);
      }
      s.end();
    }
  }

  @Override
  public boolean isReady() {
    return delegate.isReady();
  }

  @Override
  public void requestNext() {
    delegate.requestNext();
  }

  @Override
  public void close(Status status) {
    delegate.close(status);
    if (seated) {
      // SessionEnded normally ended the spans already; this covers replacement and errors.
      finishOpen(status.isOk() ? "closed" : "closed_" + status.getCode().name().toLowerCase(java.util.Locale.ROOT));
    }
  }

  @Override
  public String transport() {
    return transport;
  }
}
