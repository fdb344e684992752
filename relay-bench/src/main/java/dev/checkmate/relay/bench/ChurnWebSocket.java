package dev.checkmate.relay.bench;

import com.google.common.util.concurrent.ListenableFuture;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.checkmate.relay.proto.v1.ClientMessage;
import dev.checkmate.relay.proto.v1.CreateSessionRequest;
import dev.checkmate.relay.proto.v1.CreateSessionResponse;
import dev.checkmate.relay.proto.v1.RelayServiceGrpc;
import dev.checkmate.relay.proto.v1.ServerMessage;
import io.grpc.ManagedChannel;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufInputStream;
import java.io.IOException;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;

/**
 * W8 over WebSocket (what browsers use): tickets are made beforehand with CreateSession (not part
 * of the measured window), then each participant opens its own WebSocket to {@code /ws}, joins,
 * runs the round trips, and answers the relay's close frame; the relay closes the TCP connection.
 */
final class ChurnWebSocket implements ChurnDriver.Layout {
  private final int wsPort;
  private final ManagedChannel control;
  private final WsClient client;
  private final ConcurrentLinkedQueue<CreateSessionResponse> tickets = new ConcurrentLinkedQueue<>();
  private final CreateSessionRequest create;

  ChurnWebSocket(Clients.Factory factory, int grpcPort, int wsPort, int window, int threads, int ttlSeconds) {
    this.create = ChurnPeers.create(ttlSeconds);
    this.wsPort = wsPort;
    this.control = factory.channel(grpcPort, window);
    this.client = new WsClient(threads);
  }

  @Override
  public String name() {
    return "websocket";
  }

  /** Makes enough tickets for the step (CreateSession over gRPC, 500 at a time), before the clock starts. */
  @Override
  public void prepare(int sessions) throws Exception {
    RelayServiceGrpc.RelayServiceFutureStub stub = RelayServiceGrpc.newFutureStub(control);
    int need = sessions - tickets.size();
    while (need > 0) {
      int m = Math.min(500, need);
      List<ListenableFuture<CreateSessionResponse>> batch = new ArrayList<>(m);
      for (int i = 0; i < m; i++) {
        batch.add(stub.createSession(create));
      }
      for (ListenableFuture<CreateSessionResponse> f : batch) {
        tickets.add(f.get(60, TimeUnit.SECONDS));
      }
      need -= m;
    }
  }

  private static final class State {
    volatile WsClient.Socket prover;
    volatile WsClient.Socket verifier;
  }

  @Override
  public void start(ChurnDriver.Session s) {
    CreateSessionResponse r = tickets.poll();
    if (r == null) {
      s.fail("no ticket made beforehand");
      return;
    }
    State st = new State();
    s.state = st;
    ChurnPeers.Pair pair = new ChurnPeers.Pair(s);
    URI uri = URI.create("ws://127.0.0.1:" + wsPort + "/ws?session=" + r.getSessionId());
    st.prover = client.connect(wsPort, uri, new Peer(pair, true, r.getProverTicket()));
    st.verifier = client.connect(wsPort, uri, new Peer(pair, false, r.getVerifierTicket()));
  }

  @Override
  public void abort(ChurnDriver.Session s) {
    if (s.state instanceof State st) {
      if (st.prover != null) {
        st.prover.abort();
      }
      if (st.verifier != null) {
        st.verifier.abort();
      }
    }
  }

  @Override
  public void close() {
    control.shutdownNow();
    client.close();
  }

  /** One participant on its WebSocket. */
  private static final class Peer extends ChurnPeers.Peer implements WsClient.Listener {
    private final String ticket;
    private volatile WsClient.Socket socket;

    Peer(ChurnPeers.Pair pair, boolean prover, String ticket) {
      super(pair, prover);
      this.ticket = ticket;
    }

    @Override
    void send(ClientMessage m) {
      WsClient.Socket s = socket;
      if (s != null) {
        s.send(m.toByteArray());
      }
    }

    @Override
    public void opened(WsClient.Socket s) {
      socket = s;
      send(ChurnPeers.join(ticket));
    }

    @Override
    public void message(WsClient.Socket s, ByteBuf data) {
      try (ByteBufInputStream in = new ByteBufInputStream(data)) {
        onMessage(ServerMessage.parseFrom(in));
      } catch (InvalidProtocolBufferException e) {
        onClosed(false, "bad ServerMessage");
        s.abort();
      } catch (IOException e) {
        onClosed(false, "unreadable ServerMessage");
        s.abort();
      }
    }

    @Override
    public void closed(WsClient.Socket s, int code, String why) {
      onClosed(code == 1000, code == 1000 ? null : (prover ? "prover " : "verifier ") + "WebSocket " + why);
    }
  }
}
