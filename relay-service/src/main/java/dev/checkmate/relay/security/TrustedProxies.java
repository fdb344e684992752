package dev.checkmate.relay.security;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The proxies (e.g. Envoy) whose {@code x-forwarded-for} the relay believes, as IPs or CIDR blocks.
 *
 * <p>Behind a proxy every TCP connection comes from the proxy's address, so per-address limits
 * would lump all clients together. When — and only when — the TCP peer is a trusted proxy, the
 * client's address is the <b>rightmost</b> {@code x-forwarded-for} entry that is not itself a
 * trusted proxy: each proxy appends the address it saw, so entries left of the first untrusted
 * one were written by the client and prove nothing. A peer that is not trusted is the client,
 * whatever headers it sends.
 *
 * <p>Every transport resolves client addresses with {@link #clientAddress}: gRPC
 * ({@code CallerInterceptor}), and the WebSocket / gRPC-Web port should do the same with its
 * HTTP header. Parsing never touches DNS: entries that are not IP literals are ignored.
 */
public final class TrustedProxies {
  private static final TrustedProxies NONE = new TrustedProxies(List.of());
  private static final Pattern IPV4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");
  private static final Pattern IPV6 = Pattern.compile("[0-9A-Fa-f:.]{2,45}");
  /** Longest x-forwarded-for we look at; a longer header is cut (right end kept). */
  static final int MAX_HEADER_CHARS = 2048;

  private final List<Block> blocks;

  private record Block(byte[] network, int prefixBits) {
    boolean contains(byte[] address) {
      if (address.length != network.length) {
        return false;
      }
      int full = prefixBits / 8;
      for (int i = 0; i < full; i++) {
        if (address[i] != network[i]) {
          return false;
        }
      }
      int rest = prefixBits % 8;
      if (rest == 0) {
        return true;
      }
      int mask = (0xff << (8 - rest)) & 0xff;
      return (address[full] & mask) == (network[full] & mask);
    }
  }

  private TrustedProxies(List<Block> blocks) {
    this.blocks = List.copyOf(blocks);
  }

  public static TrustedProxies none() {
    return NONE;
  }

  /**
   * Parses {@code 10.0.0.7}, {@code 10.0.0.0/8}, {@code ::1}, {@code fd00::/8}.
   *
   * @throws IllegalArgumentException for anything else (config is validated at startup)
   */
  public static TrustedProxies parse(List<String> entries) {
    List<Block> blocks = new ArrayList<>();
    for (String raw : entries) {
      String e = raw.strip();
      if (e.isEmpty()) {
        continue;
      }
      int slash = e.indexOf('/');
      String ip = slash < 0 ? e : e.substring(0, slash);
      InetAddress address = literal(ip);
      if (address == null) {
        throw new IllegalArgumentException("trusted proxy must be an IP address or CIDR block, got '" + e + "'");
      }
      int max = address.getAddress().length * 8;
      int bits;
      try {
        bits = slash < 0 ? max : Integer.parseInt(e.substring(slash + 1));
      } catch (NumberFormatException x) {
        throw new IllegalArgumentException("bad CIDR prefix in trusted proxy '" + e + "'");
      }
      if (bits < 0 || bits > max) {
        throw new IllegalArgumentException("CIDR prefix of '" + e + "' must be 0.." + max);
      }
      blocks.add(new Block(address.getAddress(), bits));
    }
    return new TrustedProxies(blocks);
  }

  public boolean isEmpty() {
    return blocks.isEmpty();
  }

  public boolean isTrusted(InetAddress address) {
    if (address == null) {
      return false;
    }
    byte[] bytes = address.getAddress();
    for (Block b : blocks) {
      if (b.contains(bytes)) {
        return true;
      }
    }
    return false;
  }

  /**
   * The address to hold a client to: {@code peer} unless it is a trusted proxy, else the rightmost
   * {@code x-forwarded-for} entry that is not a trusted proxy (the peer when there is none, or the
   * entry is not an IP literal).
   *
   * @param peer the TCP peer
   * @param forwardedFor the {@code x-forwarded-for} value(s), comma-separated; null when absent
   */
  public InetAddress clientAddress(InetAddress peer, String forwardedFor) {
    if (forwardedFor == null || blocks.isEmpty() || !isTrusted(peer)) {
      return peer;
    }
    String header = forwardedFor.length() > MAX_HEADER_CHARS
        ? forwardedFor.substring(forwardedFor.length() - MAX_HEADER_CHARS) : forwardedFor;
    int end = header.length();
    while (end > 0) {
      int comma = header.lastIndexOf(',', end - 1);
      String entry = header.substring(comma + 1, end).strip();
      end = comma < 0 ? 0 : comma;
      if (entry.isEmpty()) {
        continue;
      }
      InetAddress hop = literal(entry);
      if (hop == null) {
        return peer; // not written by a proxy we trust to write addresses: believe nothing further
      }
      if (!isTrusted(hop)) {
        return hop;
      }
    }
    return peer;
  }

  /** An IP literal (brackets allowed for IPv6), or null; never resolves a host name. */
  static InetAddress literal(String s) {
    String t = s.startsWith("[") && s.endsWith("]") ? s.substring(1, s.length() - 1) : s;
    boolean v4 = IPV4.matcher(t).matches();
    if (!v4 && !(t.indexOf(':') >= 0 && IPV6.matcher(t).matches())) {
      return null;
    }
    if (v4) {
      for (String part : t.split("\\.")) {
        if (Integer.parseInt(part) > 255) {
          return null;
        }
      }
    }
    try {
      return InetAddress.getByName(t); // a literal: no lookup
    } catch (UnknownHostException | SecurityException e) {
      return null;
    }
  }
}
