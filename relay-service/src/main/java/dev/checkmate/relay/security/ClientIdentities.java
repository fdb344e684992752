package dev.checkmate.relay.security;

import io.grpc.Context;
import java.security.cert.Certificate;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * The identities a verified TLS client certificate proves (mutual TLS): the subject's common
 * name(s) and its subject alternative names (DNS, URI, e-mail, IP). The relay only ever sees a
 * client certificate that chains to {@code --tls-client-ca}, so these are authenticated.
 */
public final class ClientIdentities {
  /** Set by the gRPC interceptor for every call on a mutual-TLS connection; empty otherwise. */
  public static final Context.Key<Set<String>> CONTEXT_KEY = Context.key("relay-client-identities");

  private ClientIdentities() {}

  /** The identities of the current gRPC call's client certificate (empty without one). */
  public static Set<String> current() {
    Set<String> ids = CONTEXT_KEY.get();
    return ids == null ? Set.of() : ids;
  }

  /** Identities of the peer certificate of a TLS session; empty without a client certificate. */
  public static Set<String> of(SSLSession session) {
    if (session == null) {
      return Set.of();
    }
    Certificate[] chain;
    try {
      chain = session.getPeerCertificates();
    } catch (SSLPeerUnverifiedException e) {
      return Set.of();
    }
    if (chain == null || chain.length == 0 || !(chain[0] instanceof X509Certificate leaf)) {
      return Set.of();
    }
    return of(leaf);
  }

  public static Set<String> of(X509Certificate leaf) {
    Set<String> ids = new LinkedHashSet<>();
    try {
      for (Rdn rdn : new LdapName(leaf.getSubjectX500Principal().getName()).getRdns()) {
        if (rdn.getType().equalsIgnoreCase("CN")) {
          ids.add(String.valueOf(rdn.getValue()));
        }
      }
    } catch (InvalidNameException ignored) {
      // No usable subject: SANs may still identify the client.
    }
    try {
      Collection<List<?>> sans = leaf.getSubjectAlternativeNames();
      if (sans != null) {
        for (List<?> san : sans) {
          int type = (Integer) san.get(0);
          // 1 rfc822Name, 2 dNSName, 6 URI, 7 iPAddress
          if ((type == 1 || type == 2 || type == 6 || type == 7) && san.get(1) instanceof String s) {
            ids.add(s);
          }
        }
      }
    } catch (CertificateParsingException ignored) {
      // Malformed SAN extension: the subject CN alone counts.
    }
    return Set.copyOf(ids);
  }

  /** True when any presented identity is on the allow-list (DNS-style names compare case-insensitively). */
  public static boolean anyAllowed(Set<String> presented, List<String> allowList) {
    for (String p : presented) {
      for (String a : allowList) {
        if (p.equals(a) || p.toLowerCase(Locale.ROOT).equals(a.toLowerCase(Locale.ROOT))) {
          return true;
        }
      }
    }
    return false;
  }
}
