package dev.checkmate.relay.testing;

import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/** Asks a relay's two health endpoints, each on a fresh connection, with a 5 s deadline. */
public final class Health {
  private Health() {}

  /** The gRPC health service's answer for the whole server, or "UNREACHABLE: <code>". */
  public static String grpc(int port) {
    ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
    try {
      return HealthGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS)
          .check(HealthCheckRequest.getDefaultInstance()).getStatus().name();
    } catch (StatusRuntimeException e) {
      return "UNREACHABLE: " + e.getStatus().getCode();
    } finally {
      channel.shutdownNow();
    }
  }

  /** {@code GET /healthz} on the HTTP port: "200 SERVING", "503 NOT_SERVING", or "UNREACHABLE: ...". */
  public static String http(int port) {
    try {
      HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
      HttpResponse<String> res = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/healthz"))
          .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
      return res.statusCode() + " " + res.body().strip();
    } catch (Exception e) {
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      return "UNREACHABLE: " + e;
    }
  }

  /** Polls {@code probe} until it answers {@code expected}; fails with the last answer after 30 s. */
  public static void await(String expected, Supplier<String> probe) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    String last;
    while (!(last = probe.get()).equals(expected)) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("health never became " + expected + "; last answer: " + last);
      }
      Thread.sleep(50);
    }
  }
}
