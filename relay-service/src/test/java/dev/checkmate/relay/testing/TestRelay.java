package dev.checkmate.relay.testing;

import dev.checkmate.relay.RelayConfig;
import dev.checkmate.relay.RelayServer;
import dev.checkmate.relay.proto.v1.CreateSessionRequest;
import dev.checkmate.relay.proto.v1.CreateSessionResponse;
import dev.checkmate.relay.proto.v1.RelayServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/** A real relay on a loopback port plus a plaintext channel to it: the fixture of relay tests. */
public final class TestRelay implements AutoCloseable {
  public final RelayServer server;
  public final ManagedChannel channel;

  private TestRelay(RelayServer server) {
    this.server = server;
    this.channel = NettyChannelBuilder.forAddress("127.0.0.1", server.grpcPort()).usePlaintext().build();
  }

  public static TestRelay start() throws Exception {
    return start(RelayConfig.builder());
  }

  /** Starts with the given settings, on an ephemeral port and fast timers unless set otherwise. */
  public static TestRelay start(RelayConfig.Builder config) throws Exception {
    return new TestRelay(RelayServer.start(config.grpcPort(0).sweepInterval(Duration.ofMillis(20)).drainTimeout(Duration.ofSeconds(1)).build()));
  }

  public CreateSessionResponse createSession() {
    return RelayServiceGrpc.newBlockingStub(channel).createSession(CreateSessionRequest.getDefaultInstance());
  }

  public CreateSessionResponse createSession(int ttlSeconds) {
    return RelayServiceGrpc.newBlockingStub(channel).createSession(CreateSessionRequest.newBuilder().setTtlSeconds(ttlSeconds).build());
  }

  public TestPeer join(String ticket) {
    return TestPeer.join(channel, ticket);
  }

  public TestPeer join(String ticket, long incarnation) {
    return TestPeer.join(channel, ticket, incarnation);
  }

  /** Polls a condition (for state that settles asynchronously, e.g. the hub emptying). */
  public static void await(String what, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting for: " + what);
      }
      Thread.sleep(10);
    }
  }

  @Override
  public void close() throws InterruptedException {
    channel.shutdownNow();
    channel.awaitTermination(5, TimeUnit.SECONDS);
    server.close();
  }
}
