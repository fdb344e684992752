package dev.checkmate.relay.bench;

import dev.checkmate.relay.proto.v1.ClientMessage;
import dev.checkmate.relay.proto.v1.CreateSessionRequest;
import dev.checkmate.relay.proto.v1.CreateSessionResponse;
import dev.checkmate.relay.proto.v1.RelayServiceGrpc;
import dev.checkmate.relay.proto.v1.ServerMessage;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * W8 over gRPC: CreateSession, then both participants' Connect streams. {@code shared}: every
 * call is multiplexed over a few long-lived HTTP/2 connections (what an edge proxy such as Envoy
 * sends a relay). {@code dedicated}: each participant opens its own connection and closes it
 * when its session is over (devices talking to the relay directly); CreateSession goes over the
 * issuer's long-lived connection.
 */
final class ChurnGrpc implements ChurnDriver.Layout {
  private final Clients.Factory factory;
  private final int port;
  private final int window;
  private final boolean dedicated;
  private final List<ManagedChannel> pool = new ArrayList<>();
  private final AtomicLong counter = new AtomicLong();
  private final ManagedChannel control;
  private final CreateSessionRequest create;

  ChurnGrpc(Clients.Factory factory, int port, int window, boolean dedicated, int sharedConnections, int ttlSeconds) {
    this.create = ChurnPeers.create(ttlSeconds);
    this.factory = factory;
    this.port = port;
    this.window = window;
    this.dedicated = dedicated;
    this.control = factory.channel(port, window);
    if (!dedicated) {
      pool.add(control);
      for (int i = 1; i < sharedConnections; i++) {
        pool.add(factory.channel(port, window));
      }
    }
  }

  @Override
  public String name() {
    return dedicated ? "grpc-dedicated" : "grpc-shared(" + pool.size() + ")";
  }

  private static final class State {
    ManagedChannel a;
    ManagedChannel b;
    Stream prover;
    Stream verifier;
  }

  @Override
  public void start(ChurnDriver.Session s) {
    long i = counter.getAndIncrement();
    ManagedChannel ch = dedicated ? control : pool.get((int) (i % pool.size()));
    State st = new State();
    s.state = st;
    ClientCalls.asyncUnaryCall(ch.newCall(RelayServiceGrpc.getCreateSessionMethod(), CallOptions.DEFAULT),
        create, new StreamObserver<CreateSessionResponse>() {
          private CreateSessionResponse response;

          @Override
          public void onNext(CreateSessionResponse r) {
            response = r;
          }

          @Override
          public void onError(Throwable t) {
            s.fail("CreateSession " + Status.fromThrowable(t).getCode());
          }

          @Override
          public void onCompleted() {
            if (!s.finished()) {
              join(s, st, i, response);
            }
          }
        });
  }

  private void join(ChurnDriver.Session s, State st, long i, CreateSessionResponse r) {
    if (dedicated) {
      st.a = factory.channel(port, window);
      st.b = factory.channel(port, window);
    } else {
      st.a = pool.get((int) (i % pool.size()));
      st.b = pool.get((int) ((i + 1) % pool.size()));
    }
    ChurnPeers.Pair pair = new ChurnPeers.Pair(s);
    if (dedicated) {
      pair.cleanup = () -> {
        st.a.shutdownNow();
        st.b.shutdownNow();
      };
    }
    st.prover = Stream.open(st.a, pair, true);
    st.verifier = Stream.open(st.b, pair, false);
    st.prover.send(ChurnPeers.join(r.getProverTicket()));
    st.verifier.send(ChurnPeers.join(r.getVerifierTicket()));
    if (s.finished()) {
      abort(s); // timed out meanwhile
    }
  }

  @Override
  public void abort(ChurnDriver.Session s) {
    if (!(s.state instanceof State st)) {
      return;
    }
    if (st.prover != null) {
      st.prover.cancel();
    }
    if (st.verifier != null) {
      st.verifier.cancel();
    }
    if (dedicated) {
      if (st.a != null) {
        st.a.shutdownNow();
      }
      if (st.b != null) {
        st.b.shutdownNow();
      }
    }
  }

  @Override
  public void close() {
    for (ManagedChannel ch : pool) {
      ch.shutdownNow();
    }
    control.shutdownNow();
  }

  /** One participant's Connect stream. */
  private static final class Stream extends ChurnPeers.Peer implements ClientResponseObserver<ClientMessage, ServerMessage> {
    private volatile ClientCallStreamObserver<ClientMessage> out;

    private Stream(ChurnPeers.Pair pair, boolean prover) {
      super(pair, prover);
    }

    static Stream open(ManagedChannel ch, ChurnPeers.Pair pair, boolean prover) {
      Stream s = new Stream(pair, prover);
      ClientCalls.asyncBidiStreamingCall(ch.newCall(RelayServiceGrpc.getConnectMethod(), CallOptions.DEFAULT), s);
      return s;
    }

    @Override
    public void beforeStart(ClientCallStreamObserver<ClientMessage> requestStream) {
      out = requestStream;
    }

    @Override
    synchronized void send(ClientMessage m) {
      try {
        out.onNext(m);
      } catch (RuntimeException e) {
        // the call is already over; its close reports the outcome
      }
    }

    @Override
    public void onNext(ServerMessage m) {
      onMessage(m);
    }

    @Override
    public void onError(Throwable t) {
      Status st = Status.fromThrowable(t);
      onClosed(false, (prover ? "prover " : "verifier ") + st.getCode());
    }

    @Override
    public void onCompleted() {
      onClosed(true, null);
    }

    void cancel() {
      try {
        out.cancel("W8 session aborted", null);
      } catch (RuntimeException ignored) {
        // already closed
      }
    }
  }
}
