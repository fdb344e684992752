package dev.checkmate.relay.cluster;

import java.util.List;
import java.util.regex.Pattern;

/**
 * NATS subjects of the relay cluster and the per-node permissions that make them trustworthy.
 *
 * <ul>
 *   <li>{@code relay.v1.home.<sid>.<src>}: lookups and claims, published by node {@code src} only,
 *       read by every node (nothing secret travels here);
 *   <li>{@code relay.v1.node.<dst>.<src>.<k>}: private, read by node {@code dst} only and published
 *       by node {@code src} only, so the receiver knows the sender from the subject; {@code k} is
 *       one of {@link #SHARDS} shards (a binding keeps to one, so its messages stay in order);
 *   <li>{@code _INBOX.<node>.>}: the node's inbox (NATS's no-responders status).
 * </ul>
 *
 * <p>{@link #publishAllow} and {@link #subscribeAllow} are the NATS permissions of one node's user;
 * deploy/ and the tests' nats-server use exactly these (with {@code {{name()}}} for the node id in
 * an account's scoped signing-key template).
 */
final class Subjects {
  static final String ROOT = "relay.v1.";
  static final String HOME = ROOT + "home.";
  static final String NODE = ROOT + "node.";
  /** Fixed so that sender and receiver agree without configuration. */
  static final int SHARDS = 8;
  private static final Pattern TOKEN = Pattern.compile("[A-Za-z0-9_-]{1,128}");

  private Subjects() {}

  /** Where node {@code src} publishes lookups and claims for a session. */
  static String home(String sessionId, String src) {
    return HOME + sessionId + "." + src;
  }

  /** What a node holding the session subscribes to: lookups and claims from every node. */
  static String homeSubscription(String sessionId) {
    return HOME + sessionId + ".*";
  }

  /** A private message from {@code src} to {@code dst} on shard {@code shard}. */
  static String node(String dst, String src, int shard) {
    return NODE + dst + "." + src + "." + shard;
  }

  /** What node {@code me} subscribes to for shard {@code shard}: private messages from any node. */
  static String nodeSubscription(String me, int shard) {
    return NODE + me + ".*." + shard;
  }

  /** The inbox prefix of a node (jnats appends the rest). */
  static String inbox(String me) {
    return "_INBOX." + me;
  }

  /** The shard of a binding: its receiver's token decides, so all its messages use one subscription. */
  static int shard(byte[] token) {
    int h = 0;
    for (byte b : token) {
      h = 31 * h + b;
    }
    return Math.floorMod(h, SHARDS);
  }

  static int shard(String sessionId) {
    return Math.floorMod(sessionId.hashCode(), SHARDS);
  }

  /**
   * The sending node of a message on {@code relay.v1.home.<sid>.<src>} or
   * {@code relay.v1.node.<dst>.<src>.<k>} (the fifth token), or null if the subject has another shape.
   */
  static String sender(String subject) {
    int start = subject.startsWith(HOME) ? HOME.length() : subject.startsWith(NODE) ? NODE.length() : -1;
    if (start < 0) {
      return null;
    }
    int dot = subject.indexOf('.', start);
    if (dot < 0) {
      return null;
    }
    int end = subject.indexOf('.', dot + 1);
    String src = end < 0 ? subject.substring(dot + 1) : subject.substring(dot + 1, end);
    return validToken(src) ? src : null;
  }

  /** NATS subjects a node may publish to; {@code node} may be {@code {{name()}}} (template). */
  static List<String> publishAllow(String node) {
    return List.of(HOME + "*." + node, NODE + "*." + node + ".*");
  }

  /** NATS subjects a node may subscribe to; {@code node} may be {@code {{name()}}} (template). */
  static List<String> subscribeAllow(String node) {
    return List.of(HOME + "*.*", NODE + node + ".*.*", inbox(node) + ".>");
  }

  /** Session ids and node ids are base64url / [A-Za-z0-9_-]: one valid NATS token, no wildcards or dots. */
  static boolean validToken(String s) {
    return s != null && TOKEN.matcher(s).matches();
  }
}
