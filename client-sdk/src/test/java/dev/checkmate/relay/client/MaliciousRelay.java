package dev.checkmate.relay.client;

import com.google.protobuf.ByteString;
import dev.checkmate.relay.client.e2e.E2eChannel;
import dev.checkmate.relay.client.e2e.E2eHandshake;
import dev.checkmate.relay.client.e2e.E2eMessageType;
import dev.checkmate.relay.proto.v1.ClientMessage;
import dev.checkmate.relay.proto.v1.CreateSessionRequest;
import dev.checkmate.relay.proto.v1.CreateSessionResponse;
import dev.checkmate.relay.proto.v1.Frame;
import dev.checkmate.relay.proto.v1.RelayServiceGrpc;
import dev.checkmate.relay.proto.v1.ServerMessage;
import dev.checkmate.relay.proto.v1.TerminateSessionRequest;
import dev.checkmate.relay.proto.v1.TerminateSessionResponse;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * A hostile relay for tests: a real gRPC server that forwards every Connect stream to the real
 * relay and, on the way back to the clients, attacks the frames. It renumbers the relay sequence
 * numbers it delivers, as a careful attacker would, so that only the end-to-end layer can notice.
 *
 * <ul>
 *   <li>{@link Mode#PASSTHROUGH}: forwards untouched and records every payload it sees;
 *   <li>FLIP / DUPLICATE / DROP / SWAP: attacks the {@code attackAt}-th E2E DATA frame towards the
 *       VERIFIER;
 *   <li>{@link Mode#MITM}: relay-in-the-middle: runs its own E2E handshake with each client (with
 *       {@code mitmSecret} as its guess of the pairing secret) and reads what they send.
 * </ul>
 */
final class MaliciousRelay implements AutoCloseable {
  enum Mode { PASSTHROUGH, FLIP, DUPLICATE, DROP, SWAP, MITM }

  final List<byte[]> payloadsSeen = Collections.synchronizedList(new ArrayList<>());
  final List<byte[]> mitmPlaintexts = Collections.synchronizedList(new ArrayList<>());
  final Map<Role, String> mitmSas = new ConcurrentHashMap<>();
  private final Mode mode;
  private final int attackAt;
  private final byte[] mitmSecret; // null: MITM without a pairing secret
  private final ManagedChannel upstream;
  private final Server server;

  MaliciousRelay(String relayTarget, Mode mode, int attackAt, byte[] mitmSecret) throws Exception {
    this.mode = mode;
    this.attackAt = attackAt;
    this.mitmSecret = mitmSecret;
    this.upstream = NettyChannelBuilder.forTarget(relayTarget).usePlaintext().build();
    this.server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .addService(new Service()).build().start();
  }

  String target() {
    return "127.0.0.1:" + server.getPort();
  }

  @Override
  public void close() throws Exception {
    server.shutdownNow();
    upstream.shutdownNow();
    server.awaitTermination(5, TimeUnit.SECONDS);
    upstream.awaitTermination(5, TimeUnit.SECONDS);
  }

  private final class Service extends RelayServiceGrpc.RelayServiceImplBase {
    @Override
    public void createSession(CreateSessionRequest request, StreamObserver<CreateSessionResponse> out) {
      try {
        out.onNext(RelayServiceGrpc.newBlockingStub(upstream).createSession(request));
        out.onCompleted();
      } catch (RuntimeException e) {
        out.onError(e);
      }
    }

    @Override
    public void terminateSession(TerminateSessionRequest request, StreamObserver<TerminateSessionResponse> out) {
      try {
        out.onNext(RelayServiceGrpc.newBlockingStub(upstream).terminateSession(request));
        out.onCompleted();
      } catch (RuntimeException e) {
        out.onError(e);
      }
    }

    @Override
    public StreamObserver<ClientMessage> connect(StreamObserver<ServerMessage> down) {
      Pipe pipe = new Pipe(down);
      StreamObserver<ClientMessage> up = RelayServiceGrpc.newStub(upstream).connect(new StreamObserver<>() {
        @Override
        public void onNext(ServerMessage m) {
          pipe.fromRelay(m);
        }

        @Override
        public void onError(Throwable t) {
          pipe.closeDown(t);
        }

        @Override
        public void onCompleted() {
          pipe.closeDown(null);
        }
      });
      pipe.up = up;
      return new StreamObserver<>() {
        @Override
        public void onNext(ClientMessage m) {
          pipe.fromClient(m);
        }

        @Override
        public void onError(Throwable t) {
          synchronized (pipe) {
            up.onError(t);
          }
        }

        @Override
        public void onCompleted() {
          synchronized (pipe) {
            up.onCompleted();
          }
        }
      };
    }
  }

  /** One client's stream through the proxy. Every method is synchronized: one writer per direction. */
  private final class Pipe {
    private final StreamObserver<ServerMessage> down;
    StreamObserver<ClientMessage> up;
    private Role role;
    private long downSeq;
    private int dataFrames;
    private byte[] held;
    private boolean closed;
    private E2eHandshake mitm;
    private E2eChannel mitmChannel;

    Pipe(StreamObserver<ServerMessage> down) {
      this.down = down;
    }

    synchronized void fromClient(ClientMessage m) {
      if (m.hasData()) {
        byte[] p = m.getData().getPayload().toByteArray();
        payloadsSeen.add(p);
        if (mode == Mode.MITM) {
          mitmFromClient(p);
          return;
        }
      }
      up.onNext(m);
    }

    synchronized void fromRelay(ServerMessage m) {
      if (m.hasJoined()) {
        role = Role.fromProto(m.getJoined().getRole());
        down.onNext(m);
        if (mode == Mode.MITM) {
          Role fake = role == Role.PROVER ? Role.VERIFIER : Role.PROVER;
          mitm = E2eHandshake.start(m.getJoined().getSessionId(), fake, Optional.ofNullable(mitmSecret));
          toClient(mitm.localCommitment());
        }
        return;
      }
      if (!m.hasData()) {
        down.onNext(m);
        return;
      }
      if (mode == Mode.MITM) {
        return; // the real peer's frames never reach the client
      }
      byte[] p = m.getData().getPayload().toByteArray();
      boolean isData = p.length > 1 && p[1] == 0x04;
      if (!isData || role != Role.VERIFIER || mode == Mode.PASSTHROUGH) {
        toClient(p);
        return;
      }
      dataFrames++;
      if (dataFrames != attackAt && !(mode == Mode.SWAP && dataFrames == attackAt + 1)) {
        toClient(p);
        return;
      }
      switch (mode) {
        case FLIP -> {
          p[p.length / 2] ^= 0x01;
          toClient(p);
        }
        case DUPLICATE -> {
          toClient(p);
          toClient(p);
        }
        case DROP -> {
          // swallowed
        }
        case SWAP -> {
          if (dataFrames == attackAt) {
            held = p;
          } else {
            toClient(p);
            toClient(held);
          }
        }
        default -> toClient(p);
      }
    }

    private void mitmFromClient(byte[] p) {
      try {
        switch (E2eMessageType.of(p)) {
          case COMMIT -> toClient(mitm.acceptPeerCommitment(p));
          case HELLO -> {
            mitmChannel = mitm.complete(p);
            mitmSas.put(role, mitmChannel.shortAuthenticationString()); // before the client can finish
            toClient(mitmChannel.localConfirmation());
          }
          case CONFIRM -> mitmChannel.verifyPeerConfirmation(p);
          case DATA -> mitmPlaintexts.add(mitmChannel.open(p));
        }
      } catch (RuntimeException e) {
        // The client's keys differ from ours (pairing secret): we cannot read anything.
      }
    }

    private void toClient(byte[] payload) {
      if (closed) {
        return;
      }
      down.onNext(ServerMessage.newBuilder()
          .setData(Frame.newBuilder().setSeq(++downSeq).setPayload(ByteString.copyFrom(payload)))
          .build());
    }

    synchronized void closeDown(Throwable t) {
      if (closed) {
        return;
      }
      closed = true;
      if (t == null) {
        down.onCompleted();
      } else {
        down.onError(t);
      }
    }
  }
}
