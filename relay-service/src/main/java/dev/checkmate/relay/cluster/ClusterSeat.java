package dev.checkmate.relay.cluster;

import dev.checkmate.relay.proto.v1.Frame;
import dev.checkmate.relay.proto.v1.PeerJoined;
import dev.checkmate.relay.proto.v1.Role;
import dev.checkmate.relay.proto.v1.ServerMessage;
import dev.checkmate.relay.session.Participant;
import dev.checkmate.relay.session.Seat;
import dev.checkmate.relay.ticket.Ticket;
import io.grpc.Status;
import java.util.ArrayDeque;
import java.util.function.Consumer;

/**
 * What a transport holds while the cluster decides, or may change, where its participant sits:
 * the seat is resolved asynchronously (home lookup over NATS) and may be swapped once (this node
 * lost a home claim race and hands the participant over to the winner as a bridge).
 *
 * <p>It sits on both sides of the seat: the transport calls it as a {@link Seat} and the hub (or a
 * {@link RemoteSeat}) calls it as the {@link Participant}. While no seat is attached, the
 * transport's calls are queued in order (at most one frame: the transport reads one message per
 * {@link #requestNext}); it counts outstanding reads so a new seat never asks twice.
 */
final class ClusterSeat implements Seat, Participant {
  final Ticket ticket;
  final Participant client;
  private final ArrayDeque<Consumer<Seat>> queued = new ArrayDeque<>(2);
  private Seat delegate; // guarded by this
  private int outstanding; // guarded by this: reads granted to the transport minus frames received
  private boolean suppressJoined; // guarded by this: a handed-over participant was already told Joined

  ClusterSeat(Ticket ticket, Participant client) {
    this.ticket = ticket;
    this.client = client;
  }

  /** Attaches the seat and replays the calls queued meanwhile, in order. */
  void resolve(Seat seat) {
    while (true) {
      Consumer<Seat> next;
      synchronized (this) {
        next = queued.poll();
        if (next == null) {
          delegate = seat;
          return;
        }
      }
      next.accept(seat);
    }
  }

  /** Detaches the current seat (hand-over); calls queue until {@link #resolve}. */
  synchronized void detach(boolean alreadyJoined) {
    delegate = null;
    suppressJoined = alreadyJoined;
  }

  synchronized int outstandingReads() {
    return outstanding;
  }

  /** Ends the participant's stream with a refusal found after join returned. */
  void fail(Status status) {
    client.close(status);
  }

  private void call(Consumer<Seat> action) {
    Seat d;
    synchronized (this) {
      d = delegate;
      if (d == null) {
        queued.add(action);
        return;
      }
    }
    action.accept(d);
  }

  // --- Seat: transport -> cluster ---

  @Override
  public String sessionId() {
    return ticket.sessionId();
  }

  @Override
  public Role role() {
    return ticket.role();
  }

  @Override
  public void onFrame(Frame frame) {
    synchronized (this) {
      outstanding--;
    }
    call(s -> s.onFrame(frame));
  }

  @Override
  public void onAck(dev.checkmate.relay.proto.v1.Ack ack) {
    synchronized (this) {
      outstanding--;
    }
    call(s -> s.onAck(ack));
  }

  @Override
  public void onWritable() {
    Seat d;
    synchronized (this) {
      d = delegate;
    }
    if (d != null) {
      d.onWritable();
    }
  }

  @Override
  public void terminate(String reason) {
    call(s -> s.terminate(reason));
  }

  @Override
  public void left(String detail) {
    call(s -> s.left(detail));
  }

  @Override
  public void protocolError(String message) {
    call(s -> s.protocolError(message));
  }

  // --- Participant: hub / bridge -> transport ---

  @Override
  public void send(ServerMessage message) {
    if (message.hasJoined()) {
      boolean suppress;
      synchronized (this) {
        suppress = suppressJoined;
        suppressJoined = false;
      }
      if (suppress) {
        // The client was told Joined by the node that handed it over; it only needs to learn
        // that the peer is here.
        if (message.getJoined().getPeerPresent()) {
          Role peer = ticket.role() == Role.PROVER ? Role.VERIFIER : Role.PROVER;
          client.send(ServerMessage.newBuilder().setPeerJoined(PeerJoined.newBuilder().setRole(peer)
              .setBridged(message.getJoined().getBridged())
              .setIncarnation(message.getJoined().getPeerIncarnation())).build());
        }
        return;
      }
    }
    client.send(message);
  }

  @Override
  public void sendData(Frame frame) {
    client.sendData(frame);
  }

  @Override
  public boolean isReady() {
    return client.isReady();
  }

  @Override
  public long notReadingSinceNanos() {
    return client.notReadingSinceNanos();
  }

  @Override
  public void requestNext() {
    synchronized (this) {
      outstanding++;
    }
    client.requestNext();
  }

  @Override
  public void close(Status status) {
    client.close(status);
  }

  @Override
  public String transport() {
    return client.transport();
  }
}
