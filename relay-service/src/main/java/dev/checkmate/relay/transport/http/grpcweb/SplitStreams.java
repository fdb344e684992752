package dev.checkmate.relay.transport.http.grpcweb;

import dev.checkmate.relay.error.RelayError;
import dev.checkmate.relay.error.RelayException;
import dev.checkmate.relay.proto.v1.ReceiveRequest;
import dev.checkmate.relay.proto.v1.SendRequest;
import dev.checkmate.relay.proto.v1.SendResponse;
import dev.checkmate.relay.proto.v1.ServerMessage;
import dev.checkmate.relay.admission.Admission;
import dev.checkmate.relay.transport.ParticipantStream;
import io.grpc.Status;
import java.net.InetAddress;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The gRPC-Web fallback's service code: Connect split into a Receive server stream and unary Sends
 * joined by a send token. Both faces use it: the gRPC methods (behind Envoy's grpc_web filter) and
 * the gRPC-Web endpoint served directly on the HTTP port.
 */
public final class SplitStreams {
  private final java.time.Duration pingInterval;
  private final java.time.Duration sendWait;
  private final Admission admission;
  private final ParticipantStream.Limits limits;
  private final SecureRandom random = new SecureRandom();
  private final ConcurrentHashMap<String, ReceiveCall> byToken = new ConcurrentHashMap<>();

  /**
   * @param pingInterval keep-alive interval of a Receive stream
   * @param sendWait how long a Send waits for its Receive stream to take the frame
   */
  public SplitStreams(java.time.Duration pingInterval, java.time.Duration sendWait, Admission admission,
      ParticipantStream.Limits limits) {
    this.pingInterval = pingInterval;
    this.sendWait = sendWait;
    this.admission = admission;
    this.limits = limits;
  }

  /** Where a Receive stream's messages go: a gRPC server stream or a gRPC-Web HTTP response. */
  public interface Downstream {
    /** Queues a message; never blocks. */
    void send(ServerMessage message);

    /** True while the stream's outbound buffer can take more. */
    boolean isReady();

    /** Ends the stream with a status (OK or an error in the trailers). Idempotent. */
    void close(Status status);
  }

  /** What a transport tells a running Receive. */
  public interface ReceiveHandle {
    /** The downstream became writable again. */
    void onReady();

    /** The client went away (cancelled, disconnected). */
    void onCancel();
  }

  /**
   * Starts a Receive: verifies the ticket and seats the caller; the first message on {@code down}
   * is Joined with the send token. On refusal {@code down} is closed with the status.
   *
   * @param routedSessionId the session id the request was routed by (header), or null
   */
  public ReceiveHandle receive(ReceiveRequest request, String routedSessionId, InetAddress address, Downstream down) {
    ReceiveCall call = new ReceiveCall(this, limits, down, address, newToken());
    call.start(request, routedSessionId);
    return call;
  }

  /**
   * Delivers a Send from {@code address}; completes with the ack or fails with a
   * {@link io.grpc.StatusException}. A send token that matches no live Receive costs the address a
   * join attempt, so token-guessing floods are refused like forged tickets.
   */
  public CompletableFuture<SendResponse> send(SendRequest request, InetAddress address) {
    CompletableFuture<SendResponse> result = new CompletableFuture<>();
    ReceiveCall call = request.getSendToken().isEmpty() ? null : byToken.get(request.getSendToken());
    if (call == null) {
      RelayException refusal = admission.failedTokenLookup(address, new RelayException(RelayError.SESSION_ENDED,
          "no live Receive stream for this send token (it ended or never existed); open a new Receive"));
      result.completeExceptionally(refusal.error().toStatus(refusal.getMessage()).asException());
      return result;
    }
    if (!request.getSessionId().isEmpty() && !request.getSessionId().equals(call.sessionId())) {
      result.completeExceptionally(RelayError.MALFORMED.toStatus(
          "session_id does not match the send token's session").asException());
      return result;
    }
    call.send(request, result);
    return result;
  }

  private String newToken() {
    byte[] b = new byte[24];
    random.nextBytes(b);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
  }

  void register(String token, ReceiveCall call) {
    byToken.put(token, call);
  }

  void unregister(String token, ReceiveCall call) {
    byToken.remove(token, call);
  }

  /** Live Receive streams (for tests: proves they are forgotten). */
  public int liveStreams() {
    return byToken.size();
  }

  java.time.Duration pingInterval() { return pingInterval; }

  java.time.Duration sendWait() { return sendWait; }
  Admission admission() { return admission; }
}
