package dev.checkmate.relay.soak;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The short soak of {@code mvn verify}: the documented harness with {@link SoakConfig#quick()}
 * (60 s of load, 40 concurrent sessions over every transport, every fault kind on a fixed seed so a
 * failure replays with {@code java -jar relay-soak/target/relay-soak.jar --quick --seed 1}). It
 * asserts the verdict: no frame lost, duplicated, reordered or corrupted; sessions failed only for a
 * reason the design allows; every relay holding no session and no stream once the load is gone;
 * heap and threads back to their baseline; every fault carried out. Nothing is timed: a loaded
 * machine makes resumes slower, never lets a frame go missing.
 */
class ShortSoakIT {
  @TempDir
  Path work;

  @Test
  void aClusterUnderEveryFaultLosesNoFrameAndEndsEmpty() throws Exception {
    SoakConfig c = SoakConfig.quick();
    c.seed = 1;
    c.clientWeb = SoakMain.findClientWeb();
    c.workDir = work;
    List<String> lines = Collections.synchronizedList(new ArrayList<>());
    SoakReport report = new Soak(c, line -> {
      lines.add(line);
      System.out.println(line);
    }).run();
    String text = report.text(SoakMain.machine());
    System.out.println(text);

    assertThat(report.violations()).as(text).isEmpty();
    // The verdict's parts, so a harness that stopped counting cannot pass: the load ran, frames
    // crossed every wire, every fault kind happened, and the end state was measured on every relay.
    assertThat(report.tally.sessionsTotal.completed.sum()).as(text).isGreaterThan(100);
    assertThat(report.tally.framesTotal.delivered.sum()).as(text).isGreaterThan(3000);
    for (String wire : List.of("grpc→grpc", "ws→ws", "grpc-web→grpc-web", "grpc→ws", "ws→grpc-web")) {
      assertThat(report.tally.framesByDirection).as(text).containsKey(wire);
      assertThat(report.tally.framesByDirection.get(wire).delivered.sum()).as(wire + "\n" + text).isPositive();
    }
    assertThat(report.timeline.stream().map(e -> e.fault.kind()).distinct()).as(text)
        .containsExactlyInAnyOrder(Fault.Kind.values());
    assertThat(report.end).as(text).hasSize(c.relays).allSatisfy(s -> {
      assertThat(s.sessions()).isZero();
      assertThat(s.connections()).isZero();
    });
    assertThat(report.tally.reconnects.sum()).as("faults cut connections and participants resumed\n" + text).isPositive();
    // Every process it started (relays, nats-servers, Node.js, Chromium) is gone.
    long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
    while (ProcessHandle.current().descendants().anyMatch(ProcessHandle::isAlive) && System.nanoTime() < deadline) {
      Thread.sleep(100);
    }
    assertThat(ProcessHandle.current().descendants().filter(ProcessHandle::isAlive).map(p -> p.pid() + " "
        + p.info().commandLine().orElse("?"))).as("processes left running").isEmpty();
  }
}
