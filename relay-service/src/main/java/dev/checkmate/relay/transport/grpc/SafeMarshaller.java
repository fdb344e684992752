package dev.checkmate.relay.transport.grpc;

import com.google.protobuf.Message;
import com.google.protobuf.UnknownFieldSet;
import dev.checkmate.relay.proto.v1.ClientMessage;
import io.grpc.MethodDescriptor;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServiceDescriptor;
import java.io.InputStream;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Request marshallers that never throw. grpc-java turns a parse failure inside its marshaller into
 * {@code UNKNOWN "Application error processing RPC"}; the relay's contract is INVALID_ARGUMENT with
 * a message a developer can act on. So a request that does not parse is handed to the service as
 * a per-type sentinel instance ({@link #isMalformed}), which the service answers with
 * INVALID_ARGUMENT, like every other transport does for a malformed message.
 */
final class SafeMarshaller {
  /** What {@code Connect} receives in place of a ClientMessage that does not parse. */
  static final ClientMessage MALFORMED_CLIENT_MESSAGE = sentinel(ClientMessage.getDefaultInstance());

  private static final Map<Class<?>, Object> SENTINELS = new ConcurrentHashMap<>();

  static {
    SENTINELS.put(ClientMessage.class, MALFORMED_CLIENT_MESSAGE);
  }

  private SafeMarshaller() {}

  /** True when {@code request} stands for bytes that did not parse as its type. */
  static boolean isMalformed(Object request) {
    return request != null && SENTINELS.get(request.getClass()) == request;
  }

  /** The same service with every request marshaller made safe (schema descriptors kept for reflection). */
  static ServerServiceDefinition wrap(ServerServiceDefinition service) {
    ServiceDescriptor old = service.getServiceDescriptor();
    ServiceDescriptor.Builder descriptor = ServiceDescriptor.newBuilder(old.getName())
        .setSchemaDescriptor(old.getSchemaDescriptor());
    Map<String, ServerMethodDefinition<?, ?>> rebuilt = new java.util.LinkedHashMap<>();
    for (ServerMethodDefinition<?, ?> method : service.getMethods()) {
      ServerMethodDefinition<?, ?> safe = safe(method);
      descriptor.addMethod(safe.getMethodDescriptor());
      rebuilt.put(safe.getMethodDescriptor().getFullMethodName(), safe);
    }
    ServerServiceDefinition.Builder out = ServerServiceDefinition.builder(descriptor.build());
    rebuilt.values().forEach(out::addMethod);
    return out.build();
  }

  private static <Q, R> ServerMethodDefinition<Q, R> safe(ServerMethodDefinition<Q, R> method) {
    MethodDescriptor<Q, R> d = method.getMethodDescriptor();
    MethodDescriptor.Marshaller<Q> parse = d.getRequestMarshaller();
    Q sentinel = sentinelFor(parse);
    MethodDescriptor.Marshaller<Q> safe = new MethodDescriptor.Marshaller<>() {
      @Override
      public InputStream stream(Q value) {
        return parse.stream(value);
      }

      @Override
      public Q parse(InputStream stream) {
        try {
          return parse.parse(stream);
        } catch (RuntimeException e) {
          return sentinel;
        }
      }
    };
    return ServerMethodDefinition.create(d.toBuilder(safe, d.getResponseMarshaller()).build(), method.getServerCallHandler());
  }

  @SuppressWarnings("unchecked")
  private static <Q> Q sentinelFor(MethodDescriptor.Marshaller<Q> marshaller) {
    if (marshaller instanceof MethodDescriptor.ReflectableMarshaller<?> r) {
      Class<?> type = r.getMessageClass();
      Object s = SENTINELS.computeIfAbsent(type, t -> {
        if (marshaller instanceof MethodDescriptor.PrototypeMarshaller<?> p && p.getMessagePrototype() instanceof Message m) {
          return sentinel(m);
        }
        return null;
      });
      return (Q) s;
    }
    return null;
  }

  /** A distinct instance of the type: its default plus an unknown field no real client sends. */
  @SuppressWarnings("unchecked")
  private static <M extends Message> M sentinel(M prototype) {
    return (M) prototype.toBuilder()
        .setUnknownFields(UnknownFieldSet.newBuilder()
            .addField(536_870_911, UnknownFieldSet.Field.newBuilder().addVarint(0x5AFE).build())
            .build())
        .build();
  }
}
