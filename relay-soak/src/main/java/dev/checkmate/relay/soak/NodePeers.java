package dev.checkmate.relay.soak;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Browser-SDK participants: one Node.js process running {@code peers.mjs} with the TypeScript SDK
 * that client-web builds (its {@code dist/}), over WebSocket and gRPC-Web. The harness talks to it
 * through tab-separated lines on its standard input and output (the protocol is at the top of
 * {@code peers.mjs}). Stopped by its PID when closed.
 */
final class NodePeers implements AutoCloseable {
  private final Process process;
  private final LinkedBlockingQueue<String> commands = new LinkedBlockingQueue<>();
  private final ConcurrentHashMap<String, Peer> peers = new ConcurrentHashMap<>();
  private final AtomicLong ids = new AtomicLong();
  private final Thread reader;
  private final Thread writer;
  private volatile boolean closing;

  private NodePeers(Process process) {
    this.process = process;
    this.reader = new Thread(this::read, "node-peers-reader");
    this.writer = new Thread(this::write, "node-peers-writer");
    reader.setDaemon(true);
    writer.setDaemon(true);
    reader.start();
    writer.start();
  }

  /** Starts Node with the SDK at {@code clientWeb}/dist; its stderr goes to {@code log}. */
  static NodePeers start(Path clientWeb, Path workDir, Path log) throws IOException {
    Path sdk = clientWeb.resolve("dist/index.js");
    if (!Files.exists(sdk)) {
      throw new IllegalStateException("the browser SDK is not built (" + sdk + "): run mvn -pl client-web -am package");
    }
    Path script = workDir.resolve("peers.mjs");
    try (InputStream in = NodePeers.class.getResourceAsStream("peers.mjs")) {
      Files.write(script, in.readAllBytes());
    }
    Process p = new ProcessBuilder("node", "--experimental-websocket", "--no-warnings", script.toString(), sdk.toString())
        .redirectError(ProcessBuilder.Redirect.appendTo(log.toFile()))
        .start();
    return new NodePeers(p);
  }

  long pid() {
    return process.pid();
  }

  /** A participant joining now over {@code transport} (WEBSOCKET or GRPC_WEB) at {@code endpoint} (http://host:port). */
  Participant join(Participant.Transport transport, String endpoint, String sessionId, int slowMillis, String ticket,
      Participant.Events events) {
    String id = Long.toString(ids.incrementAndGet());
    Peer peer = new Peer(id, transport, events);
    peers.put(id, peer);
    commands.add(String.join("\t", "J", id, endpoint, transport == Participant.Transport.GRPC_WEB ? "grpc-web" : "websocket",
        sessionId, Integer.toString(slowMillis), ticket));
    return peer;
  }

  private final class Peer implements Participant {
    final String id;
    final Transport transport;
    final Events events;
    volatile boolean busy;

    Peer(String id, Transport transport, Events events) {
      this.id = id;
      this.transport = transport;
      this.events = events;
    }

    @Override
    public Transport transport() {
      return transport;
    }

    @Override
    public void send(byte[] payload) {
      commands.add("S\t" + id + "\t" + new String(payload, StandardCharsets.US_ASCII));
    }

    @Override
    public boolean busy() {
      return busy;
    }

    @Override
    public void terminate(String reason) {
      commands.add("T\t" + id + "\t" + reason);
    }

    @Override
    public void close() {
      commands.add("C\t" + id);
    }
  }

  private void read() {
    try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = r.readLine()) != null) {
        String[] f = line.split("\t", -1);
        if (f.length < 2) {
          continue;
        }
        Peer p = peers.get(f[1]);
        if (p == null) {
          continue;
        }
        Participant.Events e = p.events;
        switch (f[0]) {
          case "joined" -> e.joined("1".equals(f[3]));
          case "joinfail" -> {
            peers.remove(p.id);
            e.joinFailed(f[2] + "(" + f[3] + "): " + f[4]);
          }
          case "peer" -> e.peerPresent("1".equals(f[2]));
          case "f" -> e.frame(f[2].getBytes(StandardCharsets.US_ASCII));
          case "rc" -> e.reconnecting(f[2]);
          case "rs" -> e.resumed(Double.parseDouble(f[2]));
          case "busy" -> p.busy = "1".equals(f[2]);
          case "dropped" -> e.dropped(Integer.parseInt(f[2]));
          case "end" -> {
            peers.remove(p.id);
            e.ended(new Participant.End(f[2], f[3].isEmpty() ? null : f[3], f[4], f[5]));
          }
          default -> { }
        }
      }
    } catch (IOException | RuntimeException e) {
      if (!closing) {
        System.err.println("soak: reading from the Node.js peers failed: " + e);
      }
    }
    if (!closing) {
      // Node died: every participant it held is gone.
      List<Peer> left = new ArrayList<>(peers.values());
      peers.clear();
      for (Peer p : left) {
        p.events.ended(new Participant.End(null, "NodePeersExited", "", "the Node.js process exited"));
      }
    }
  }

  private void write() {
    try (Writer w = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8)) {
      List<String> batch = new ArrayList<>();
      while (!closing) {
        String first = commands.poll(200, TimeUnit.MILLISECONDS);
        if (first == null) {
          continue;
        }
        batch.add(first);
        commands.drainTo(batch, 4096);
        for (String c : batch) {
          w.write(c);
          w.write('\n');
        }
        w.flush();
        batch.clear();
      }
    } catch (IOException | InterruptedException e) {
      // closing, or Node is gone (the reader reports it)
    }
  }

  /** Participants Node still holds. */
  int active() {
    return peers.size();
  }

  @Override
  public void close() throws InterruptedException {
    closing = true;
    process.destroy();
    if (!process.waitFor(5, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      process.waitFor(5, TimeUnit.SECONDS);
    }
    reader.join(2000);
    writer.join(2000);
  }
}
