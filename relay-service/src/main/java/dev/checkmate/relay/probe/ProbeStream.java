package dev.checkmate.relay.probe;

import dev.checkmate.relay.proto.v1.Frame;
import dev.checkmate.relay.proto.v1.ServerMessage;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * One participant's stream over one transport, as bare as the protocol: the probe sees exactly the
 * ServerMessages the edge delivers and how the stream ended.
 */
abstract class ProbeStream implements AutoCloseable {
  /** How a stream ended: {@code clean} for gRPC OK, WebSocket 1000, gRPC-Web grpc-status 0. */
  record End(boolean clean, String description) {}

  /** Something the probe saw go wrong on a stream, worded for the report. */
  static final class Failure extends Exception {
    Failure(String message) {
      super(message);
    }
  }

  final LinkedBlockingQueue<ServerMessage> received = new LinkedBlockingQueue<>();
  final CompletableFuture<End> ended = new CompletableFuture<>();

  abstract Transport transport();

  /** Opens the stream and sends the Join (gRPC-Web: opens Receive with the ticket). */
  abstract void join(String ticket) throws Failure;

  /** Sends one frame; returns once the transport took it. */
  abstract void send(Frame frame) throws Failure;

  abstract void terminate(String reason) throws Failure;

  /** The next message that is not a heartbeat or an ack; fails when none comes in time. */
  ServerMessage next(Duration timeout) throws Failure, InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      ServerMessage m = received.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      if (m == null) {
        End end = ended.getNow(null);
        throw new Failure(end != null
            ? "the " + transport() + " stream ended: " + end.description()
            : "nothing arrived on the " + transport() + " stream within " + timeout.toMillis() + " ms");
      }
      if (!m.hasHeartbeat() && !m.hasAck()) {
        return m;
      }
    }
  }

  /** Waits for the end of the stream. */
  End awaitEnd(Duration timeout) throws Failure, InterruptedException {
    try {
      return ended.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (java.util.concurrent.TimeoutException e) {
      throw new Failure("the " + transport() + " stream did not end within " + timeout.toMillis() + " ms");
    } catch (java.util.concurrent.ExecutionException e) {
      throw new Failure("the " + transport() + " stream failed: " + TlsProbe.describe(e.getCause()));
    }
  }

  @Override
  public abstract void close();
}
