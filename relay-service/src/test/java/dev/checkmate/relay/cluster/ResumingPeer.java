package dev.checkmate.relay.cluster;

import com.google.protobuf.ByteString;
import dev.checkmate.relay.proto.v1.ClientMessage;
import dev.checkmate.relay.proto.v1.Frame;
import dev.checkmate.relay.proto.v1.ServerMessage;
import dev.checkmate.relay.testing.TestPeer;
import io.grpc.Status;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A minimal resuming client over the bare protocol (what the SDK's resume does, kept small for
 * tests): frames carry their own seq, the receiver acknowledges cumulatively with an "ack:N" frame,
 * the sender keeps unacknowledged frames and sends them again after every (re)pairing, the
 * receiver drops duplicates by seq, and a lost stream is reopened through the next live relay
 * with the same ticket. Both sides fold payloads into a SHA-256 chain to compare content.
 */
final class ResumingPeer {
  final String name;
  final List<RelayProcess> relays;
  final String ticket;
  int relayIndex;
  TestPeer peer;
  final AtomicLong reconnects = new AtomicLong();
  private byte[] chain = new byte[32];

  ResumingPeer(String name, List<RelayProcess> relays, int firstRelay, String ticket) {
    this.name = name;
    this.relays = relays;
    this.relayIndex = firstRelay;
    this.ticket = ticket;
  }

  /** Joins through the current relay or, failing that, the next live ones; true if the peer is present. */
  boolean connect(long deadlineNanos) throws InterruptedException {
    while (System.nanoTime() < deadlineNanos) {
      RelayProcess r = relays.get(relayIndex % relays.size());
      if (r.alive()) {
        TestPeer p = r.join(ticket);
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (System.nanoTime() < until && !p.closed.isDone()) {
          ServerMessage m = p.received.poll(20, TimeUnit.MILLISECONDS);
          if (m != null && m.hasJoined()) {
            peer = p;
            return m.getJoined().getPeerPresent();
          }
        }
        p.close();
        Status st = p.closed.getNow(null);
        if (st != null && st.getCode() != Status.Code.UNAVAILABLE && st.getCode() != Status.Code.ABORTED) {
          throw new AssertionError(name + " could not rejoin: " + st);
        }
      }
      relayIndex++;
      Thread.sleep(100);
    }
    throw new AssertionError(name + " could not reconnect in time");
  }

  private boolean lost() {
    return peer.closed.isDone();
  }

  private void send(long seq, byte[] payload) {
    try {
      peer.send(ClientMessage.newBuilder().setData(Frame.newBuilder().setSeq(seq).setPayload(ByteString.copyFrom(payload))).build());
    } catch (RuntimeException e) {
      // stream gone; the loop reconnects
    }
  }

  static byte[] fold(byte[] chain, byte[] payload) {
    try {
      MessageDigest d = MessageDigest.getInstance("SHA-256");
      d.update(chain);
      d.update(payload);
      return d.digest();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** Sends frames 1..n (payload i derived from seq), resending what is unacknowledged after each pairing. */
  byte[] sendAll(int n, int window, long deadlineNanos) throws InterruptedException {
    TreeMap<Long, byte[]> unacked = new TreeMap<>();
    long next = 1;
    long acked = 0;
    boolean present = connect(deadlineNanos);
    while (acked < n) {
      if (System.nanoTime() > deadlineNanos) {
        throw new AssertionError(name + ": only " + acked + " of " + n + " frames acknowledged in time");
      }
      if (lost()) {
        reconnects.incrementAndGet();
        relayIndex++;
        present = connect(deadlineNanos);
        if (present) {
          resend(unacked);
        }
        continue;
      }
      ServerMessage m = peer.received.poll(1, TimeUnit.MILLISECONDS);
      if (m != null) {
        if (m.hasData()) {
          String text = m.getData().getPayload().toStringUtf8();
          if (text.startsWith("ack:")) {
            acked = Math.max(acked, Long.parseLong(text.substring(4)));
            unacked.headMap(acked, true).clear();
          }
        } else if (m.hasPeerJoined()) {
          present = true;
          resend(unacked);
        } else if (m.hasPeerLeft()) {
          present = false;
        }
      }
      if (next <= n && unacked.size() < window && peer.isReady()) {
        byte[] payload = payload(next);
        chain = fold(chain, payload);
        unacked.put(next, payload);
        send(next, payload);
        next++;
        Thread.sleep(1);
      }
    }
    return chain;
  }

  private void resend(Map<Long, byte[]> unacked) {
    for (Map.Entry<Long, byte[]> e : unacked.entrySet()) {
      send(e.getKey(), e.getValue());
    }
  }

  static byte[] payload(long seq) {
    return ("frame " + seq + " " + "x".repeat((int) (seq % 97))).getBytes(StandardCharsets.UTF_8);
  }

  /** Receives frames 1..n exactly once and in order (duplicates dropped by seq), acknowledging every few. */
  byte[] receiveAll(int n, AtomicLong progress, long deadlineNanos) throws InterruptedException {
    long expected = 1;
    connect(deadlineNanos);
    while (expected <= n) {
      if (System.nanoTime() > deadlineNanos) {
        throw new AssertionError(name + ": received only " + (expected - 1) + " of " + n + " in time");
      }
      if (lost()) {
        reconnects.incrementAndGet();
        relayIndex++;
        connect(deadlineNanos);
        ack(expected - 1);
        continue;
      }
      ServerMessage m = peer.received.poll(5, TimeUnit.MILLISECONDS);
      if (m == null || !m.hasData()) {
        continue;
      }
      if (m.getData().getSeq() != expected) {
        continue; // a duplicate, or a frame after a gap that the sender will send again in order
      }
      chain = fold(chain, m.getData().getPayload().toByteArray());
      progress.set(expected);
      if (expected % 8 == 0 || expected == n) {
        ack(expected);
      }
      expected++;
    }
    return chain;
  }

  private void ack(long upTo) {
    try {
      peer.sendData(("ack:" + upTo).getBytes(StandardCharsets.UTF_8));
    } catch (RuntimeException e) {
      // reconnect loop handles it
    }
  }
}
