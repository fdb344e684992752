package dev.checkmate.relay.transport.http.grpcweb;

import dev.checkmate.relay.error.RelayError;
import dev.checkmate.relay.proto.v1.Ack;
import dev.checkmate.relay.proto.v1.Frame;
import dev.checkmate.relay.proto.v1.ReceiveRequest;
import dev.checkmate.relay.proto.v1.SendRequest;
import dev.checkmate.relay.proto.v1.SendResponse;
import dev.checkmate.relay.proto.v1.ServerMessage;
import dev.checkmate.relay.proto.v1.Terminate;
import dev.checkmate.relay.session.Participant;
import dev.checkmate.relay.session.Seat;
import dev.checkmate.relay.ticket.Ticket;
import dev.checkmate.relay.transport.ParticipantStream;
import io.grpc.Status;
import java.net.InetAddress;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * One participant of the gRPC-Web fallback: a Receive stream (outbound) plus the Sends that carry
 * its frames (inbound), as one {@link Participant} of the hub.
 *
 * <p>Flow control: "reading the next message" means taking the next item of the pending Send: its
 * ack (forwarded to the peer first) and then its frames, one per {@link #requestNext}, so a Send
 * completes only as fast as the peer reads; after the send wait it completes with a partial ack
 * and its remaining frames are dropped (the client sends them again). At most one Send per
 * participant is held: a newer Send supersedes a pending one (whose client has usually given up),
 * and the sequence numbers keep retries idempotent. The first frame a Receive stream accepts may
 * have any seq (a resuming client continues its numbering on a new stream); then they are
 * consecutive. A Send marked {@code resend} (the client's peer re-paired, so what was forwarded
 * before may be lost) goes back to its first frame and forwards from there again.
 *
 * <p>Threading: any thread. State is guarded by this object's lock, which is never held while
 * calling into the hub (the session takes its own lock and then calls {@link #send}).
 */
final class ReceiveCall extends ParticipantStream implements SplitStreams.ReceiveHandle {
  private final SplitStreams streams;
  private final SplitStreams.Downstream down;
  private final String token;
  private volatile String sessionId = "";
  private volatile ScheduledFuture<?> heartbeat;

  // Guarded by this.
  private boolean pumping;
  private int demand;
  private long lastAccepted;
  private final ArrayDeque<Frame> queue = new ArrayDeque<>();
  /** The newest ack not yet handed to the hub (cumulative, so a newer one replaces it). */
  private Ack pendingAck;
  private Terminate pendingTerminate;
  private CompletableFuture<SendResponse> pendingSend;
  private ScheduledFuture<?> sendTimer;

  ReceiveCall(SplitStreams streams, Limits limits, SplitStreams.Downstream down, InetAddress address, String token) {
    super(streams.admission(), limits, "grpc_web", address);
    this.streams = streams;
    this.down = down;
    this.token = token;
  }

  void start(ReceiveRequest request, String routedSessionId) {
    if (!open(false)) {
      return;
    }
    if (request.getTicket().isEmpty()) {
      reject(RelayError.MALFORMED, "ReceiveRequest.ticket is empty");
      return;
    }
    // The routed session (x-session-id) must match, as for a gRPC or WebSocket Join.
    if (join(request.getTicket(), routedSessionId, null, request.getIncarnation()) == null) {
      return;
    }
    long pingMs = streams.pingInterval().toMillis();
    heartbeat = admission().scheduler().scheduleAtFixedRate(this::sendKeepAlive, pingMs, pingMs, TimeUnit.MILLISECONDS);
    if (isClosed()) {
      heartbeat.cancel(false); // ended while joining
    }
    pump(); // a Send may have raced the seat assignment
  }

  @Override
  protected void verified(Ticket ticket) {
    sessionId = ticket.sessionId();
    streams.register(token, this);
  }

  String sessionId() {
    return sessionId;
  }

  @Override
  protected String streamNoun() {
    return "Receive stream";
  }

  // ---- Send (inbound) ----

  void send(SendRequest request, CompletableFuture<SendResponse> result) {
    CompletableFuture<SendResponse> superseded;
    long ack;
    synchronized (this) {
      if (isClosed()) {
        result.completeExceptionally(Status.FAILED_PRECONDITION.withDescription(
            "the Receive stream for this send token has ended").asException());
        return;
      }
      long expect = lastAccepted + 1;
      if (lastAccepted == 0 && request.getFramesCount() > 0) {
        expect = Math.max(1, request.getFrames(0).getSeq()); // a resuming client's numbering goes on
      } else if (request.getResend() && request.getFramesCount() > 0 && request.getFrames(0).getSeq() < expect) {
        // After a re-pairing: forward again from the first frame on, and acknowledge only what goes
        // through now (an answer of the old numbers would tell the client the resend arrived).
        expect = Math.max(1, request.getFrames(0).getSeq());
        lastAccepted = expect - 1;
      }
      List<Frame> fresh = new ArrayList<>(request.getFramesCount());
      for (Frame f : request.getFramesList()) {
        if (f.getSeq() < expect && fresh.isEmpty()) {
          continue; // already accepted: a retry, acknowledged without forwarding twice
        }
        if (f.getSeq() != expect) {
          result.completeExceptionally(Status.OUT_OF_RANGE.withDescription("frame seq " + f.getSeq()
              + " is out of order: the relay expects seq " + expect + " next; send frames in order from there").asException());
          return;
        }
        fresh.add(f);
        expect++;
      }
      superseded = pendingSend;
      ack = lastAccepted;
      clearPending();
      if (request.hasAck()) {
        pendingAck = request.getAck();
      }
      queue.addAll(fresh);
      pendingTerminate = request.hasTerminate() ? request.getTerminate() : null;
      pendingSend = result;
      long waitMs = streams.sendWait().toMillis();
      sendTimer = admission().scheduler().schedule(() -> sendTimedOut(result), waitMs, TimeUnit.MILLISECONDS);
    }
    if (superseded != null) {
      superseded.complete(ack(ack));
    }
    pump();
  }

  private void sendTimedOut(CompletableFuture<SendResponse> result) {
    long ack;
    synchronized (this) {
      if (pendingSend != result) {
        return;
      }
      ack = lastAccepted;
      clearPending();
    }
    result.complete(ack(ack));
  }

  /** Caller holds the lock. */
  private void clearPending() {
    queue.clear();
    pendingTerminate = null;
    pendingSend = null;
    if (sendTimer != null) {
      sendTimer.cancel(false);
      sendTimer = null;
    }
  }

  /** Hands the pending Send's frames to the hub while it wants them; completes the Send at the end. */
  private void pump() {
    while (true) {
      Frame frame = null;
      Ack peerAck = null;
      CompletableFuture<SendResponse> done = null;
      Terminate terminate = null;
      long ack = 0;
      Seat s = seat();
      synchronized (this) {
        if (pumping || s == null || isClosed()) {
          return;
        }
        if (pendingAck != null && demand > 0) {
          demand--;
          peerAck = pendingAck;
          pendingAck = null;
          pumping = true;
        } else if (!queue.isEmpty() && demand > 0) {
          demand--;
          frame = queue.poll();
          lastAccepted = frame.getSeq();
          pumping = true;
        } else if (queue.isEmpty() && pendingSend != null) {
          done = pendingSend;
          terminate = pendingTerminate;
          ack = lastAccepted;
          clearPending();
        } else {
          return;
        }
      }
      if (frame != null || peerAck != null) {
        try {
          if (peerAck != null) {
            s.onAck(peerAck);
          } else {
            s.onFrame(frame);
          }
        } finally {
          synchronized (this) {
            pumping = false;
          }
        }
        continue;
      }
      if (terminate != null) {
        s.terminate(terminate.getReason());
      }
      done.complete(ack(ack));
      return;
    }
  }

  private static SendResponse ack(long seq) {
    return SendResponse.newBuilder().setAckedSeq(seq).build();
  }

  // ---- primitives ----

  @Override
  protected void write(ServerMessage message) {
    if (message.hasJoined()) {
      message = message.toBuilder().setJoined(message.getJoined().toBuilder().setSendToken(token)).build();
    }
    down.send(message);
  }

  @Override
  protected boolean writable() {
    return down.isReady();
  }

  @Override
  protected void readOne() {
    synchronized (this) {
      demand++;
    }
    pump();
  }

  @Override
  protected void terminate(Status status) {
    down.close(status);
  }

  // ---- ReceiveHandle ----

  @Override
  public void onReady() {
    onWritable();
  }

  @Override
  public void onCancel() {
    onGone("Receive stream cancelled");
  }

  @Override
  protected void ended() {
    streams.unregister(token, this);
    ScheduledFuture<?> h = heartbeat;
    if (h != null) {
      h.cancel(false);
    }
    CompletableFuture<SendResponse> pending;
    long ack;
    synchronized (this) {
      pending = pendingSend;
      ack = lastAccepted;
      clearPending();
    }
    if (pending != null) {
      pending.complete(ack(ack));
    }
  }
}
