package dev.checkmate.relay.transport.grpc;

import com.google.protobuf.Timestamp;
import dev.checkmate.relay.error.RelayError;
import dev.checkmate.relay.error.RelayException;
import dev.checkmate.relay.proto.v1.ClientMessage;
import dev.checkmate.relay.proto.v1.CreateSessionRequest;
import dev.checkmate.relay.proto.v1.CreateSessionResponse;
import dev.checkmate.relay.proto.v1.RelayServiceGrpc;
import dev.checkmate.relay.proto.v1.ReceiveRequest;
import dev.checkmate.relay.proto.v1.Role;
import dev.checkmate.relay.proto.v1.SendRequest;
import dev.checkmate.relay.proto.v1.SendResponse;
import dev.checkmate.relay.proto.v1.ServerMessage;
import dev.checkmate.relay.proto.v1.TerminateSessionRequest;
import dev.checkmate.relay.proto.v1.TerminateSessionResponse;
import dev.checkmate.relay.session.SessionHub;
import dev.checkmate.relay.ticket.IssuerPolicy;
import dev.checkmate.relay.ticket.Ticket;
import dev.checkmate.relay.ticket.TicketIssuer;
import dev.checkmate.relay.admission.Admission;
import dev.checkmate.relay.transport.ParticipantStream;
import dev.checkmate.relay.transport.http.grpcweb.SplitStreams;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.net.InetAddress;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.function.Supplier;

/** The gRPC face of the relay: session creation, the Connect stream, and terminate. */
public final class RelayGrpcService extends RelayServiceGrpc.RelayServiceImplBase {
  /** Lifetime of a session created without one, and the longest a caller may ask for. */
  private final Duration defaultSessionTtl;
  private final Duration maxSessionTtl;
  private final SessionHub hub;
  private final TicketIssuer issuer; // null on verify-only nodes
  private final IssuerPolicy issuerPolicy;
  private final Admission admission;
  private final ParticipantStream.Limits streamLimits;
  private final Clock clock;
  private final Supplier<List<String>> endpoints;
  private final SplitStreams splitStreams;

  public RelayGrpcService(Duration defaultSessionTtl, Duration maxSessionTtl, SessionHub hub, TicketIssuer issuer, IssuerPolicy issuerPolicy,
      Admission admission, ParticipantStream.Limits streamLimits, SplitStreams splitStreams, Clock clock,
      Supplier<List<String>> endpoints) {
    this.defaultSessionTtl = defaultSessionTtl;
    this.maxSessionTtl = maxSessionTtl;
    this.hub = hub;
    this.issuer = issuer;
    this.issuerPolicy = issuerPolicy;
    this.admission = admission;
    this.streamLimits = streamLimits;
    this.splitStreams = splitStreams;
    this.clock = clock;
    this.endpoints = endpoints;
  }

  /**
   * This service as the server should run it: requests that do not parse become INVALID_ARGUMENT
   * ({@link SafeMarshaller}), and the interceptor exposes caller address and credentials.
   */
  public io.grpc.ServerServiceDefinition intercepted() {
    return io.grpc.ServerInterceptors.intercept(SafeMarshaller.wrap(bindService()), new CallerInterceptor());
  }

  private static <T> boolean refuseMalformed(Object request, StreamObserver<T> responses, String what) {
    if (!SafeMarshaller.isMalformed(request)) {
      return false;
    }
    responses.onError(RelayError.MALFORMED.toStatus("the request is not a valid " + what).asRuntimeException());
    return true;
  }

  @Override
  public void createSession(CreateSessionRequest request, StreamObserver<CreateSessionResponse> responses) {
    if (refuseMalformed(request, responses, "CreateSessionRequest")) {
      hub.stats().rejected(RelayError.MALFORMED);
      return;
    }
    try {
      issuerPolicy.authorize(CallerInterceptor.REMOTE_ADDRESS.get(), CallerInterceptor.BEARER.get());
      if (issuer == null) {
        throw new RelayException(RelayError.NOT_ISSUER,
            "this relay only verifies tickets (no signing key); create sessions at the issuer");
      }
      Duration ttl = request.getTtlSeconds() == 0 ? defaultSessionTtl : Duration.ofSeconds(request.getTtlSeconds());
      if (ttl.compareTo(maxSessionTtl) > 0) {
        throw new RelayException(RelayError.MALFORMED, "ttl_seconds " + request.getTtlSeconds()
            + " exceeds this relay's maximum of " + maxSessionTtl.toSeconds() + " s");
      }
      Instant expiresAt = clock.instant().plus(ttl);
      String sessionId = issuer.newSessionId();
      responses.onNext(CreateSessionResponse.newBuilder()
          .setSessionId(sessionId)
          .setProverTicket(issuer.issue(sessionId, Role.PROVER, expiresAt))
          .setVerifierTicket(issuer.issue(sessionId, Role.VERIFIER, expiresAt))
          .setExpiresAt(Timestamp.newBuilder().setSeconds(expiresAt.getEpochSecond()).setNanos(expiresAt.getNano()))
          .addAllEndpoints(endpoints.get())
          .setLimits(hub.limits())
          .build());
      responses.onCompleted();
    } catch (RelayException e) {
      hub.stats().rejected(e.error());
      responses.onError(e.error().toStatus(e.getMessage()).asRuntimeException());
    }
  }

  @Override
  public StreamObserver<ClientMessage> connect(StreamObserver<ServerMessage> responses) {
    ConnectCall call = new ConnectCall(admission, streamLimits, (ServerCallStreamObserver<ServerMessage>) responses,
        CallerInterceptor.REMOTE_ADDRESS.get());
    call.start();
    return call;
  }

  @Override
  public void terminateSession(TerminateSessionRequest request, StreamObserver<TerminateSessionResponse> responses) {
    if (refuseMalformed(request, responses, "TerminateSessionRequest")) {
      hub.stats().rejected(RelayError.MALFORMED);
      return;
    }
    Ticket ticket;
    try {
      // The same admission as a join: the address's join-attempt budget before the signature
      // (refusals are counted there).
      ticket = admission.verify(CallerInterceptor.REMOTE_ADDRESS.get(), request.getTicket(),
          dev.checkmate.relay.security.CallerSecurity.ROUTED_SESSION_ID.get(), null);
    } catch (RelayException e) {
      responses.onError(e.error().toStatus(e.getMessage()).asRuntimeException());
      return;
    }
    // In cluster mode the session may be held by another node: the answer comes back later, on a
    // cluster thread; this network thread never waits for it.
    hub.terminate(ticket, request.getReason()).whenComplete((terminated, error) -> {
      if (error == null) {
        responses.onNext(TerminateSessionResponse.newBuilder().setTerminated(terminated).build());
        responses.onCompleted();
        return;
      }
      Throwable cause = error instanceof java.util.concurrent.CompletionException && error.getCause() != null ? error.getCause() : error;
      if (cause instanceof RelayException e) {
        refuseTerminate(e, responses);
      } else {
        responses.onError(io.grpc.Status.fromThrowable(cause).asRuntimeException());
      }
    });
  }

  private void refuseTerminate(RelayException e, StreamObserver<TerminateSessionResponse> responses) {
    hub.stats().rejected(e.error());
    responses.onError(e.error().toStatus(e.getMessage()).asRuntimeException());
  }

  /** gRPC-Web fallback, server half: the same service code serves the relay's HTTP port. */
  @Override
  public void receive(ReceiveRequest request, StreamObserver<ServerMessage> responses) {
    if (refuseMalformed(request, responses, "ReceiveRequest")) {
      hub.stats().rejected(RelayError.MALFORMED);
      return;
    }
    ServerCallStreamObserver<ServerMessage> out = (ServerCallStreamObserver<ServerMessage>) responses;
    // x-session-id (resolved by CallerSecurity) must match the ticket, as on the HTTP port.
    SplitStreams.ReceiveHandle handle = splitStreams.receive(request,
        dev.checkmate.relay.security.CallerSecurity.ROUTED_SESSION_ID.get(), CallerInterceptor.REMOTE_ADDRESS.get(),
        new SplitStreams.Downstream() {
          @Override
          public void send(ServerMessage message) {
            out.onNext(message);
          }

          @Override
          public boolean isReady() {
            return out.isReady();
          }

          @Override
          public void close(io.grpc.Status status) {
            if (status.isOk()) {
              out.onCompleted();
            } else {
              out.onError(status.asRuntimeException());
            }
          }
        });
    out.setOnReadyHandler(handle::onReady);
    out.setOnCancelHandler(handle::onCancel);
  }

  /** gRPC-Web fallback, client half: one or more frames for a live Receive stream. */
  @Override
  public void send(SendRequest request, StreamObserver<SendResponse> responses) {
    if (refuseMalformed(request, responses, "SendRequest")) {
      hub.stats().rejected(RelayError.MALFORMED);
      return;
    }
    splitStreams.send(request, CallerInterceptor.REMOTE_ADDRESS.get()).whenComplete((response, error) -> {
      if (error != null) {
        responses.onError(io.grpc.Status.fromThrowable(error).asRuntimeException());
      } else {
        responses.onNext(response);
        responses.onCompleted();
      }
    });
  }

  public SplitStreams splitStreams() { return splitStreams; }
}
