package dev.checkmate.relay.telemetry;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.OutputStreamAppender;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ClientInterceptors;
import io.grpc.ForwardingClientCall.SimpleForwardingClientCall;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import io.opentelemetry.instrumentation.logback.mdc.v1_0.OpenTelemetryAppender;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
import io.opentelemetry.proto.collector.trace.v1.TraceServiceGrpc;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import net.logstash.logback.encoder.LogstashEncoder;
import org.slf4j.LoggerFactory;

/** Test fixtures: a real OTLP trace receiver, a traceparent-sending channel, log capture, scraping. */
final class TelemetryFixtures {
  private TelemetryFixtures() {}

  /** A gRPC OTLP trace receiver on a loopback port: what a collector would get from the relay. */
  static final class OtlpReceiver implements AutoCloseable {
    final List<ExportTraceServiceRequest> requests = new CopyOnWriteArrayList<>();
    final Server server;

    OtlpReceiver() throws IOException {
      server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
          .addService(new TraceServiceGrpc.TraceServiceImplBase() {
            @Override
            public void export(ExportTraceServiceRequest request, StreamObserver<ExportTraceServiceResponse> responses) {
              requests.add(request);
              responses.onNext(ExportTraceServiceResponse.getDefaultInstance());
              responses.onCompleted();
            }
          })
          .build()
          .start();
    }

    String endpoint() {
      return "http://127.0.0.1:" + server.getPort();
    }

    /** Properties that point a relay's autoconfigured SDK at this receiver, with a fast batch. */
    Map<String, String> relayProperties() {
      return Map.of(
          "otel.traces.exporter", "otlp",
          "otel.exporter.otlp.traces.endpoint", endpoint(),
          "otel.exporter.otlp.traces.protocol", "grpc",
          "otel.bsp.schedule.delay", "50");
    }

    List<Span> spans() {
      List<Span> out = new ArrayList<>();
      for (ExportTraceServiceRequest r : requests) {
        for (ResourceSpans rs : r.getResourceSpansList()) {
          for (ScopeSpans ss : rs.getScopeSpansList()) {
            out.addAll(ss.getSpansList());
          }
        }
      }
      return out;
    }

    /** Everything received, as text (attribute values, events, resource) and as raw bytes. */
    String dump() {
      StringBuilder sb = new StringBuilder();
      for (ExportTraceServiceRequest r : requests) {
        sb.append(r).append('\n').append(new String(r.toByteArray(), StandardCharsets.ISO_8859_1)).append('\n');
      }
      return sb.toString();
    }

    @Override
    public void close() throws InterruptedException {
      server.shutdownNow();
      server.awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  static String hex(com.google.protobuf.ByteString b) {
    return HexFormat.of().formatHex(b.toByteArray());
  }

  /** A channel whose every call carries the W3C traceparent of one client trace. */
  static Channel withTraceparent(Channel channel, String traceId, String parentSpanId) {
    Metadata.Key<String> key = Metadata.Key.of("traceparent", Metadata.ASCII_STRING_MARSHALLER);
    String value = "00-" + traceId + "-" + parentSpanId + "-01";
    return ClientInterceptors.intercept(channel, new ClientInterceptor() {
      @Override
      public <Q, R> ClientCall<Q, R> interceptCall(MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
        return new SimpleForwardingClientCall<>(next.newCall(method, options)) {
          @Override
          public void start(Listener<R> listener, Metadata headers) {
            headers.put(key, value);
            super.start(listener, headers);
          }
        };
      }
    });
  }

  /** Captures every log line of the JVM, JSON-encoded exactly as RELAY_LOG_FORMAT=json writes them. */
  static final class LogCapture implements AutoCloseable {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final OpenTelemetryAppender mdc = new OpenTelemetryAppender();
    private final ch.qos.logback.classic.Logger root;
    private final Level previous;

    LogCapture() {
      LoggerContext ctx = (LoggerContext) LoggerFactory.getILoggerFactory();
      root = ctx.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
      previous = root.getLevel();
      LogstashEncoder encoder = new LogstashEncoder();
      encoder.setContext(ctx);
      encoder.start();
      OutputStreamAppender<ILoggingEvent> json = new OutputStreamAppender<>();
      json.setContext(ctx);
      json.setName("capture-json");
      json.setEncoder(encoder);
      json.setOutputStream(out);
      json.start();
      mdc.setContext(ctx);
      mdc.setName("capture-otel");
      mdc.addAppender(json);
      mdc.start();
      root.addAppender(mdc);
      root.setLevel(Level.DEBUG); // debug lines must not leak either
    }

    String text() {
      synchronized (out) {
        return out.toString(StandardCharsets.UTF_8);
      }
    }

    List<String> lines() {
      return text().lines().toList();
    }

    @Override
    public void close() {
      root.detachAppender(mdc);
      root.setLevel(previous);
      mdc.stop();
    }
  }

  static String scrape(int port) throws IOException, InterruptedException {
    HttpResponse<String> r = HttpClient.newHttpClient().send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics")).GET().build(),
        HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() != 200) {
      throw new AssertionError("scrape returned " + r.statusCode());
    }
    return r.body();
  }
}
