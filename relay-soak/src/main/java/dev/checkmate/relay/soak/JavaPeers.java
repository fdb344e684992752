package dev.checkmate.relay.soak;

import dev.checkmate.relay.client.RelayClient;
import dev.checkmate.relay.client.RelayException;
import dev.checkmate.relay.client.RelaySession;
import dev.checkmate.relay.client.SessionEndedException;
import dev.checkmate.relay.client.SessionListener;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Java SDK participants over gRPC: {@link RelayClient}s with resume on (the default), each given
 * every relay as a target starting with the one the participant should land on, the way an app
 * configured with a region's relays fails over. A few clients per first target share their
 * connections among many sessions, as apps multiplex sessions over one channel.
 */
final class JavaPeers implements AutoCloseable {
  private static final Logger SDK_LOG = Logger.getLogger("dev.checkmate.relay.client");
  private final List<List<RelayClient>> byFirstTarget = new ArrayList<>();
  private final AtomicInteger next = new AtomicInteger();
  private final ExecutorService joins;
  private final ExecutorService slow = Executors.newCachedThreadPool(daemon("soak-slow-reader"));

  /**
   * @param targets per first target, the ordered target list ("host:port" of every relay, that one
   *     first) — e.g. direct relay ports, or the cutting proxies in front of them
   * @param clientsPerTarget RelayClients (connections) per first target
   */
  JavaPeers(List<List<String>> targets, int clientsPerTarget, int joinThreads) {
    SDK_LOG.setLevel(Level.WARNING); // the SDK logs every resume at INFO
    for (List<String> t : targets) {
      List<RelayClient> clients = new ArrayList<>();
      for (int i = 0; i < clientsPerTarget; i++) {
        clients.add(RelayClient.builder().targets(t).usePlaintext().build());
      }
      byFirstTarget.add(clients);
    }
    this.joins = Executors.newFixedThreadPool(joinThreads, daemon("soak-java-join"));
  }

  private static java.util.concurrent.ThreadFactory daemon(String name) {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, name + "-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }

  /** A client whose first target is {@code first} (round robin over that target's clients). */
  RelayClient client(int first) {
    List<RelayClient> c = byFirstTarget.get(Math.floorMod(first, byFirstTarget.size()));
    return c.get(Math.floorMod(next.incrementAndGet(), c.size()));
  }

  /**
   * Joins on a join thread (the SDK's join blocks until Joined). {@code slowMillis} > 0: a slow
   * reader that takes that long over each frame (it blocks its session's callback executor, so the
   * SDK acknowledges late and the peer is back-pressured).
   */
  Participant join(int firstTarget, String ticket, int slowMillis, Participant.Events events) {
    Peer peer = new Peer(events, slowMillis);
    RelayClient client = client(firstTarget);
    joins.execute(() -> {
      try {
        RelaySession s = client.join(ticket, peer);
        peer.session = s;
        events.joined(s.peerPresent());
      } catch (RelayException e) {
        events.joinFailed(e.getClass().getSimpleName() + "(" + e.code() + "): " + e.getMessage());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } catch (RuntimeException e) {
        events.joinFailed(e.toString());
      }
    });
    return peer;
  }

  private final class Peer implements Participant, SessionListener {
    final Events events;
    final int slowMillis;
    volatile RelaySession session;
    volatile CompletableFuture<Void> lastSend = CompletableFuture.completedFuture(null);
    volatile long lostAtNanos;

    Peer(Events events, int slowMillis) {
      this.events = events;
      this.slowMillis = slowMillis;
    }

    @Override
    public Transport transport() {
      return Transport.GRPC;
    }

    @Override
    public void send(byte[] payload) {
      try {
        lastSend = session.send(payload);
      } catch (RuntimeException e) {
        events.dropped(1);
      }
    }

    @Override
    public boolean busy() {
      return !lastSend.isDone();
    }

    @Override
    public void terminate(String reason) {
      RelaySession s = session;
      if (s != null) {
        slow.execute(() -> {
          try {
            s.terminate(reason);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          } catch (RuntimeException e) {
            // the end (or its failure) reaches onEnded
          }
        });
      }
    }

    @Override
    public void close() {
      RelaySession s = session;
      if (s != null) {
        s.close();
      }
    }

    @Override
    public void onFrame(RelaySession s, byte[] payload) {
      events.frame(payload);
      if (slowMillis > 0) {
        try {
          Thread.sleep(slowMillis);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    }

    @Override
    public void onPeerJoined(RelaySession s) {
      events.peerPresent(true);
    }

    @Override
    public void onPeerLeft(RelaySession s, String detail) {
      events.peerPresent(false);
    }

    @Override
    public void onPeerReconnecting(RelaySession s, String detail) {
      events.peerPresent(false);
    }

    @Override
    public void onReconnecting(RelaySession s, RelayException cause) {
      lostAtNanos = System.nanoTime();
      events.reconnecting(cause.getMessage());
    }

    @Override
    public void onResumed(RelaySession s) {
      events.resumed((System.nanoTime() - lostAtNanos) / 1e6);
    }

    @Override
    public void onEnded(RelaySession s, RelayException reason) {
      if (reason instanceof SessionEndedException ended) {
        boolean clean = ended.endReason() == dev.checkmate.relay.client.EndReason.TERMINATED;
        events.ended(new End(ended.endReason().name(), clean ? null : "SessionEndedException", ended.code().name(),
            ended.getMessage()));
      } else {
        events.ended(new End(null, reason.getClass().getSimpleName(), reason.code().name(), reason.getMessage()));
      }
    }
  }

  @Override
  public void close() throws InterruptedException {
    joins.shutdownNow();
    slow.shutdownNow();
    for (List<RelayClient> clients : byFirstTarget) {
      for (RelayClient c : clients) {
        c.close();
      }
    }
    joins.awaitTermination(5, TimeUnit.SECONDS);
  }
}
