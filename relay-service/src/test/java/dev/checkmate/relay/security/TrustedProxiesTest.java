package dev.checkmate.relay.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.util.List;
import org.junit.jupiter.api.Test;

class TrustedProxiesTest {
  private static InetAddress ip(String s) throws Exception {
    return InetAddress.getByName(s);
  }

  @Test
  void theRightmostUntrustedForwardedAddressIsTheClient() throws Exception {
    TrustedProxies p = TrustedProxies.parse(List.of("10.0.0.0/8", "192.168.1.7", "fd00::/8"));
    InetAddress envoy = ip("10.1.2.3");
    assertThat(p.clientAddress(envoy, "203.0.113.9")).isEqualTo(ip("203.0.113.9"));
    // The client wrote the left entries itself: only the rightmost untrusted one counts.
    assertThat(p.clientAddress(envoy, "1.1.1.1, 203.0.113.9")).isEqualTo(ip("203.0.113.9"));
    // A chain of trusted proxies is skipped.
    assertThat(p.clientAddress(envoy, "203.0.113.9, 192.168.1.7, 10.9.9.9")).isEqualTo(ip("203.0.113.9"));
    assertThat(p.clientAddress(ip("fd00::1"), "2001:db8::5")).isEqualTo(ip("2001:db8::5"));
    // Not from a trusted proxy: the header is ignored.
    assertThat(p.clientAddress(ip("203.0.113.1"), "10.0.0.1")).isEqualTo(ip("203.0.113.1"));
    // Garbage or host names: never resolved, the proxy's own address is used.
    assertThat(p.clientAddress(envoy, "evil.example.com")).isEqualTo(envoy);
    assertThat(p.clientAddress(envoy, "999.1.1.1")).isEqualTo(envoy);
    assertThat(p.clientAddress(envoy, "")).isEqualTo(envoy);
    assertThat(p.clientAddress(envoy, null)).isEqualTo(envoy);
    assertThat(p.clientAddress(envoy, "10.0.0.2, 10.0.0.3")).isEqualTo(envoy);
    assertThat(p.isTrusted(ip("10.255.0.1"))).isTrue();
    assertThat(p.isTrusted(ip("11.0.0.1"))).isFalse();
    assertThat(TrustedProxies.none().clientAddress(envoy, "203.0.113.9")).isEqualTo(envoy);
  }

  @Test
  void badEntriesAreRefusedAtStartup() {
    assertThatThrownBy(() -> TrustedProxies.parse(List.of("proxy.internal"))).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> TrustedProxies.parse(List.of("10.0.0.0/33"))).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> TrustedProxies.parse(List.of("10.0.0.0/x"))).isInstanceOf(IllegalArgumentException.class);
  }
}
