package dev.checkmate.relay.cluster;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.checkmate.relay.proto.cluster.v1.NodeMessage;
import io.nats.client.Connection;
import io.nats.client.ConnectionListener;
import io.nats.client.Dispatcher;
import io.nats.client.ErrorListener;
import io.nats.client.Message;
import io.nats.client.Nats;
import io.nats.client.Options;
import io.nats.client.Subscription;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This node's NATS connection: options, credentials and TLS, reconnects, the dispatcher threads,
 * the node's private subscriptions ({@code relay.v1.node.<me>.*.<k>}) and inbox, publishing, and a
 * check at every connect that NATS enforces the per-node permissions (docs/cluster.md §7). Nothing
 * here blocks a caller: publishing never waits for a full outgoing queue (it drops, and the
 * binding's sequence check tears the binding down), and the connection is made in the background.
 */
final class NatsLink implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(NatsLink.class);

  /** Whether NATS keeps other nodes from reading this node's private subjects and from posing as it. */
  enum Isolation { UNKNOWN, ENFORCED, MISSING }

  /** What arrives for the rest of the cluster code (dispatcher threads). */
  interface Inbound {
    /** A message on one of this node's private subjects, from node {@code src} (NATS-authenticated by the subject). */
    void onPrivate(String src, NodeMessage message, long receivedNanos);

    /** NATS answered the lookup published with reply subject {@code inbox(me) + "." + suffix}: nobody holds the session. */
    void onNoResponders(String suffix);

    /** The link came up ({@code first} = the first connection of this process) or back. */
    void onUp(boolean first);

    /** The link went down (jnats keeps reconnecting). */
    void onDown();

    /** The connection is closed for good (shutdown, or credentials refused). */
    void onClosed();
  }

  private final ClusterSettings config;
  private final String me;
  private final ClusterRefusal.Counts refusals;
  private final ScheduledExecutorService timers;
  private final LongAdder publishFailures = new LongAdder();
  private final Set<String> violations = ConcurrentHashMap.newKeySet();
  private volatile Inbound inbound;
  private volatile Connection nc;
  private volatile Dispatcher[] dispatchers;
  private volatile boolean up;
  /**
   * System.nanoTime() when a round trip to the NATS server first succeeded since the link last came
   * up (0 until then): jnats reports a (re)connection before anything has gone through it, and a
   * server that dies right after (NATS servers going down one after another) leaves it "up" until
   * its pings time out, seconds later, while every publish is lost.
   */
  private volatile long upSinceNanos;
  /** When the last successful round trip was sent (0: none yet): what was published before it reached the server. */
  private volatile long lastRoundTripNanos;
  /** Round trips (PING/PONG through jnats' flush) while the link is up; its own thread, so nothing else waits on one. */
  private final Thread prober = new Thread(this::probe, "relay-nats-prober");
  private volatile boolean closing;
  private volatile Isolation isolation = Isolation.UNKNOWN;
  private volatile boolean selfReachable;
  private final java.util.Map<String, Runnable> markers = new ConcurrentHashMap<>();

  NatsLink(ClusterSettings config, ClusterRefusal.Counts refusals, ScheduledExecutorService timers) {
    this.config = config;
    this.me = config.nodeId();
    this.refusals = refusals;
    this.timers = timers;
  }

  /** Connects in the background; {@link Inbound#onUp} reports the connection. */
  void start(Inbound inbound) throws IOException {
    this.inbound = inbound;
    prober.setDaemon(true);
    prober.start();
    Options.Builder o = Options.builder()
        .servers(config.natsUrls().toArray(String[]::new))
        .connectionName("relay-" + me)
        .inboxPrefix(Subjects.inbox(me))
        .maxReconnects(-1)
        .reconnectWait(Duration.ofMillis(500))
        .connectionTimeout(Duration.ofSeconds(2))
        .pingInterval(Duration.ofSeconds(2))
        .maxPingsOut(2)
        // While jnats fails over to another NATS server, publishes wait in this buffer; a binding
        // that lost messages meanwhile sees a seq gap and ends (clients reconnect), one that did
        // not simply continues. Bounded: cross-node data is credit-limited per binding.
        .reconnectBufferSize(16L * 1024 * 1024)
        // Never block a transport thread on a full outgoing queue: drop, and let the binding's
        // sequence check tear it down.
        .discardMessagesWhenOutgoingQueueFull()
        .maxMessagesInOutgoingQueue(65_536)
        .connectionListener(this::onConnectionEvent)
        .errorListener(new ErrorListener() {
          @Override
          public void errorOccurred(Connection conn, String error) {
            if (error != null && error.startsWith("Permissions Violation")) {
              violations.add(error);
              log.debug("NATS: {}", error);
              return;
            }
            log.warn("NATS error: {}", error);
          }

          @Override
          public void exceptionOccurred(Connection conn, Exception exp) {
            log.debug("NATS exception: {}", exp.toString());
          }

          @Override
          public void slowConsumerDetected(Connection conn, io.nats.client.Consumer consumer) {
            log.warn("NATS slow consumer on this relay: cross-node messages dropped; affected bindings reset");
          }
        });
    config.natsCredentials().ifPresent(p -> o.authHandler(Nats.credentials(p.toString())));
    if (config.natsUser().isPresent()) {
      o.userInfo(config.natsUser().get(), config.natsPassword().orElse(""));
    }
    config.natsToken().ifPresent(tok -> o.token(tok.toCharArray()));
    if (config.natsCaCertificate().isPresent()) {
      o.sslContext(trusting(config.natsCaCertificate().get()));
    }
    try {
      Nats.connectAsynchronously(o.build(), true);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while starting the NATS connection", e);
    }
  }

  private static SSLContext trusting(Path caPem) {
    try (InputStream in = Files.newInputStream(caPem)) {
      KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
      ks.load(null, null);
      int i = 0;
      for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
        ks.setCertificateEntry("ca" + i++, c);
      }
      TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(ks);
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(null, tmf.getTrustManagers(), null);
      return ctx;
    } catch (Exception e) {
      throw new IllegalArgumentException("cannot load NATS CA certificate " + caPem + ": " + e.getMessage(), e);
    }
  }

  private void onConnectionEvent(Connection conn, ConnectionListener.Events event) {
    switch (event) {
      // A process that started while NATS was unreachable (connectAsynchronously retries) first
      // connects with RECONNECTED, not CONNECTED: whichever comes first is the first connection,
      // which makes the node's subscriptions. Missing that left such a node deaf for good.
      case CONNECTED, RECONNECTED, RESUBSCRIBED -> {
        boolean first;
        synchronized (this) {
          first = nc == null;
          if (first) {
            nc = conn;
            subscribeNode(conn);
          }
        }
        boolean was = up;
        if (!was) {
          upSinceNanos = 0; // verified by the prober's next round trip
        }
        up = true;
        if (first) {
          if (conn.getMaxPayload() < config.maxFrameBytes() + 4096L) {
            log.warn("NATS max_payload {} is below the relay's max frame ({}) + 4 KiB: raise max_payload on the NATS servers",
                conn.getMaxPayload(), config.maxFrameBytes());
          }
          log.info("cluster link up: node {} connected to NATS {}", me, conn.getConnectedUrl());
          checkIsolation();
          inbound.onUp(true);
        } else if (!was) {
          log.info("cluster link up again ({})", event);
          inbound.onUp(false);
        }
      }
      case DISCONNECTED -> {
        // jnats fails over to another server at once; bindings survive a short gap (heartbeats
        // end those that stay silent for dead-after). Joins are homed locally meanwhile.
        boolean was = up;
        up = false;
        if (was && !closing) {
          log.warn("cluster link down: sessions are homed on this node until NATS is back; cross-node joins and terminates fail fast");
          inbound.onDown();
        }
      }
      case CLOSED -> {
        up = false;
        inbound.onClosed();
      }
      default -> { }
    }
  }

  /** The node's private shards and its inbox, spread over the dispatcher threads. */
  private void subscribeNode(Connection conn) {
    int n = Math.max(2, Math.min(Subjects.SHARDS, Runtime.getRuntime().availableProcessors()));
    Dispatcher[] d = new Dispatcher[n];
    for (int i = 0; i < n; i++) {
      d[i] = conn.createDispatcher();
      // Cross-node traffic is bounded by credits; this is the last guard.
      d[i].setPendingLimits(1_000_000, 512L * 1024 * 1024);
    }
    for (int k = 0; k < Subjects.SHARDS; k++) {
      d[k % n].subscribe(Subjects.nodeSubscription(me, k), this::onNodeMessage);
    }
    String inboxPrefix = Subjects.inbox(me) + ".";
    d[0].subscribe(inboxPrefix + "lk.*", msg -> {
      if (msg.isStatusMessage() && msg.getStatus().getCode() == 503) {
        inbound.onNoResponders(msg.getSubject().substring(inboxPrefix.length() + 3));
      }
    });
    dispatchers = d;
  }

  private void onNodeMessage(Message msg) {
    long now = System.nanoTime();
    String src = Subjects.sender(msg.getSubject());
    if (me.equals(src)) {
      // Only this node publishes as itself, and only these two: the isolation probe (empty) and markers.
      byte[] data = msg.getData();
      if (data.length == 0) {
        selfReachable = true;
      } else {
        Runnable then = markers.remove(new String(data, java.nio.charset.StandardCharsets.US_ASCII));
        if (then != null) {
          then.run();
        }
      }
      return;
    }
    NodeMessage m;
    try {
      m = src == null ? null : NodeMessage.parseFrom(msg.getData());
    } catch (InvalidProtocolBufferException e) {
      m = null;
    }
    if (m == null) {
      refusals.count(ClusterRefusal.MALFORMED);
      return;
    }
    inbound.onPrivate(src, m, now);
  }

  /**
   * Probes the permissions (docs/cluster.md §7): this node must reach its own private subject, and
   * subscribing to another node's private subjects and publishing as another node must both be
   * refused by NATS. The result is logged and reported by {@link #isolation()}; without isolation the
   * cluster still works, but relay credentials then let their holder read binding tokens and pose as
   * other nodes.
   */
  private void checkIsolation() {
    Connection c = nc;
    Dispatcher[] d = dispatchers;
    if (c == null || d == null) {
      return;
    }
    String other = "probe-" + SessionKeys.hex(SessionKeys.random(6));
    String readOther = Subjects.nodeSubscription(other, 0);
    String poseAsOther = Subjects.node(me, other, 0);
    Subscription probe;
    selfReachable = false;
    try {
      probe = d[0].subscribe(readOther, msg -> { });
      c.publish(poseAsOther, new byte[0]);
      c.publish(Subjects.node(me, me, 0), new byte[0]);
    } catch (RuntimeException e) {
      return;
    }
    timers.schedule(() -> {
      d[0].unsubscribe(probe);
      boolean readRefused = violations.stream().anyMatch(v -> v.contains("Subscription") && v.contains(readOther));
      boolean poseRefused = violations.stream().anyMatch(v -> v.contains("Publish") && v.contains(poseAsOther));
      violations.clear();
      isolation = readRefused && poseRefused && selfReachable ? Isolation.ENFORCED : Isolation.MISSING;
      if (!selfReachable) {
        log.error("node {} cannot use its own private NATS subject ({}): its NATS user's permissions are for another node"
            + " id; --node-id must equal the node's NATS user name (docs/cluster.md §7). Cross-node sessions will fail.",
            me, Subjects.node(me, me, 0));
      } else if (isolation == Isolation.MISSING) {
        log.warn("NATS does not enforce per-node permissions for node {} (reading another node's subjects: {}, "
            + "publishing as another node: {}): anyone with these NATS credentials can read binding tokens and pose "
            + "as other relay nodes. Give every relay node its own NATS user with the permissions in docs/cluster.md §7.",
            me, readRefused ? "refused" : "ALLOWED", poseRefused ? "refused" : "ALLOWED");
      } else {
        log.info("NATS enforces per-node permissions for node {}", me);
      }
    }, 1, TimeUnit.SECONDS);
  }

  /**
   * Runs {@code then} once this node's NATS server has processed everything this node sent before
   * (a marker sent to itself came back: NATS keeps one connection's protocol in order), or after a
   * second at the latest. Never blocks; {@code then} runs on a cluster thread, exactly once.
   */
  void afterServerCaughtUp(Runnable then) {
    String id = "m" + SessionKeys.hex(SessionKeys.random(8));
    java.util.concurrent.atomic.AtomicBoolean done = new java.util.concurrent.atomic.AtomicBoolean();
    Runnable once = () -> {
      if (done.compareAndSet(false, true)) {
        then.run();
      }
    };
    markers.put(id, once);
    if (!publish(Subjects.node(me, me, 0), id.getBytes(java.nio.charset.StandardCharsets.US_ASCII))) {
      markers.remove(id);
      once.run();
      return;
    }
    timers.schedule(() -> {
      if (markers.remove(id) != null) {
        once.run();
      }
    }, 1, TimeUnit.SECONDS);
  }

  /** Publishes; false (and counted) when the link refused it (not connected yet, closed, queue full). */
  boolean publish(String subject, byte[] data) {
    return publish(subject, null, data);
  }

  boolean publish(String subject, String replyTo, byte[] data) {
    Connection c = nc;
    if (c == null) {
      publishFailures.increment();
      return false;
    }
    try {
      c.publish(subject, replyTo, data);
      return true;
    } catch (RuntimeException e) {
      publishFailures.increment();
      return false;
    }
  }

  /** Subscribes on the dispatcher of the session's shard; null when not connected yet. */
  Subscription subscribe(String subject, String sessionId, io.nats.client.MessageHandler handler) {
    Dispatcher[] d = dispatchers;
    if (d == null) {
      return null;
    }
    try {
      return d[Subjects.shard(sessionId) % d.length].subscribe(subject, handler);
    } catch (RuntimeException e) {
      log.debug("cannot subscribe {}: {}", subject, e.toString());
      return null;
    }
  }

  void unsubscribe(Subscription s) {
    if (s == null) {
      return;
    }
    try {
      s.getDispatcher().unsubscribe(s);
    } catch (RuntimeException ignored) {
      // Connection closed.
    }
  }

  /** True while connected to a NATS server. */
  boolean isUp() {
    return up;
  }

  /** How long the link has been up without a break (0 while down). */
  long upForNanos() {
    long since = upSinceNanos;
    return up && since != 0 ? System.nanoTime() - since : 0;
  }

  /** True once a round trip sent at or after {@code nanos} came back: what was published before then reached the server. */
  boolean roundTripSince(long nanos) {
    long last = lastRoundTripNanos;
    return last != 0 && last - nanos >= 0;
  }

  /** Every 100 ms while up: a round trip to the server; the first that succeeds after a (re)connection starts {@link #upForNanos}. */
  private void probe() {
    while (!closing) {
      try {
        Thread.sleep(100);
        Connection c = nc;
        if (c == null || !up) {
          continue;
        }
        long sent = System.nanoTime();
        c.flush(Duration.ofSeconds(1));
        lastRoundTripNanos = sent;
        if (up && upSinceNanos == 0) {
          upSinceNanos = sent;
        }
      } catch (InterruptedException e) {
        return;
      } catch (java.util.concurrent.TimeoutException | RuntimeException e) {
        // no answer: not verified (jnats' pings end the connection if it stays silent)
      }
    }
  }

  /** True once connected at least once (subscriptions can be made). */
  boolean connected() {
    return dispatchers != null;
  }

  Isolation isolation() {
    return isolation;
  }

  long publishFailures() {
    return publishFailures.sum();
  }

  String nodeId() {
    return me;
  }

  @Override
  public void close() {
    closing = true;
    prober.interrupt();
    Connection c = nc;
    if (c != null) {
      try {
        c.close();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
