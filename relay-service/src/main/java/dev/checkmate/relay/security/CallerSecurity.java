package dev.checkmate.relay.security;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.Set;
import javax.net.ssl.SSLSession;

/**
 * The first interceptor of the relay service: resolves who is calling before any service code
 * runs, and puts it in the gRPC context:
 * <ul>
 *   <li>{@link #CLIENT_ADDRESS}: the TCP peer, or behind a trusted proxy the client address from
 *       {@code x-forwarded-for} ({@link TrustedProxies#clientAddress});
 *   <li>{@link ClientIdentities#CONTEXT_KEY}: identities of a verified client certificate (mTLS);
 *   <li>{@link #ROUTED_SESSION_ID}: the {@code x-session-id} the client routed with, which a Join's
 *       ticket must then match.
 * </ul>
 * Pure header parsing with bounded work; nothing is allocated per client beyond the context.
 */
public final class CallerSecurity implements ServerInterceptor {
  public static final Context.Key<InetAddress> CLIENT_ADDRESS = Context.key("relay-client-address");
  public static final Context.Key<String> ROUTED_SESSION_ID = Context.key("relay-routed-session-id");
  public static final Metadata.Key<String> X_FORWARDED_FOR =
      Metadata.Key.of("x-forwarded-for", Metadata.ASCII_STRING_MARSHALLER);
  public static final Metadata.Key<String> X_SESSION_ID =
      Metadata.Key.of("x-session-id", Metadata.ASCII_STRING_MARSHALLER);
  /** Session ids are 22 characters; anything longer is not one (and is not kept). */
  private static final int MAX_SESSION_ID_CHARS = 128;

  private final TrustedProxies proxies;

  public CallerSecurity(TrustedProxies proxies) {
    this.proxies = proxies;
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    SocketAddress remote = call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR);
    InetAddress peer = remote instanceof InetSocketAddress inet ? inet.getAddress() : InetAddress.getLoopbackAddress();
    InetAddress client = proxies.isEmpty() ? peer : proxies.clientAddress(peer, forwardedFor(headers));
    SSLSession tls = call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
    Set<String> identities = tls == null ? Set.of() : ClientIdentities.of(tls);
    String sid = headers.get(X_SESSION_ID);
    if (sid != null && sid.length() > MAX_SESSION_ID_CHARS) {
      sid = sid.substring(0, MAX_SESSION_ID_CHARS); // still cannot match any real session id
    }
    Context ctx = Context.current()
        .withValue(CLIENT_ADDRESS, client)
        .withValue(ClientIdentities.CONTEXT_KEY, identities)
        .withValue(ROUTED_SESSION_ID, sid);
    return Contexts.interceptCall(ctx, call, headers, next);
  }

  private static String forwardedFor(Metadata headers) {
    Iterable<String> all = headers.getAll(X_FORWARDED_FOR);
    if (all == null) {
      return null;
    }
    StringBuilder sb = new StringBuilder();
    for (String v : all) {
      if (sb.length() > 0) {
        sb.append(',');
      }
      sb.append(v);
    }
    return sb.toString();
  }
}
