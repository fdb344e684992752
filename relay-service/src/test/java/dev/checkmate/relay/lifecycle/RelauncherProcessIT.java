package dev.checkmate.relay.lifecycle;

import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.DATA;
import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.JOINED;
import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.PEER_JOINED;
import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.SESSION_ENDED;
import static org.assertj.core.api.Assertions.assertThat;

import dev.checkmate.relay.proto.v1.CreateSessionRequest;
import dev.checkmate.relay.proto.v1.CreateSessionResponse;
import dev.checkmate.relay.proto.v1.EndReason;
import dev.checkmate.relay.proto.v1.RelayServiceGrpc;
import dev.checkmate.relay.testing.Health;
import dev.checkmate.relay.testing.JvmProcess;
import dev.checkmate.relay.testing.TestPeer;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.MatchResult;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The relay started as the README says, {@code java -jar relay.jar}, without any JVM flag: the
 * launcher runs it in a child JVM with {@code -XX:+ExitOnOutOfMemoryError}, so an OOM ends the
 * process (exit code 3) even where the code that hit it catches every Throwable; signals still
 * drain it gracefully; and killing the launcher does not leave the child behind.
 */
@Timeout(120)
class RelauncherProcessIT {
  private static final Pattern ALLOCATING = Pattern.compile("allocating in pid (\\d+)");
  private static final Pattern LISTENING = Pattern.compile("listening on 127\\.0\\.0\\.1:(\\d+) .*WebSocket/HTTP on port (\\d+)");
  private static final Duration START = Duration.ofSeconds(60);

  @TempDir
  Path dir;

  private static List<String> command(List<String> jvmOptions, List<String> rest) {
    List<String> cmd = new ArrayList<>(jvmOptions);
    cmd.addAll(rest);
    return cmd;
  }

  private static boolean gone(long pid) {
    Optional<ProcessHandle> h = ProcessHandle.of(pid);
    return h.isEmpty() || !h.get().isAlive();
  }

  @Test
  void withoutTheFlagAChildJvmRunsTheMainAndAnOutOfMemoryErrorThatTheCodeCatchesStillEndsIt() throws Exception {
    try (JvmProcess p = JvmProcess.start(command(List.of("-Xmx32m"), JvmProcess.classPathMain(SwallowsOutOfMemory.class)),
        Map.of("JDK_JAVA_OPTIONS", "-Dfrom.jdk.java.options=1", "JAVA_TOOL_OPTIONS", "-Dfrom.java.tool.options=1"))) {
      long child = Long.parseLong(p.await(JvmProcess.CHILD, START));
      assertThat(Long.parseLong(p.await(ALLOCATING, START))).as("the main runs in the child").isEqualTo(child).isNotEqualTo(p.pid());
      // The child has the parent's options, each once (the variables are not applied a second time), and the flag.
      String options = p.await(Pattern.compile("jvm options \\[(.*)]"), START);
      assertThat(List.of(options.split(", "))).containsOnlyOnce("-Xmx32m", "-Dfrom.jdk.java.options=1",
          "-Dfrom.java.tool.options=1", "-XX:+ExitOnOutOfMemoryError");
      assertThat(p.awaitExit(Duration.ofSeconds(60))).isEqualTo(FailFast.OUT_OF_MEMORY);
      assertThat(p.output()).contains("Terminating due to java.lang.OutOfMemoryError: Java heap space")
          .doesNotContain("swallowed");
      assertThat(gone(child)).isTrue();
    }
  }

  @Test
  void withTheFlagGivenTheMainRunsInTheSameJvm() throws Exception {
    try (JvmProcess p = JvmProcess.start(command(List.of("-Xmx32m", "-XX:+ExitOnOutOfMemoryError"),
        JvmProcess.classPathMain(SwallowsOutOfMemory.class)))) {
      assertThat(Long.parseLong(p.await(ALLOCATING, START))).isEqualTo(p.pid());
      assertThat(p.awaitExit(Duration.ofSeconds(60))).isEqualTo(FailFast.OUT_OF_MEMORY);
      assertThat(p.output()).doesNotContainPattern(JvmProcess.CHILD.pattern());
    }
  }

  /** The control: what every test above would see if the launcher did nothing. */
  @Test
  void withTheFlagExplicitlyOffTheSameMainSwallowsTheErrorAndLivesOn() throws Exception {
    try (JvmProcess p = JvmProcess.start(command(List.of("-Xmx32m", "-XX:-ExitOnOutOfMemoryError"),
        JvmProcess.classPathMain(SwallowsOutOfMemory.class)))) {
      assertThat(Long.parseLong(p.await(ALLOCATING, START))).isEqualTo(p.pid());
      p.await(Pattern.compile("swallowed an OutOfMemoryError"), Duration.ofSeconds(60));
      assertThat(p.process().waitFor(2, TimeUnit.SECONDS)).as("still running").isFalse();
      assertThat(p.output()).contains("WARNING: -XX:-ExitOnOutOfMemoryError given");
    }
  }

  @Test
  void theRelayStartedWithJavaJarAndTooSmallAHeapExitsWithCode3WhenFramesFillIt() throws Exception {
    try (JvmProcess p = startRelayWithTinyHeap(List.of())) {
      long child = Long.parseLong(p.await(JvmProcess.CHILD, START));
      fillHeapWithWaitingFrames(p);
      assertThat(p.awaitExit(Duration.ofSeconds(60))).isEqualTo(FailFast.OUT_OF_MEMORY);
      // The JVM's own message: the flag ended it at the failed allocation, inside gRPC's event loop.
      assertThat(p.output()).contains("Terminating due to java.lang.OutOfMemoryError: Java heap space");
      assertThat(gone(child)).isTrue();
    }
  }

  /**
   * Without the flag an OOM inside Netty or gRPC is caught there; this relay without it (explicitly
   * off) stayed alive with every thread dead until FailFast kept spare memory for its handler. Now a
   * relay thread that does not catch it (the watchdog's, the timer's) ends the process.
   */
  @Test
  void withTheFlagExplicitlyOffAFullHeapStillEndsTheRelayThroughItsOwnThreads() throws Exception {
    try (JvmProcess p = startRelayWithTinyHeap(List.of("-XX:-ExitOnOutOfMemoryError"))) {
      fillHeapWithWaitingFrames(p);
      assertThat(p.awaitExit(Duration.ofSeconds(60))).isEqualTo(FailFast.OUT_OF_MEMORY);
      assertThat(p.output()).contains("FATAL, exiting with code 3: java.lang.OutOfMemoryError: Java heap space on thread ")
          .doesNotContain("Terminating due to");
    }
  }

  /**
   * {@code java -Xmx24m -jar relay.jar} with 4 MiB of rendezvous buffer per waiting prover: a
   * handful of honest-looking sessions whose verifier never comes fill the heap.
   */
  private JvmProcess startRelayWithTinyHeap(List<String> jvmOptions) throws Exception {
    Path jar = JvmProcess.classPathJar(dir, "dev.checkmate.relay.RelayMain");
    List<String> cmd = new ArrayList<>(List.of("-Xmx24m"));
    cmd.addAll(jvmOptions);
    cmd.addAll(List.of("-jar", jar.toString(), "--grpc-port", "0", "--ws-port", "0", "--metrics-port", "-1",
        "--no-telemetry", "--drain-seconds", "0",
        "--rendezvous-frames", "64", "--rendezvous-bytes", Integer.toString(4 << 20), "--join-deadline", "PT60S"));
    return JvmProcess.start(cmd);
  }

  /** Sessions whose prover sends 64 frames of 64 KiB and whose verifier never joins, until the relay is gone. */
  private static void fillHeapWithWaitingFrames(JvmProcess p) throws Exception {
    MatchResult ports = p.awaitMatch(LISTENING, START);
    ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", Integer.parseInt(ports.group(1))).usePlaintext().build();
    List<TestPeer> provers = new ArrayList<>();
    try {
      byte[] frame = new byte[64 * 1024];
      for (int session = 0; session < 40 && p.process().isAlive(); session++) {
        CreateSessionResponse s;
        try {
          s = RelayServiceGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS)
              .createSession(CreateSessionRequest.getDefaultInstance());
        } catch (io.grpc.StatusRuntimeException e) {
          return; // the relay is gone (or no longer answers)
        }
        TestPeer prover = TestPeer.join(channel, s.getProverTicket());
        provers.add(prover);
        for (int i = 0; i < 64; i++) {
          prover.sendData(frame);
        }
        Thread.sleep(200);
      }
    } finally {
      provers.forEach(TestPeer::close);
      channel.shutdownNow();
    }
  }

  @Test
  void sigtermToTheLauncherDrainsTheRelayGracefully() throws Exception {
    try (JvmProcess p = startRelayForDrain()) {
      long child = Long.parseLong(p.await(JvmProcess.CHILD, START));
      drainThroughSigterm(p, () -> p.process().toHandle().destroy()); // SIGTERM, as an orchestrator sends it
      assertThat(p.awaitExit(Duration.ofSeconds(20))).as("the child's exit code: 128 + SIGTERM").isEqualTo(143);
      assertThat(p.output()).contains("relay stopped").doesNotContain("launcher process is gone");
      assertThat(gone(child)).isTrue();
    }
  }

  /**
   * Java's {@code Process.destroy()} sends SIGTERM and closes the child's stdin, the launcher's
   * lifeline to its own child: the relay must still drain (exit 143, not the lifeline's 70).
   */
  @Test
  void processDestroyFromAJavaSupervisorStillDrainsTheRelay() throws Exception {
    try (JvmProcess p = startRelayForDrain()) {
      long child = Long.parseLong(p.await(JvmProcess.CHILD, START));
      drainThroughSigterm(p, () -> p.process().destroy());
      assertThat(p.awaitExit(Duration.ofSeconds(20))).isEqualTo(143);
      assertThat(gone(child)).isTrue();
    }
  }

  private JvmProcess startRelayForDrain() throws Exception {
    Path jar = JvmProcess.classPathJar(dir, "dev.checkmate.relay.RelayMain");
    return JvmProcess.start(List.of("-Xmx256m", "-jar", jar.toString(),
        "--grpc-port", "0", "--ws-port", "0", "--metrics-port", "-1", "--no-telemetry",
        "--pre-stop-delay", "PT1S", "--drain-seconds", "30"));
  }

  /** A paired session; SIGTERM; health NOT_SERVING; frames still flow both ways; the session ends; the relay stops. */
  private static void drainThroughSigterm(JvmProcess p, Runnable sigterm) throws Exception {
    MatchResult ports = p.awaitMatch(LISTENING, START);
    int grpcPort = Integer.parseInt(ports.group(1));
    int httpPort = Integer.parseInt(ports.group(2));
    ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", grpcPort).usePlaintext().build();
    try {
      CreateSessionResponse s = RelayServiceGrpc.newBlockingStub(channel).createSession(CreateSessionRequest.getDefaultInstance());
      try (TestPeer prover = TestPeer.join(channel, s.getProverTicket());
          TestPeer verifier = TestPeer.join(channel, s.getVerifierTicket())) {
        prover.next(JOINED);
        verifier.next(JOINED);
        prover.next(PEER_JOINED);
        prover.sendData("before".getBytes());
        verifier.next(DATA);

        sigterm.run();
        Health.await("503 NOT_SERVING", () -> Health.http(httpPort));
        // Draining: the open session still forwards frames, in both directions.
        prover.sendData("during".getBytes());
        assertThat(verifier.next(DATA).getData().getPayload().toStringUtf8()).isEqualTo("during");
        verifier.sendData("reply".getBytes());
        assertThat(prover.next(DATA).getData().getPayload().toStringUtf8()).isEqualTo("reply");
        assertThat(p.process().isAlive()).isTrue();
        // Once the last session ends, the relay stops without waiting for the drain deadline.
        prover.terminate("done");
        assertThat(verifier.next(SESSION_ENDED).getSessionEnded().getReason()).isEqualTo(EndReason.TERMINATED);
        assertThat(verifier.awaitClose().getCode()).isEqualTo(Status.Code.OK);
      }
    } finally {
      channel.shutdownNow();
    }
  }

  @Test
  void killingTheLauncherEndsTheChildToo() throws Exception {
    Path jar = JvmProcess.classPathJar(dir, "dev.checkmate.relay.RelayMain");
    try (JvmProcess p = JvmProcess.start(List.of("-Xmx256m", "-jar", jar.toString(),
        "--grpc-port", "0", "--ws-port", "0", "--metrics-port", "-1", "--no-telemetry"))) {
      long child = Long.parseLong(p.await(JvmProcess.CHILD, START));
      MatchResult ports = p.awaitMatch(LISTENING, START);
      assertThat(Health.grpc(Integer.parseInt(ports.group(1)))).isEqualTo("SERVING");
      ProcessHandle childHandle = ProcessHandle.of(child).orElseThrow();
      // SIGKILL: no hook runs in the launcher. (Through the handle: Process.destroyForcibly would
      // also close our end of the output pipe, which the orphaned child still writes to.)
      p.process().toHandle().destroyForcibly();
      childHandle.onExit().get(20, TimeUnit.SECONDS);
      p.await(Pattern.compile("the launcher process is gone"), Duration.ofSeconds(10));
    }
  }
}
