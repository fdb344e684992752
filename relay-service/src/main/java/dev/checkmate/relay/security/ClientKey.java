package dev.checkmate.relay.security;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;

/**
 * What the relay counts a client by for per-address limits: an IPv4 address as is, an IPv6
 * address by its /64 prefix (one subscriber usually holds a whole /64, so counting single IPv6
 * addresses would give each client 2^64 budgets). IPv4-mapped IPv6 addresses count as IPv4.
 */
public final class ClientKey {
  private ClientKey() {}

  public static InetAddress of(InetAddress address) {
    if (!(address instanceof Inet6Address)) {
      return address;
    }
    byte[] b = address.getAddress();
    byte[] prefix = new byte[16];
    System.arraycopy(b, 0, prefix, 0, 8);
    try {
      return InetAddress.getByAddress(prefix);
    } catch (UnknownHostException e) {
      throw new IllegalStateException(e); // 16 bytes is always a valid length
    }
  }
}
