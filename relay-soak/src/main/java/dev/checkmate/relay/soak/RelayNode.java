package dev.checkmate.relay.soak;

import dev.checkmate.relay.testing.ChildRelay;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * One relay node of the soak cluster: a relay process ({@link ChildRelay}) that keeps its node id
 * and its ports across kill -9 and restarts (the first start picks free ports; later ones reuse
 * them, as a restarted pod keeps its address), so clients find it again where they left it.
 */
final class RelayNode implements AutoCloseable {
  final int index;
  final String nodeId;
  private final List<String> jvmArgs;
  private final List<String> baseArgs;
  private final Path log;
  private volatile ChildRelay process;
  private int grpcPort;
  private int httpPort;
  private int metricsPort;
  private int starts;

  RelayNode(int index, String nodeId, List<String> jvmArgs, List<String> args, Path log) {
    this.index = index;
    this.nodeId = nodeId;
    this.jvmArgs = jvmArgs;
    this.baseArgs = args;
    this.log = log;
  }

  /** Starts (or restarts) the process, on the same ports as before. */
  synchronized void start() throws Exception {
    List<String> args = new ArrayList<>(baseArgs);
    args.addAll(List.of("--node-id", nodeId, "--metrics-port", Integer.toString(metricsPort), "--telemetry",
        "--grpc-port", Integer.toString(grpcPort), "--ws-port", Integer.toString(httpPort)));
    Exception last = null;
    for (int attempt = 0; attempt < 3; attempt++) {
      try {
        process = ChildRelay.start(jvmArgs, args, log);
        last = null;
        break;
      } catch (Exception | AssertionError e) {
        // e.g. a port still held by the killed process's socket for a moment: try again
        last = e instanceof Exception ex ? ex : new IllegalStateException(e);
        Thread.sleep(500);
      }
    }
    if (last != null) {
      throw last;
    }
    if (starts++ == 0) {
      grpcPort = process.grpcPort;
      httpPort = process.httpPort;
      metricsPort = process.metricsPort;
    } else if (process.grpcPort != grpcPort || process.httpPort != httpPort) {
      throw new IllegalStateException(nodeId + " restarted on other ports");
    }
  }

  /** kill -9. */
  synchronized void kill() throws InterruptedException {
    ChildRelay p = process;
    if (p != null) {
      p.kill();
    }
  }

  /** SIGTERM: the relay drains and exits; returns its exit code. */
  int drain(Duration timeout) throws InterruptedException {
    ChildRelay p;
    synchronized (this) {
      p = process;
    }
    return p == null ? -1 : p.terminate(timeout);
  }

  boolean alive() {
    ChildRelay p = process;
    return p != null && p.alive();
  }

  ChildRelay process() {
    return process;
  }

  long pid() {
    ChildRelay p = process;
    return p == null ? -1 : p.pid();
  }

  int grpcPort() {
    return grpcPort;
  }

  int httpPort() {
    return httpPort;
  }

  int metricsPort() {
    return metricsPort;
  }

  int starts() {
    return starts;
  }

  @Override
  public synchronized void close() throws InterruptedException {
    if (process != null) {
      process.close();
    }
  }
}
