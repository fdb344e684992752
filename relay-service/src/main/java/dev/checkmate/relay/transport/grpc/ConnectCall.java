package dev.checkmate.relay.transport.grpc;

import dev.checkmate.relay.proto.v1.ClientMessage;
import dev.checkmate.relay.proto.v1.Heartbeat;
import dev.checkmate.relay.proto.v1.ServerMessage;
import dev.checkmate.relay.session.Participant;
import dev.checkmate.relay.session.RelayError;
import dev.checkmate.relay.session.RelayException;
import dev.checkmate.relay.session.Seat;
import dev.checkmate.relay.session.SessionHub;
import dev.checkmate.relay.ticket.Ticket;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.net.InetAddress;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One participant's Connect stream: the gRPC adapter onto the hub. Reads are requested one at a
 * time (auto-request is off) and only when the hub says the peer can take more.
 *
 * <p>Threading: gRPC callbacks run on the connection's event loop (the server uses a direct
 * executor); the hub may call {@link #send}, {@link #requestNext} and {@link #close} from the
 * peer's event loop or the sweeper, so writes are serialized on this object's lock.
 */
final class ConnectCall implements StreamObserver<ClientMessage>, Participant {
  private static final ServerMessage HEARTBEAT = ServerMessage.newBuilder().setHeartbeat(Heartbeat.getDefaultInstance()).build();

  private final RelayGrpcService service;
  private final ServerCallStreamObserver<ServerMessage> out;
  private final InetAddress address;
  private final AtomicBoolean permitHeld = new AtomicBoolean();
  /** The x-session-id the client routed with (read from the call context at construction), or null. */
  private final String routedSessionId = dev.checkmate.relay.security.CallerSecurity.ROUTED_SESSION_ID.get();
  /** Set once by whichever comes first: the Join, or the hello timer. */
  private final AtomicBoolean helloSettled = new AtomicBoolean();
  private volatile Seat seat;
  private volatile SessionHub.HubListener.Connection telemetry = SessionHub.HubListener.Connection.NONE;
  private volatile ScheduledFuture<?> helloTimer;
  private boolean closed; // guarded by this

  ConnectCall(RelayGrpcService service, ServerCallStreamObserver<ServerMessage> out, InetAddress address) {
    this.service = service;
    this.out = out;
    this.address = address;
  }

  void start() {
    out.disableAutoRequest();
    out.setOnReadyHandler(this::onReady);
    out.setOnCancelHandler(this::onCancel);
    telemetry = service.hub().listener().connectionOpened(transport(), address);
    if (!service.limiter().tryAcquire(address)) {
      reject(RelayError.TOO_MANY_STREAMS, "too many open streams from this address (limit "
          + service.limiter().limit() + "); close idle sessions or spread clients");
      return;
    }
    permitHeld.set(true);
    helloTimer = service.scheduler().schedule(this::helloTimedOut,
        service.config().helloTimeout().toMillis(), TimeUnit.MILLISECONDS);
    out.request(1);
  }

  @Override
  public void onNext(ClientMessage message) {
    Seat s = seat;
    if (s == null) {
      join(message);
      return;
    }
    switch (message.getKindCase()) {
      case DATA -> s.onFrame(message.getData());
      case ACK -> s.onAck(message.getAck().getSeq());
      case HEARTBEAT -> {
        send(HEARTBEAT);
        out.request(1);
      }
      case TERMINATE -> s.terminate(message.getTerminate().getReason());
      case JOIN -> s.protocolError("already joined: send Join only once per stream");
      default -> s.protocolError("empty or unknown message kind; update the client");
    }
  }

  private void join(ClientMessage message) {
    cancelHelloTimer();
    if (!helloSettled.compareAndSet(false, true)) {
      return; // the hello timer already closed this stream
    }
    if (message.getKindCase() != ClientMessage.KindCase.JOIN) {
      reject(RelayError.MALFORMED, "the first message on a Connect stream must be a Join carrying the ticket");
      return;
    }
    if (!service.limiter().tryJoinAttempt(address)) {
      reject(RelayError.RATE_LIMITED, "too many join attempts from this address; retry in a second");
      return;
    }
    try {
      String presented = message.getJoin().getTicket();
      seat = telemetry.join(() -> {
        Ticket ticket = service.verifier().verify(presented, routedSessionId, message.getJoin().getExpectedRole());
        return service.hub().join(ticket, this);
      });
    } catch (RelayException e) {
      reject(e.error(), e.getMessage());
    }
  }

  private void reject(RelayError error, String message) {
    telemetry.rejected(error);
    if (error != RelayError.ROLE_TAKEN && error != RelayError.SESSION_ENDED) {
      // The hub counts its own refusals; these come from before the hub.
      service.hub().stats().rejected(error);
    }
    close(error.toStatus(message));
  }

  private void helloTimedOut() {
    if (helloSettled.compareAndSet(false, true)) {
      reject(RelayError.HELLO_TIMEOUT, "no Join within " + service.config().helloTimeout().toSeconds()
          + " s of opening the stream");
    }
  }

  private void cancelHelloTimer() {
    ScheduledFuture<?> t = helloTimer;
    if (t != null) {
      t.cancel(false);
    }
  }

  @Override
  public void onError(Throwable t) {
    gone("stream cancelled or failed");
  }

  @Override
  public void onCompleted() {
    gone("participant closed its stream without terminating");
    close(Status.OK);
  }

  private void gone(String detail) {
    cancelHelloTimer();
    telemetry.closed();
    Seat s = seat;
    if (s != null) {
      s.left(detail);
    }
    releasePermit();
  }

  private void onReady() {
    Seat s = seat;
    if (s != null) {
      s.onWritable();
    }
  }

  private void onCancel() {
    synchronized (this) {
      closed = true;
    }
  }

  @Override
  public void send(ServerMessage message) {
    synchronized (this) {
      if (closed) {
        return;
      }
      try {
        out.onNext(message);
      } catch (RuntimeException e) {
        // The call was cancelled under us; the cancel callback will clean up.
        closed = true;
      }
    }
  }

  @Override
  public boolean isReady() {
    return out.isReady();
  }

  @Override
  public void requestNext() {
    out.request(1);
  }

  @Override
  public void close(Status status) {
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      try {
        if (status.isOk()) {
          out.onCompleted();
        } else {
          out.onError(status.asRuntimeException());
        }
      } catch (RuntimeException ignored) {
        // Already cancelled by the client.
      }
    }
    cancelHelloTimer();
    releasePermit();
    telemetry.closed();
  }

  private void releasePermit() {
    if (permitHeld.compareAndSet(true, false)) {
      service.limiter().release(address);
    }
  }

  @Override
  public String transport() {
    return "grpc";
  }
}
