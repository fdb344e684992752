package dev.checkmate.relay.probe;

import dev.checkmate.relay.proto.v1.CreateSessionRequest;
import dev.checkmate.relay.proto.v1.CreateSessionResponse;
import dev.checkmate.relay.proto.v1.RelayServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.reflection.v1.ServerReflectionGrpc;
import io.grpc.reflection.v1.ServerReflectionRequest;
import io.grpc.reflection.v1.ServerReflectionResponse;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLException;

/**
 * Checks a live deployment from outside, in the order a client meets it: TLS, health, reflection,
 * CreateSession, then one full session per pairing of transports, each with its round-trip time and
 * whether both participants were served by the same relay node.
 */
final class Probe {
  /** What to probe and how (the command line, parsed). */
  record Settings(Target target, Target web, Trust trust, List<String> pins, String issuerKey, List<String[]> tickets,
      List<Transport> transports, Reflection reflection, String origin, Duration timeout, int roundTrips, int payloadBytes) {}

  /** Whether server reflection should answer on the target. */
  enum Reflection {
    ON, OFF, ANY
  }

  static final Metadata.Key<String> AUTHORIZATION = Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
  private static final Pattern SID = Pattern.compile("\"sid\"\\s*:\\s*\"([A-Za-z0-9_-]+)\"");

  private final Settings s;
  private final Report report;
  /** False once the gRPC target did not answer at all: the later gRPC checks are skipped, not failed again. */
  private boolean grpcAnswers = true;

  Probe(Settings settings, Report report) {
    this.s = settings;
    this.report = report;
  }

  void run() throws InterruptedException {
    if (s.target.tls()) {
      TlsProbe tls = new TlsProbe(s.trust, s.timeout);
      tls.check(s.target, "", s.pins, true, report);
      if (!s.web.equals(s.target) && usesWeb()) {
        tls.check(s.web, " (web)", s.pins, false, report);
      }
    } else {
      plaintext(s.target);
    }
    if (!s.web.tls() && !s.web.equals(s.target) && usesWeb()) {
      plaintext(s.web);
    }
    ManagedChannel channel = channel();
    HttpClient http = HttpClient.newBuilder()
        .sslContext(s.trust.sslContext)
        .connectTimeout(s.timeout)
        // Plaintext: HTTP/1.1 as browsers speak it to a relay's HTTP port (no h2c upgrade attempts).
        .version(s.web.tls() ? HttpClient.Version.HTTP_2 : HttpClient.Version.HTTP_1_1)
        .build();
    try {
      health(channel);
      if (usesWeb()) {
        healthz(http);
      }
      reflection(channel);
      List<String[]> sessions = sessions(channel);
      List<Transport[]> pairings = pairings(s.transports);
      SessionProbe sp = new SessionProbe((t, sid) -> switch (t) {
        case GRPC -> new GrpcStream(channel, sid);
        case WEBSOCKET -> new WebSocketStream(http, s.web, sid, s.origin, s.timeout);
        case GRPC_WEB -> new GrpcWebStream(http, s.web, sid, s.origin, s.timeout);
      }, s.timeout, s.roundTrips, s.payloadBytes);
      for (int i = 0; i < pairings.size(); i++) {
        Transport[] p = pairings.get(i);
        if (i >= sessions.size()) {
          report.add(Check.skip("Session " + p[0] + " -> " + p[1], "no session for this pairing (give an issuer key, or one --tickets pair per pairing)"));
          continue;
        }
        String[] t = sessions.get(i);
        sp.run(p[0], p[1], t[0], t[1], t[2], report);
      }
    } finally {
      channel.shutdownNow();
      channel.awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  private boolean usesWeb() {
    return s.transports.contains(Transport.WEBSOCKET) || s.transports.contains(Transport.GRPC_WEB);
  }

  private void plaintext(Target t) {
    String name = t == s.target ? "TLS" : "TLS (web)";
    if (t.loopback()) {
      report.add(Check.skip(name, "plaintext to " + t.authority() + " (loopback): no TLS to check"));
    } else {
      report.add(Check.warn(name, "plaintext to " + t.authority() + ", which is not a loopback address",
          "clients must reach the relay over TLS 1.3: put the TLS edge (Envoy) in front and probe https://, or start the relay with --tls-cert/--tls-key"));
    }
  }

  private ManagedChannel channel() {
    NettyChannelBuilder b = NettyChannelBuilder.forAddress(s.target.host(), s.target.port());
    if (s.target.tls()) {
      try {
        b.sslContext(GrpcSslContexts.forClient().trustManager(s.trust.trustManager).build());
      } catch (SSLException e) {
        throw new IllegalStateException(e);
      }
    } else {
      b.usePlaintext();
    }
    return b.build();
  }

  private void health(ManagedChannel channel) {
    List<String> serving = new ArrayList<>();
    for (String service : new String[] {"", "relay.v1.RelayService"}) {
      String label = service.isEmpty() ? "\"\" (server)" : service;
      try {
        HealthCheckResponse r = HealthGrpc.newBlockingStub(channel).withDeadlineAfter(s.timeout.toMillis(), TimeUnit.MILLISECONDS)
            .check(HealthCheckRequest.newBuilder().setService(service).build());
        if (r.getStatus() != HealthCheckResponse.ServingStatus.SERVING) {
          report.add(Check.fail("gRPC health", label + " is " + r.getStatus(),
              "the relay behind this target is starting or draining (SIGTERM): wait, or look at its logs; a relay keeps NOT_SERVING for --pre-stop-delay before it stops"));
          return;
        }
        serving.add(label);
      } catch (StatusRuntimeException e) {
        Status st = e.getStatus();
        if (st.getCode() == Status.Code.UNIMPLEMENTED) {
          report.add(Check.skip("gRPC health", "grpc.health.v1.Health is not routed by this target (" + describe(st)
              + "); an Envoy edge routes only relay.v1.RelayService and answers /healthz itself"));
        } else {
          grpcAnswers = st.getCode() != Status.Code.UNAVAILABLE && st.getCode() != Status.Code.DEADLINE_EXCEEDED;
          report.add(Check.fail("gRPC health", "no answer from " + s.target.authority() + ": " + describe(st),
              "check that the relay (or the edge in front of it) listens on this host and port, and that the TLS"
                  + " certificate is one the probe trusts (see the certificate check)"));
        }
        return;
      }
    }
    report.add(Check.pass("gRPC health", String.join(" and ", serving) + " SERVING"));
  }

  private void healthz(HttpClient http) throws InterruptedException {
    try {
      HttpResponse<String> r = http.send(HttpRequest.newBuilder(s.web.http("/healthz")).timeout(s.timeout).GET().build(),
          HttpResponse.BodyHandlers.ofString());
      String body = r.body().strip();
      body = body.length() > 60 ? body.substring(0, 60) + "..." : body;
      if (r.statusCode() == 200) {
        report.add(Check.pass("HTTP /healthz", "200 " + body));
      } else {
        report.add(Check.fail("HTTP /healthz", r.statusCode() + " " + body, r.statusCode() == 503
            ? "the relay is draining, or (Envoy) fewer than half of the relays pass their health checks: look at the relays"
            : "serve GET /healthz on the browser endpoint (Envoy: the health_check filter; a relay: its --ws-port)"));
      }
    } catch (java.io.IOException e) {
      report.add(Check.fail("HTTP /healthz", "no answer from " + s.web.http("/healthz") + ": " + TlsProbe.describe(e),
          "check that the browser endpoint (--web) is reachable: the edge's HTTPS listener or the relay's --ws-port"));
    }
  }

  private void reflection(ManagedChannel channel) throws InterruptedException {
    if (!grpcAnswers) {
      report.add(Check.skip("Reflection", "the gRPC target does not answer (see gRPC health)"));
      return;
    }
    CompletableFuture<ServerReflectionResponse> answer = new CompletableFuture<>();
    StreamObserver<ServerReflectionRequest> req = ServerReflectionGrpc.newStub(channel)
        .withDeadlineAfter(s.timeout.toMillis(), TimeUnit.MILLISECONDS)
        .serverReflectionInfo(new StreamObserver<>() {
          @Override
          public void onNext(ServerReflectionResponse value) {
            answer.complete(value);
          }

          @Override
          public void onError(Throwable t) {
            answer.completeExceptionally(t);
          }

          @Override
          public void onCompleted() {
            answer.completeExceptionally(Status.INTERNAL.withDescription("no reply").asRuntimeException());
          }
        });
    req.onNext(ServerReflectionRequest.newBuilder().setListServices("").build());
    req.onCompleted();
    boolean on;
    String found;
    try {
      ServerReflectionResponse r = answer.get(s.timeout.toMillis() + 1000, TimeUnit.MILLISECONDS);
      on = true;
      found = "on: lists " + r.getListServicesResponse().getServiceCount() + " services";
    } catch (java.util.concurrent.ExecutionException e) {
      Status st = Status.fromThrowable(e.getCause());
      if (st.getCode() != Status.Code.UNIMPLEMENTED) {
        report.add(Check.fail("Reflection", "could not tell: " + describe(st), "check that the target answers gRPC"));
        return;
      }
      on = false;
      found = "off (UNIMPLEMENTED)";
    } catch (java.util.concurrent.TimeoutException e) {
      report.add(Check.fail("Reflection", "no answer within " + s.timeout.toMillis() + " ms", "check that the target answers gRPC"));
      return;
    }
    switch (s.reflection) {
      case ANY -> report.add(Check.pass("Reflection", found + " (no expectation given: --expect-reflection on|off)"));
      case ON -> report.add(on ? Check.pass("Reflection", found + ", as expected")
          : Check.fail("Reflection", found + ", expected on", "route /grpc.reflection.v1.ServerReflection/ to the relays, or probe the relay directly"));
      case OFF -> report.add(!on ? Check.pass("Reflection", found + ", as expected")
          : Check.fail("Reflection", found + ", expected off", "do not route /grpc.reflection.* on the public edge: it lists the services"
              + " and message types to anyone (Envoy: route only /relay.v1.RelayService/)"));
      default -> throw new IllegalStateException();
    }
  }

  /** One {sessionId, proverTicket, verifierTicket} per pairing: from the command line, or created. */
  private List<String[]> sessions(ManagedChannel channel) {
    List<String[]> out = new ArrayList<>();
    if (!s.tickets.isEmpty()) {
      for (String[] pair : s.tickets) {
        out.add(new String[] {sessionIdOf(pair[0]), pair[0], pair[1]});
      }
      report.add(Check.skip("CreateSession", "not called: " + out.size() + " ticket pair(s) from the command line"));
      return out;
    }
    if (!grpcAnswers) {
      report.add(Check.skip("CreateSession", "the gRPC target does not answer (see gRPC health)"));
      return out;
    }
    RelayServiceGrpc.RelayServiceBlockingStub stub = RelayServiceGrpc.newBlockingStub(channel);
    if (s.issuerKey != null) {
      Metadata h = new Metadata();
      h.put(AUTHORIZATION, "Bearer " + s.issuerKey);
      stub = stub.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(h));
    }
    int wanted = pairings(s.transports).size();
    CreateSessionResponse last = null;
    try {
      for (int i = 0; i < wanted; i++) {
        last = stub.withDeadlineAfter(s.timeout.toMillis(), TimeUnit.MILLISECONDS)
            .createSession(CreateSessionRequest.newBuilder().setTtlSeconds(120).build());
        out.add(new String[] {last.getSessionId(), last.getProverTicket(), last.getVerifierTicket()});
      }
    } catch (StatusRuntimeException e) {
      Status st = e.getStatus();
      String fix = switch (st.getCode()) {
        case PERMISSION_DENIED, UNAUTHENTICATED -> s.issuerKey == null
            ? "give an issuer API key (--issuer-key or RELAY_ISSUER_KEY) or ticket pairs (--tickets PROVER,VERIFIER)"
            : "the issuer key was refused: check it against the relay's --issuer-keys-file";
        case FAILED_PRECONDITION -> "this relay only verifies tickets (no signing key): create the sessions at the issuer and pass --tickets";
        default -> "check the CreateSession route (Envoy: /relay.v1.RelayService/CreateSession) and the relays' logs";
      };
      report.add(Check.fail("CreateSession", "refused: " + describe(st), fix));
      return out;
    }
    report.add(Check.pass("CreateSession", wanted + " session(s) created" + (s.issuerKey != null ? " with the issuer key" : "")
        + "; endpoints " + last.getEndpointsList() + ", max frame " + last.getLimits().getMaxFrameBytes() + " B, join deadline "
        + last.getLimits().getJoinDeadlineSeconds() + " s"));
    return out;
  }

  /** Every transport is a prover once and a verifier once, each time against another transport if there is one. */
  static List<Transport[]> pairings(List<Transport> ts) {
    List<Transport[]> out = new ArrayList<>();
    if (ts.size() == 1) {
      out.add(new Transport[] {ts.get(0), ts.get(0)});
    } else if (ts.size() == 2) {
      out.add(new Transport[] {ts.get(0), ts.get(1)});
      out.add(new Transport[] {ts.get(1), ts.get(0)});
    } else {
      for (int i = 0; i < ts.size(); i++) {
        out.add(new Transport[] {ts.get(i), ts.get((i + 1) % ts.size())});
      }
    }
    return out;
  }

  /** The session id a ticket is for (its {@code sid} claim, read without verifying: only for routing). */
  static String sessionIdOf(String ticket) {
    String[] parts = ticket.split("\\.");
    if (parts.length != 3) {
      throw new IllegalArgumentException("a ticket is a compact JWT (three dot-separated parts)");
    }
    String claims;
    try {
      claims = new String(Base64.getUrlDecoder().decode(parts[1]), StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("a ticket's claims are not base64url");
    }
    Matcher m = SID.matcher(claims);
    if (!m.find()) {
      throw new IllegalArgumentException("a ticket has no sid claim");
    }
    return m.group(1);
  }

  /** A status on one line: code, the first line of its description, and the root cause if any. */
  private static String describe(Status st) {
    String d = st.getDescription() == null ? "" : st.getDescription().lines().findFirst().orElse("").strip();
    if (st.getCause() != null) {
      d = (d.isEmpty() ? "" : d + ": ") + TlsProbe.describe(st.getCause());
    }
    return st.getCode() + (d.isEmpty() ? "" : " (" + d + ")");
  }
}
