package dev.checkmate.relay.client;

import dev.checkmate.relay.proto.v1.ClientMessage;
import dev.checkmate.relay.proto.v1.ServerMessage;
import dev.checkmate.relay.proto.v1.SessionEnded;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * One Connect call of a session: the first join, or a rejoin after a loss. Manual flow control in
 * both directions (the client side of grpc-java's manualflowcontrol example): it asks for {@code
 * initialRequest} messages up front and the session asks for one more per message consumed.
 * gRPC runs its callbacks serially; they go straight to the session ({@link Events}), which ignores
 * those of an attempt it has replaced. Writes are serialized by the session's lock.
 */
final class ConnectAttempt implements ClientResponseObserver<ClientMessage, ServerMessage> {
  /** What the session hears from its attempts. */
  interface Events {
    void onReady(ConnectAttempt attempt);

    void onMessage(ConnectAttempt attempt, ServerMessage message);

    /** The call ended: {@code status} null for a clean completion by the relay. */
    void onClosed(ConnectAttempt attempt, Status status);
  }

  final int target;
  private final int initialRequest;
  private final Events events;
  private volatile ClientCallStreamObserver<ClientMessage> stream;
  private volatile boolean closed;
  private volatile boolean joined;
  /** The SessionEnded that preceded the end of the call, if any. */
  volatile SessionEnded sessionEnded;
  private volatile ScheduledFuture<?> joinTimer;

  ConnectAttempt(int target, int initialRequest, Events events) {
    this.target = target;
    this.initialRequest = initialRequest;
    this.events = events;
  }

  @Override
  public void beforeStart(ClientCallStreamObserver<ClientMessage> s) {
    stream = s;
    // Never more than asked for: that bounds what a slow application can be made to hold.
    s.disableAutoRequestWithInitial(initialRequest);
    s.setOnReadyHandler(() -> events.onReady(this));
  }

  @Override
  public void onNext(ServerMessage message) {
    events.onMessage(this, message);
  }

  @Override
  public void onError(Throwable t) {
    ended();
    events.onClosed(this, Status.fromThrowable(t));
  }

  @Override
  public void onCompleted() {
    ended();
    events.onClosed(this, null);
  }

  private void ended() {
    closed = true;
    cancelJoinTimer();
  }

  /** Writes one message; the caller holds the session's lock. */
  void write(ClientMessage message) {
    stream.onNext(message);
  }

  boolean isReady() {
    return stream.isReady();
  }

  boolean closed() {
    return closed;
  }

  boolean joined() {
    return joined;
  }

  /** The relay answered Joined on this call. */
  void markJoined() {
    joined = true;
    cancelJoinTimer();
  }

  /** Asks for {@code n} more messages (gRPC allows this from any thread). */
  void request(int n) {
    try {
      stream.request(n);
    } catch (RuntimeException e) {
      // The call is already closed; nothing more will arrive anyway.
    }
  }

  /** Cancels the call unless it already ended; its end is reported through {@link Events#onClosed}. */
  void cancel(String why) {
    ClientCallStreamObserver<ClientMessage> s = stream;
    if (s != null && !closed) {
      s.cancel(why, null);
    }
  }

  /** Cancels the call if the relay has not answered Joined within {@code millis}. */
  void cancelUnlessJoinedWithin(ScheduledExecutorService scheduler, long millis) {
    try {
      joinTimer = scheduler.schedule(() -> {
        if (!joined) {
          cancel("the relay did not answer the Join within " + millis + " ms");
        }
      }, millis, TimeUnit.MILLISECONDS);
    } catch (RejectedExecutionException e) {
      cancel("client closed");
    }
  }

  private void cancelJoinTimer() {
    ScheduledFuture<?> t = joinTimer;
    if (t != null) {
      t.cancel(false);
    }
  }
}
