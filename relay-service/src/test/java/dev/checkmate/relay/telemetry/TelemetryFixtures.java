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
import io.opentelemetry.instrumentation.logback.mdc.v1_0.OpenTelemetryAppender;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.List;
import net.logstash.logback.encoder.LogstashEncoder;
import org.slf4j.LoggerFactory;

/** Test fixtures: a traceparent-sending channel, log capture, scraping (the OTLP receiver is testing.OtlpReceiver). */
final class TelemetryFixtures {
  private TelemetryFixtures() {}

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
