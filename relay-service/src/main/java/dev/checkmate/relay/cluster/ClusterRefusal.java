package dev.checkmate.relay.cluster;

import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/**
 * Why this node refused (or ignored) something another NATS client sent it: the bounded label of
 * {@code relay_cluster_refusals_total{reason}}. Each is counted once where it is decided.
 */
public enum ClusterRefusal {
  /** A ticket presented in a bind or terminate failed the home's check (signature, key, audience, expiry, session). */
  TICKET("ticket"),
  /** The session already ended here: its tickets are dead. */
  SESSION_ENDED("session_ended"),
  /** A bind for a role another live stream holds (with another ticket). */
  ROLE_TAKEN("role_taken"),
  /** A bind or terminate without a ticket, or one that did not open with the session's key for this sender and binding. */
  SEALED_TICKET("sealed_ticket"),
  /** A claim, lookup answer or claim status whose proof does not verify with the session's key. */
  PROOF("proof"),
  /** A lookup answer or claim status nobody here asked for (unknown or stale nonce). */
  UNSOLICITED("unsolicited"),
  /** A claim that cannot win here: this node's claim is settled (final) or wins the tie-break. */
  CLAIM_LOST("claim_lost"),
  /** A binding message with a token this node never issued (forged, guessed or stale). */
  UNKNOWN_BINDING("unknown_binding"),
  /** A binding message from another node than the one the binding was made with. */
  WRONG_SENDER("wrong_sender"),
  /** A sequence gap on a binding (lost, replayed or injected message): the binding ends. */
  SEQUENCE("sequence"),
  /** More frames or bytes than the credit window granted to the other node: the binding ends. */
  CREDIT_EXCEEDED("credit_exceeded"),
  /** Ticket checks from one node above its per-second budget (refused before the signature check). */
  RATE_LIMITED("rate_limited"),
  /** A bind or terminate for a session this node does not hold. */
  NOT_HOME("not_home"),
  /** A message that does not parse, or is not allowed on the subject it came on. */
  MALFORMED("malformed"),
  /** A lookup nobody answered in time although NATS saw a subscriber (a silent listener, or a slow home): claimed anyway. */
  LOOKUP_TIMEOUT("lookup_timeout");

  private final String label;

  ClusterRefusal(String label) {
    this.label = label;
  }

  public String label() {
    return label;
  }

  /** Counters by reason; cheap and thread-safe. */
  static final class Counts {
    private final Map<ClusterRefusal, LongAdder> counts = new EnumMap<>(ClusterRefusal.class);

    Counts() {
      for (ClusterRefusal r : values()) {
        counts.put(r, new LongAdder());
      }
    }

    void count(ClusterRefusal reason) {
      counts.get(reason).increment();
    }

    long get(ClusterRefusal reason) {
      return counts.get(reason).sum();
    }
  }
}
