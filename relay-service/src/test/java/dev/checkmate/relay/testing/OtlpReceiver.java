package dev.checkmate.relay.testing;

import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
import io.opentelemetry.proto.collector.trace.v1.TraceServiceGrpc;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * A real OTLP/gRPC trace receiver on a loopback port: what a collector would get from the relay and
 * from the applications of the SDKs. The one receiver of the relay's, the Java SDK's and the browser
 * SDK's tracing tests.
 */
public final class OtlpReceiver implements AutoCloseable {
  /** One received span with the {@code service.name} of the process that sent it. */
  public record Received(String service, Span span) {
    public String name() {
      return span.getName();
    }

    public String traceId() {
      return hex(span.getTraceId().toByteArray());
    }

    public String spanId() {
      return hex(span.getSpanId().toByteArray());
    }

    public String parentSpanId() {
      return hex(span.getParentSpanId().toByteArray());
    }

    public Optional<AnyValue> attr(String key) {
      return span.getAttributesList().stream().filter(kv -> kv.getKey().equals(key)).map(KeyValue::getValue).findFirst();
    }

    public Optional<String> stringAttr(String key) {
      return attr(key).map(AnyValue::getStringValue);
    }
  }

  public final List<ExportTraceServiceRequest> requests = new CopyOnWriteArrayList<>();
  private final Server server;

  public OtlpReceiver() throws IOException {
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

  public String endpoint() {
    return "http://127.0.0.1:" + server.getPort();
  }

  /** Properties that point a relay's autoconfigured SDK at this receiver, with a fast batch. */
  public Map<String, String> relayProperties() {
    return Map.of(
        "otel.traces.exporter", "otlp",
        "otel.exporter.otlp.traces.endpoint", endpoint(),
        "otel.exporter.otlp.traces.protocol", "grpc",
        "otel.bsp.schedule.delay", "50");
  }

  /** Every span received so far. */
  public List<Span> spans() {
    return received().stream().map(Received::span).toList();
  }

  /** Every span received so far, with the {@code service.name} of the process that sent it. */
  public List<Received> received() {
    List<Received> out = new ArrayList<>();
    for (ExportTraceServiceRequest r : requests) {
      for (ResourceSpans rs : r.getResourceSpansList()) {
        String service = rs.getResource().getAttributesList().stream()
            .filter(kv -> kv.getKey().equals("service.name")).map(kv -> kv.getValue().getStringValue())
            .findFirst().orElse("?");
        for (ScopeSpans ss : rs.getScopeSpansList()) {
          for (Span s : ss.getSpansList()) {
            out.add(new Received(service, s));
          }
        }
      }
    }
    return out;
  }

  /** Everything received, as text (attribute values, events, resource) and as raw bytes. */
  public String dump() {
    StringBuilder sb = new StringBuilder();
    for (ExportTraceServiceRequest r : requests) {
      sb.append(r).append('\n').append(new String(r.toByteArray(), StandardCharsets.ISO_8859_1)).append('\n');
    }
    return sb.toString();
  }

  public static String hex(byte[] b) {
    return HexFormat.of().formatHex(b);
  }

  @Override
  public void close() throws InterruptedException {
    server.shutdownNow();
    server.awaitTermination(5, TimeUnit.SECONDS);
  }
}
