package dev.checkmate.relay.error;

import io.grpc.Status;

/**
 * The closed set of reasons a relay refuses or ends something, mapped once to a gRPC status code,
 * a WebSocket close code and a bounded metric label. Every transport and SDK speaks these.
 */
public enum RelayError {
  MALFORMED(Status.Code.INVALID_ARGUMENT, 4400, "protocol_error"),
  BAD_TICKET(Status.Code.UNAUTHENTICATED, 4401, "bad_ticket"),
  EXPIRED_TICKET(Status.Code.UNAUTHENTICATED, 4401, "expired_ticket"),
  PREMATURE_TICKET(Status.Code.UNAUTHENTICATED, 4401, "premature_ticket"),
  UNKNOWN_KEY(Status.Code.UNAUTHENTICATED, 4401, "unknown_key"),
  NOT_AUTHORIZED(Status.Code.PERMISSION_DENIED, 4403, "not_authorized"),
  NOT_ISSUER(Status.Code.FAILED_PRECONDITION, 4412, "not_issuer"),
  ROLE_TAKEN(Status.Code.ALREADY_EXISTS, 4409, "role_taken"),
  SESSION_ENDED(Status.Code.FAILED_PRECONDITION, 4410, "session_ended"),
  FRAME_TOO_LARGE(Status.Code.RESOURCE_EXHAUSTED, 4413, "frame_too_large"),
  RATE_LIMITED(Status.Code.RESOURCE_EXHAUSTED, 4429, "rate_limited"),
  /** Ticket checks (joins, Receive, TerminateSession, unknown send tokens) per client address and second. */
  JOIN_RATE_LIMITED(Status.Code.RESOURCE_EXHAUSTED, 4429, "join_rate_limited"),
  /** Heartbeats or WebSocket pings faster than a keep-alive needs. */
  KEEPALIVE_RATE_LIMITED(Status.Code.RESOURCE_EXHAUSTED, 4429, "keepalive_rate_limited"),
  /** The client left what the relay wrote to it unread past the bound (or for the write-stall timeout). */
  NOT_READING(Status.Code.RESOURCE_EXHAUSTED, 4429, "not_reading"),
  TOO_MANY_STREAMS(Status.Code.RESOURCE_EXHAUSTED, 4429, "too_many_streams"),
  /** A TCP connection refused at accept: per-address or total connection cap (nothing is sent). */
  TOO_MANY_CONNECTIONS(Status.Code.RESOURCE_EXHAUSTED, 4429, "too_many_connections"),
  HELLO_TIMEOUT(Status.Code.DEADLINE_EXCEEDED, 4408, "hello_timeout"),
  /** Cluster mode: the session's home node cannot be reached (NATS link down or node lost). */
  CLUSTER_UNAVAILABLE(Status.Code.UNAVAILABLE, 1012, "cluster_unavailable");

  private final Status.Code grpcCode;
  private final int webSocketCloseCode;
  private final String metricLabel;

  RelayError(Status.Code grpcCode, int webSocketCloseCode, String metricLabel) {
    this.grpcCode = grpcCode;
    this.webSocketCloseCode = webSocketCloseCode;
    this.metricLabel = metricLabel;
  }

  public Status.Code grpcCode() {
    return grpcCode;
  }

  /** Application close code (4000–4999 range, RFC 6455 §7.4.2) sent by the WebSocket transport. */
  public int webSocketCloseCode() {
    return webSocketCloseCode;
  }

  public String metricLabel() {
    return metricLabel;
  }

  /** The status for this refusal; its cause names the error, so a WebSocket keeps the exact close code. */
  public Status toStatus(String description) {
    return Status.fromCode(grpcCode).withDescription(description).withCause(new RelayException(this, description));
  }
}
