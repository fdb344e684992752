package dev.checkmate.relay.bench;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordingFile;

/**
 * Where a relay thread's CPU goes, from a JFR recording's execution samples: each sample is
 * charged to the innermost frame that belongs to a known part (the signature arithmetic, jjwt,
 * gRPC, Netty, protobuf, the relay's own packages, ...), JDK frames being transparent (a HashMap
 * lookup in jjwt is jjwt's), so a part's share is its own work plus the JDK code it calls. Shares
 * are over the samples of the threads whose name starts with a given prefix (e.g. "relay-net").
 */
final class ProfileSplit {
  private ProfileSplit() {}

  /** Parts in the order a frame is tested against them; the first whose prefix matches wins. */
  static final List<Map.Entry<String, List<String>>> PARTS = List.of(
      Map.entry("Ed25519 verify", List.of("org.bouncycastle.math.ec.rfc8032.Ed25519.verify", "org.bouncycastle.math.ec.rfc8032.Ed25519.implVerify",
          "sun.security.ec.ed.EdDSASignature.engineVerify")),
      Map.entry("Ed25519 sign", List.of("org.bouncycastle.math.ec.rfc8032.Ed25519.sign", "org.bouncycastle.math.ec.rfc8032.Ed25519.implSign",
          "sun.security.ec.ed.EdDSASignature.engineSign")),
      Map.entry("jjwt (JSON, base64url, claims)", List.of("io.jsonwebtoken.", "com.fasterxml.jackson.")),
      Map.entry("logging", List.of("ch.qos.logback.", "org.slf4j.", "java.util.logging.")),
      Map.entry("OpenTelemetry", List.of("io.opentelemetry.")),
      Map.entry("relay: telemetry", List.of("dev.checkmate.relay.telemetry.")),
      Map.entry("relay: hub and sessions", List.of("dev.checkmate.relay.session.")),
      Map.entry("relay: tickets", List.of("dev.checkmate.relay.ticket.")),
      Map.entry("relay: transports", List.of("dev.checkmate.relay.transport.", "dev.checkmate.relay.security.")),
      Map.entry("protobuf", List.of("com.google.protobuf.")),
      Map.entry("gRPC (calls, streams, context)", List.of("io.grpc.internal.", "io.grpc.stub.", "io.grpc.Context", "io.grpc.Persistent",
          "io.grpc.Metadata", "io.grpc.protobuf.", "io.grpc.ServerInterceptors", "io.grpc.Contexts")),
      Map.entry("Netty HTTP/2 and gRPC transport", List.of("io.grpc.netty.shaded.io.netty.handler.codec.http2.", "io.grpc.netty.shaded.io.grpc.netty.")),
      Map.entry("Netty HTTP/1 and WebSocket", List.of("io.netty.handler.codec.")),
      Map.entry("Netty sockets, buffers, event loop", List.of("io.grpc.netty.shaded.io.netty.", "io.netty.")));

  private static final String JDK = "JDK only (no library frame in the stack)";

  /** Share (0..1) of each part in the samples of threads named {@code threadPrefix}*; "samples" holds the count. */
  static Map<String, Double> split(Path jfr, String threadPrefix) throws IOException {
    Map<String, Long> counts = new LinkedHashMap<>();
    for (Map.Entry<String, List<String>> p : PARTS) {
      counts.put(p.getKey(), 0L);
    }
    counts.put(JDK, 0L);
    counts.put("other", 0L);
    long n = 0;
    for (RecordedEvent e : RecordingFile.readAllEvents(jfr)) {
      if (!e.getEventType().getName().equals("jdk.ExecutionSample") || e.getStackTrace() == null) {
        continue;
      }
      var thread = e.getThread("sampledThread");
      String name = thread == null ? "" : thread.getJavaName();
      if (name == null || !name.startsWith(threadPrefix)) {
        continue;
      }
      n++;
      counts.merge(part(e.getStackTrace().getFrames()), 1L, Long::sum);
    }
    Map<String, Double> shares = new LinkedHashMap<>();
    for (Map.Entry<String, Long> c : counts.entrySet()) {
      shares.put(c.getKey(), n == 0 ? Double.NaN : c.getValue() / (double) n);
    }
    shares.put("samples", (double) n);
    return shares;
  }

  private static String part(List<RecordedFrame> frames) {
    boolean jdk = false;
    for (RecordedFrame f : frames) { // innermost first
      String m = f.getMethod().getType().getName() + "." + f.getMethod().getName();
      for (Map.Entry<String, List<String>> p : PARTS) {
        for (String prefix : p.getValue()) {
          if (m.startsWith(prefix)) {
            return p.getKey();
          }
        }
      }
      jdk |= m.startsWith("java.") || m.startsWith("jdk.") || m.startsWith("sun.");
    }
    return jdk ? JDK : "other";
  }
}
