package dev.checkmate.relay.client;

import dev.checkmate.relay.proto.v1.SessionEnded;
import io.grpc.Status;

/**
 * The one place that turns relay answers into typed exceptions, so every call site reports the
 * same error the same way (see the status list at the top of relay.proto).
 */
final class Errors {
  private Errors() {}

  /** Maps a gRPC status (and the SessionEnded that preceded it, if any) to an exception. */
  static RelayException fromStatus(Status status, SessionEnded ended) {
    String description = status.getDescription();
    Throwable cause = status.asRuntimeException();
    if (ended != null) {
      // The relay told us why before closing: that is more precise than the status alone.
      return new SessionEndedException(
          StatusCode.of(status.getCode()),
          EndReason.fromProto(ended.getReason()),
          Role.fromProto(ended.getEndedBy()),
          ended.getMessage().isEmpty() ? description : ended.getMessage(),
          cause);
    }
    switch (status.getCode()) {
      case UNAUTHENTICATED:
        return new TicketRejectedException(description, cause);
      case ALREADY_EXISTS:
        return new RoleTakenException(description, cause);
      case FAILED_PRECONDITION:
        return new SessionEndedException(
            StatusCode.FAILED_PRECONDITION, EndReason.UNKNOWN, null, description, cause);
      case RESOURCE_EXHAUSTED:
        return new LimitExceededException(description, cause);
      case PERMISSION_DENIED:
        return new NotAuthorizedException(description, cause);
      case UNAVAILABLE:
        String pinFailure = pinFailure(status.getCause());
        if (pinFailure != null) {
          return new CertificatePinningException(pinFailure, cause);
        }
        return new RelayUnavailableException(describeUnavailable(status), cause);
      default:
        return new RelayException(StatusCode.of(status.getCode()), description, cause);
    }
  }

  static RelayException fromThrowable(Throwable t) {
    if (t instanceof RelayException) {
      return (RelayException) t;
    }
    return fromStatus(Status.fromThrowable(t), null);
  }

  /** A stream that ended without a status error and without SessionEnded: the relay broke protocol. */
  static RelayException closedWithoutReason() {
    return new RelayException(
        StatusCode.UNKNOWN, "the relay closed the stream without saying why", null);
  }

  /** The end of a session closed by the application itself. */
  static RelayException closedLocally() {
    return new RelayException(StatusCode.CANCELLED, "session closed by the application", null);
  }

  /** The pinning failure in a TLS failure's cause chain, if that is what failed. */
  private static String pinFailure(Throwable t) {
    for (int depth = 0; t != null && depth < 10; depth++, t = t.getCause()) {
      if (t instanceof PinningTrustManager.PinMismatch) {
        return t.getMessage();
      }
      if (t.getMessage() != null && t.getMessage().contains("certificate pinning failed")) {
        int at = t.getMessage().indexOf("certificate pinning failed");
        return t.getMessage().substring(at);
      }
    }
    return null;
  }

  // Connection failures carry the useful part (refused, TLS) in the cause, not the description.
  private static String describeUnavailable(Status status) {
    String description = status.getDescription();
    Throwable cause = status.getCause();
    if (cause != null && cause.getMessage() != null) {
      return (description == null ? "" : description + ": ") + cause.getMessage();
    }
    return description;
  }
}
