package dev.checkmate.relay.transport.grpc;

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

/** Puts the caller's address and bearer credential into the gRPC context for the service. */
final class CallerInterceptor implements ServerInterceptor {
  static final Context.Key<InetAddress> REMOTE_ADDRESS = Context.key("relay-remote-address");
  static final Context.Key<String> BEARER = Context.key("relay-bearer");
  private static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    // Behind a trusted proxy the client address comes from x-forwarded-for (resolved by the
    // security.CallerSecurity interceptor, which runs first); otherwise it is the TCP peer.
    InetAddress resolved = dev.checkmate.relay.security.CallerSecurity.CLIENT_ADDRESS.get();
    SocketAddress remote = call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR);
    InetAddress address = resolved != null ? resolved
        : remote instanceof InetSocketAddress inet ? inet.getAddress() : InetAddress.getLoopbackAddress();
    String auth = headers.get(AUTHORIZATION);
    String bearer = auth != null && auth.regionMatches(true, 0, "Bearer ", 0, 7) ? auth.substring(7).trim() : null;
    Context ctx = Context.current().withValue(REMOTE_ADDRESS, address).withValue(BEARER, bearer);
    return Contexts.interceptCall(ctx, call, headers, next);
  }
}
