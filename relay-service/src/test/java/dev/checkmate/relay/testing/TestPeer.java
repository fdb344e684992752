package dev.checkmate.relay.testing;

import com.google.protobuf.ByteString;
import dev.checkmate.relay.proto.v1.Ack;
import dev.checkmate.relay.proto.v1.ClientMessage;
import dev.checkmate.relay.proto.v1.Frame;
import dev.checkmate.relay.proto.v1.Join;
import dev.checkmate.relay.proto.v1.RelayServiceGrpc;
import dev.checkmate.relay.proto.v1.ServerMessage;
import dev.checkmate.relay.proto.v1.Terminate;
import io.grpc.Channel;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A bare protocol peer over the generated stub (no SDK), so relay tests see exactly what the relay
 * sends. With {@code autoRead=false} it reads nothing until {@link #read(int)}: a stalled receiver.
 */
public final class TestPeer implements AutoCloseable {
  public final LinkedBlockingQueue<ServerMessage> received = new LinkedBlockingQueue<>();
  public final CompletableFuture<Status> closed = new CompletableFuture<>();
  public final AtomicLong payloadBytesReceived = new AtomicLong();
  private volatile ClientCallStreamObserver<ClientMessage> out;
  private final boolean autoRead;
  private long seq;

  private TestPeer(boolean autoRead) {
    this.autoRead = autoRead;
  }

  public static TestPeer connect(Channel channel, boolean autoRead) {
    TestPeer peer = new TestPeer(autoRead);
    RelayServiceGrpc.newStub(channel).connect(new ClientResponseObserver<ClientMessage, ServerMessage>() {
      @Override
      public void beforeStart(ClientCallStreamObserver<ClientMessage> requestStream) {
        peer.out = requestStream;
        if (!autoRead) {
          requestStream.disableAutoRequestWithInitial(0);
        }
      }

      @Override
      public void onNext(ServerMessage value) {
        if (value.hasData()) {
          peer.payloadBytesReceived.addAndGet(value.getData().getPayload().size());
        }
        peer.received.add(value);
      }

      @Override
      public void onError(Throwable t) {
        peer.closed.complete(Status.fromThrowable(t));
      }

      @Override
      public void onCompleted() {
        peer.closed.complete(Status.OK);
      }
    });
    return peer;
  }

  public static TestPeer join(Channel channel, String ticket) {
    return join(channel, ticket, 0);
  }

  /** Joins as the client incarnation {@code incarnation} (Join.incarnation; 0 = none). */
  public static TestPeer join(Channel channel, String ticket, long incarnation) {
    TestPeer peer = connect(channel, true);
    peer.sendJoin(ticket, incarnation);
    return peer;
  }

  public void sendJoin(String ticket) {
    sendJoin(ticket, 0);
  }

  public void sendJoin(String ticket, long incarnation) {
    send(ClientMessage.newBuilder().setJoin(Join.newBuilder().setTicket(ticket).setIncarnation(incarnation)).build());
  }

  /** Acknowledges the peer's frames up to {@code seq}, naming the peer incarnation they came from. */
  public void sendAck(long seq, long incarnation) {
    send(ClientMessage.newBuilder().setAck(Ack.newBuilder().setSeq(seq).setIncarnation(incarnation)).build());
  }

  public synchronized void send(ClientMessage message) {
    out.onNext(message);
  }

  public void sendData(byte[] payload) {
    long s;
    synchronized (this) {
      s = ++seq;
    }
    send(ClientMessage.newBuilder().setData(Frame.newBuilder().setSeq(s).setPayload(ByteString.copyFrom(payload))).build());
  }

  public void terminate(String reason) {
    send(ClientMessage.newBuilder().setTerminate(Terminate.newBuilder().setReason(reason)).build());
  }

  public boolean isReady() {
    return out.isReady();
  }

  public void halfClose() {
    out.onCompleted();
  }

  public void cancel() {
    out.cancel("test cancels", null);
  }

  /** Lets a manual-read peer take {@code n} more messages. */
  public void read(int n) {
    out.request(n);
  }

  /** Next message of the given kind, skipping heartbeats; fails the test after the timeout. */
  public ServerMessage next(ServerMessage.KindCase kind, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      long left = deadline - System.nanoTime();
      ServerMessage m = received.poll(Math.max(0, left), TimeUnit.NANOSECONDS);
      if (m == null) {
        throw new AssertionError("no " + kind + " within " + timeout + "; closed=" + closed.getNow(null));
      }
      if (m.getKindCase() == kind) {
        return m;
      }
      if (m.getKindCase() != ServerMessage.KindCase.HEARTBEAT && kind != ServerMessage.KindCase.KIND_NOT_SET) {
        throw new AssertionError("expected " + kind + " but got " + m);
      }
    }
  }

  public ServerMessage next(ServerMessage.KindCase kind) throws InterruptedException {
    return next(kind, Duration.ofSeconds(5));
  }

  public Status awaitClose() throws Exception {
    return closed.get(10, TimeUnit.SECONDS);
  }

  @Override
  public void close() {
    if (!closed.isDone()) {
      try {
        out.cancel("test done", null);
      } catch (RuntimeException ignored) {
        // already closed
      }
    }
  }
}
