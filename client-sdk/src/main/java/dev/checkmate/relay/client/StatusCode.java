package dev.checkmate.relay.client;

/**
 * The status a relay answered with, by name: the gRPC status codes the relay uses (relay.proto
 * lists when each happens), plus the ones the SDK reports itself ({@code CANCELLED} for a session
 * closed by the application, {@code DATA_LOSS} for end-to-end and sequence failures). The browser
 * SDK's {@code StatusCode} has the same names. Carried by {@link RelayException#code()}.
 */
public enum StatusCode {
  OK,
  CANCELLED,
  UNKNOWN,
  INVALID_ARGUMENT,
  DEADLINE_EXCEEDED,
  NOT_FOUND,
  ALREADY_EXISTS,
  PERMISSION_DENIED,
  RESOURCE_EXHAUSTED,
  FAILED_PRECONDITION,
  ABORTED,
  OUT_OF_RANGE,
  UNIMPLEMENTED,
  INTERNAL,
  UNAVAILABLE,
  DATA_LOSS,
  UNAUTHENTICATED;

  /** The same code of a gRPC status (the names are gRPC's). */
  static StatusCode of(io.grpc.Status.Code code) {
    return valueOf(code.name());
  }
}
