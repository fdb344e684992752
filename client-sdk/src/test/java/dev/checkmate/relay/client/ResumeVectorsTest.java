package dev.checkmate.relay.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import com.google.protobuf.ByteString;
import dev.checkmate.relay.client.e2e.MiniJson;
import dev.checkmate.relay.proto.v1.Ack;
import dev.checkmate.relay.proto.v1.ClientMessage;
import dev.checkmate.relay.proto.v1.Frame;
import dev.checkmate.relay.proto.v1.PeerJoined;
import dev.checkmate.relay.proto.v1.PeerLeft;
import dev.checkmate.relay.proto.v1.ServerMessage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.Timeout;

/**
 * The shared resume cases (testvectors/resume-v1.json, docs/resume.md), which the browser SDK runs
 * too (client-web test/resume-vectors.test.mjs): the pure parts step by step, and every scenario as
 * a whole session against a {@link ScriptedRelay} on a real loopback gRPC server, once in the
 * blocking style and once with a listener.
 */
@Timeout(120)
class ResumeVectorsTest {
  static final Path FILE = Path.of("..", "testvectors", "resume-v1.json");
  private static final Map<String, Object> VECTORS = load();

  @SuppressWarnings("unchecked")
  private static Map<String, Object> load() {
    try {
      return (Map<String, Object>) MiniJson.parse(Files.readString(FILE, StandardCharsets.UTF_8));
    } catch (java.io.IOException e) {
      throw new IllegalStateException(e);
    }
  }

  @SuppressWarnings("unchecked")
  private static List<Map<String, Object>> cases(String section) {
    return (List<Map<String, Object>>) VECTORS.get(section);
  }

  @SuppressWarnings("unchecked")
  private static List<Map<String, Object>> steps(Map<String, Object> c) {
    return (List<Map<String, Object>>) c.get("steps");
  }

  private static long num(Object o) {
    return ((Number) o).longValue();
  }

  private static Stream<DynamicTest> each(String section, java.util.function.Consumer<Map<String, Object>> run) {
    return cases(section).stream().map(c -> DynamicTest.dynamicTest((String) c.get("name"), () -> run.accept(c)));
  }

  @TestFactory
  Stream<DynamicTest> constantsAreTheSdks() {
    @SuppressWarnings("unchecked")
    Map<String, Object> k = (Map<String, Object>) VECTORS.get("constants");
    return Stream.of(DynamicTest.dynamicTest("constants", () -> {
      assertThat(num(k.get("ackEveryFrames"))).isEqualTo(InboundSequencer.ACK_EVERY_FRAMES);
      assertThat(num(k.get("ackEveryBytes"))).isEqualTo(InboundSequencer.ACK_EVERY_BYTES);
      assertThat(num(k.get("ackDelayMs"))).isEqualTo(InboundSequencer.ACK_DELAY_MILLIS);
      assertThat(num(k.get("backoffBaseMs"))).isEqualTo(ReconnectPolicy.BASE_MILLIS);
      assertThat(num(k.get("backoffCapMs"))).isEqualTo(ReconnectPolicy.CAP_MILLIS);
    }));
  }

  // ---- the pure parts ----

  @TestFactory
  Stream<DynamicTest> resumeBuffer() {
    return each("resumeBuffer", c -> {
      ResumeBuffer<Long> b = Boolean.TRUE.equals(c.get("keep"))
          ? ResumeBuffer.keeping((int) num(c.get("maxFrames")), num(c.get("maxBytes")))
          : ResumeBuffer.counting();
      for (Map<String, Object> s : steps(c)) {
        String at = "step " + s;
        if (s.containsKey("add")) {
          long seq = num(s.get("add"));
          b.add(seq, seq, (int) num(s.get("bytes")), !Boolean.FALSE.equals(s.get("application")));
        } else if (s.containsKey("hasRoom")) {
          assertThat(b.hasRoom((int) num(s.get("hasRoom")))).as(at).isEqualTo(s.get("expect"));
        } else if (s.containsKey("ack")) {
          assertThat(b.onAck(num(s.get("ack")))).as(at).isEqualTo(num(s.get("expectReleased")));
        } else if (s.containsKey("markResend")) {
          b.markResend();
        } else if (s.containsKey("expectResend")) {
          List<Long> got = new ArrayList<>();
          for (Long f; (f = b.nextResend()) != null; ) {
            got.add(f);
          }
          List<Long> want = new ArrayList<>();
          for (Object o : (List<?>) s.get("expectResend")) {
            want.add(num(o));
          }
          assertThat(got).as(at).isEqualTo(want);
        } else if (s.containsKey("clear")) {
          assertThat(b.clear()).as(at).isEqualTo(num(s.get("expectLost")));
        } else if (s.containsKey("expectAcked")) {
          assertThat(b.acked()).as(at).isEqualTo(num(s.get("expectAcked")));
        } else if (s.containsKey("expectSize")) {
          assertThat(b.size()).as(at).isEqualTo(num(s.get("expectSize")));
        } else {
          fail("unknown step " + s);
        }
      }
    });
  }

  @TestFactory
  Stream<DynamicTest> inbound() {
    return each("inbound", c -> {
      InboundSequencer q = new InboundSequencer(Boolean.TRUE.equals(c.get("resume")));
      for (Map<String, Object> s : steps(c)) {
        if (s.containsKey("offer")) {
          assertThat(q.offer(num(s.get("offer"))).name()).as("step " + s).isEqualTo(s.get("expect"));
        } else if (s.containsKey("expectLastAccepted")) {
          assertThat(q.lastAccepted()).as("step " + s).isEqualTo(num(s.get("expectLastAccepted")));
        } else if (s.containsKey("reset")) {
          q.reset();
        } else if (s.containsKey("fence")) {
          q.fence();
        } else if (s.containsKey("liftFence")) {
          q.liftFence();
        } else {
          fail("unknown step " + s);
        }
      }
    });
  }

  @TestFactory
  Stream<DynamicTest> ackPolicy() {
    return each("ackPolicy", c -> {
      InboundSequencer q = new InboundSequencer(true);
      long seq = 0;
      for (Map<String, Object> s : steps(c)) {
        if (s.containsKey("frames")) {
          for (long i = 0; i < num(s.get("frames")); i++) {
            assertThat(q.offer(++seq)).isEqualTo(InboundSequencer.Verdict.DELIVER);
            assertThat(q.delivered(seq, (int) num(s.get("bytes"))).name()).as("step " + s).isEqualTo(s.get("expectAck"));
          }
        } else if (s.containsKey("acked")) {
          q.acked();
        } else if (s.containsKey("duplicate")) {
          assertThat(InboundSequencer.ackFor(q.offer(seq)).name()).as("step " + s).isEqualTo(s.get("expectAck"));
        } else if (s.containsKey("ahead")) {
          assertThat(InboundSequencer.ackFor(q.offer(seq + 2)).name()).as("step " + s).isEqualTo(s.get("expectAck"));
        } else {
          fail("unknown step " + s);
        }
      }
    });
  }

  @TestFactory
  Stream<DynamicTest> reconnect() {
    return each("reconnect", c -> {
      double[] next = new double[1];
      ReconnectPolicy p = new ReconnectPolicy(Duration.ofMillis(num(c.get("graceMs"))), () -> next[0]);
      p.begin(0, Duration.ofSeconds(num(c.get("joinDeadlineSeconds"))));
      assertThat(p.window().toMillis()).isEqualTo(num(c.get("expectWindowMs")));
      for (Map<String, Object> s : steps(c)) {
        if (s.containsKey("atMs")) {
          next[0] = ((Number) s.get("random")).doubleValue();
          assertThat(p.nextDelayMillis(TimeUnit.MILLISECONDS.toNanos(num(s.get("atMs"))))).as("step " + s)
              .isEqualTo(num(s.get("expectDelayMs")));
        } else if (s.containsKey("attemptFailed")) {
          p.attemptFailed();
        } else if (s.containsKey("expectTarget")) {
          assertThat(p.target()).as("step " + s).isEqualTo(num(s.get("expectTarget")));
        } else if (s.containsKey("expectAttempts")) {
          assertThat(p.attempts()).as("step " + s).isEqualTo(num(s.get("expectAttempts")));
        } else {
          fail("unknown step " + s);
        }
      }
    });
  }

  // ---- whole sessions against a scripted relay ----

  @TestFactory
  Stream<DynamicTest> scenariosInTheBlockingStyle() {
    return each("scenarios", c -> runScenario(c, false));
  }

  @TestFactory
  Stream<DynamicTest> scenariosWithAListener() {
    return each("scenarios", c -> runScenario(c, true));
  }

  /** What the application saw, in the listener style. */
  private static final class Recorder implements SessionListener {
    final BlockingQueue<Object> items = new LinkedBlockingQueue<>();

    @Override
    public void onFrame(RelaySession session, byte[] payload) {
      items.add(new String(payload, StandardCharsets.UTF_8));
    }

    @Override
    public void onPeerRestarted(RelaySession session, PeerRestartedException restart) {
      items.add(restart);
    }

    @Override
    public void onEnded(RelaySession session, RelayException reason) {
      items.add(reason);
    }
  }

  private static void runScenario(Map<String, Object> c, boolean listenerStyle) {
    try (ScriptedRelay relay = new ScriptedRelay(null);
        RelayClient client = RelayClient.builder()
            .target(relay.target())
            .usePlaintext()
            .heartbeatInterval(Duration.ZERO)
            .resume(!Boolean.FALSE.equals(c.get("resume")))
            .resumeBuffer(c.containsKey("maxUnackedFrames") ? (int) num(c.get("maxUnackedFrames")) : 1024, 4 << 20)
            .resumeGrace(Duration.ofSeconds(10))
            .build()) {
      new ScenarioRun(relay, client, listenerStyle ? new Recorder() : null).run(steps(c));
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static final class ScenarioRun {
    private final ScriptedRelay relay;
    private final RelayClient client;
    private final Recorder recorder;
    private final List<CompletableFuture<Void>> sends = new ArrayList<>();
    private final CompletableFuture<RelaySession> joining;
    private RelaySession session;
    private ScriptedRelay.Stream stream;
    private long self;

    ScenarioRun(ScriptedRelay relay, RelayClient client, Recorder recorder) {
      this.relay = relay;
      this.client = client;
      this.recorder = recorder;
      this.joining = CompletableFuture.supplyAsync(() -> {
        try {
          return recorder == null ? client.join(ScriptedRelay.ticket()) : client.join(ScriptedRelay.ticket(), recorder);
        } catch (InterruptedException e) {
          throw new IllegalStateException(e);
        }
      });
    }

    void run(List<Map<String, Object>> steps) throws Exception {
      try {
        for (Map<String, Object> s : steps) {
          if (s.containsKey("relay")) {
            relayStep(s);
          } else if (s.containsKey("app")) {
            for (Object p : (List<?>) s.get("payloads")) {
              sends.add(session.send(((String) p).getBytes(StandardCharsets.UTF_8)));
            }
          } else {
            expectStep(s);
          }
        }
      } finally {
        if (session != null) {
          session.close();
        }
      }
    }

    private long incarnation(Object o) {
      return "self".equals(o) ? self : num(o);
    }

    private void relayStep(Map<String, Object> s) throws Exception {
      switch ((String) s.get("relay")) {
        case "joined" -> {
          stream = relay.nextStream();
          long sent = stream.join().getIncarnation();
          if (self == 0) {
            assertThat(sent).as("the Join's incarnation").isNotZero();
            self = sent;
          } else {
            assertThat(sent).as("a rejoin keeps the incarnation").isEqualTo(self);
          }
          stream.send(ServerMessage.newBuilder().setJoined(ScriptedRelay.joined(Boolean.TRUE.equals(s.get("peerPresent")))
              .setPeerIncarnation(num(s.getOrDefault("peerIncarnation", 0L)))
              .setReplacedIncarnation(num(s.getOrDefault("replacedIncarnation", 0L)))).build());
          if (session == null) {
            session = joining.get(10, TimeUnit.SECONDS);
          }
        }
        case "frame" -> stream.send(ServerMessage.newBuilder().setData(Frame.newBuilder().setSeq(num(s.get("seq")))
            .setPayload(ByteString.copyFromUtf8((String) s.get("payload")))).build());
        case "ack" -> stream.send(ServerMessage.newBuilder().setAck(Ack.newBuilder().setSeq(num(s.get("seq")))
            .setIncarnation(incarnation(s.get("incarnation")))).build());
        case "peerJoined" -> stream.send(ServerMessage.newBuilder().setPeerJoined(PeerJoined.newBuilder()
            .setRole(dev.checkmate.relay.proto.v1.Role.PROVER).setIncarnation(num(s.get("incarnation")))).build());
        case "peerLeft" -> stream.send(ServerMessage.newBuilder().setPeerLeft(PeerLeft.newBuilder()
            .setRole(dev.checkmate.relay.proto.v1.Role.PROVER).setReconnecting(Boolean.TRUE.equals(s.get("reconnecting")))
            .setIncarnation(num(s.get("incarnation")))).build());
        case "drop" -> stream.drop();
        default -> fail("unknown relay step " + s);
      }
    }

    @SuppressWarnings("unchecked")
    private void expectStep(Map<String, Object> s) throws Exception {
      switch ((String) s.get("expect")) {
        case "sent" -> {
          for (Object e : (List<?>) s.get("messages")) {
            expectSent((Map<String, Object>) e);
          }
        }
        case "delivered" -> {
          for (Object e : (List<?>) s.get("items")) {
            expectDelivered(e);
          }
        }
        case "noMoreDelivered" -> {
          if (recorder != null) {
            assertThat(recorder.items.poll(200, TimeUnit.MILLISECONDS)).as("nothing more delivered").isNull();
          } else {
            assertThat(session.receive(Duration.ofMillis(200))).as("nothing more delivered").isNull();
          }
        }
        case "sendsFailed" -> awaitState("sends failed with the restart: " + s, () -> sends.stream()
            .filter(f -> f.isCompletedExceptionally() && f.handle((v, t) -> t instanceof PeerRestartedException
                || t != null && t.getCause() instanceof PeerRestartedException).join())
            .count() == num(s.get("count")));
        case "state" -> {
          for (Map.Entry<String, Object> e : s.entrySet()) {
            boolean want = Boolean.TRUE.equals(e.getValue());
            switch (e.getKey()) {
              case "expect" -> { }
              case "reconnecting" -> awaitState("reconnecting " + want, () -> session.isReconnecting() == want);
              case "open" -> awaitState("open " + want, () -> session.isOpen() == want);
              case "peerPresent" -> awaitState("peerPresent " + want, () -> session.peerPresent() == want);
              case "rejoinedAfterRestart" -> assertThat(session.rejoinedAfterRestart()).isEqualTo(want);
              default -> fail("unknown state " + e.getKey());
            }
          }
        }
        default -> fail("unknown expectation " + s);
      }
    }

    private void expectSent(Map<String, Object> want) throws InterruptedException {
      while (true) {
        ClientMessage m = stream.nextNonHeartbeat();
        if (matches(m, want)) {
          return;
        }
        if (m.hasAck()) {
          continue; // batched acks may come between; an expected one is matched above
        }
        fail("expected the SDK to send " + want + " but it sent " + m);
      }
    }

    @SuppressWarnings("unchecked")
    private boolean matches(ClientMessage m, Map<String, Object> want) {
      if (want.containsKey("frame")) {
        Map<String, Object> f = (Map<String, Object>) want.get("frame");
        return m.hasData() && m.getData().getSeq() == num(f.get("seq"))
            && m.getData().getPayload().toStringUtf8().equals(f.get("payload"));
      }
      if (want.containsKey("ack")) {
        Map<String, Object> a = (Map<String, Object>) want.get("ack");
        return m.hasAck() && m.getAck().getSeq() == num(a.get("seq"))
            && m.getAck().getIncarnation() == incarnation(a.get("incarnation"));
      }
      if (want.containsKey("terminate")) {
        Map<String, Object> t = (Map<String, Object>) want.get("terminate");
        return m.hasTerminate() && m.getTerminate().getReason().startsWith((String) t.get("reasonStartsWith"));
      }
      throw new IllegalArgumentException("unknown message " + want);
    }

    @SuppressWarnings("unchecked")
    private void expectDelivered(Object want) throws InterruptedException {
      Object got = recorder != null ? recorder.items.poll(5, TimeUnit.SECONDS) : receiveOne();
      assertThat(got).as("delivered: " + want).isNotNull();
      if (want instanceof String text) {
        assertThat(got).isEqualTo(text);
      } else if (((Map<String, Object>) want).containsKey("peerRestarted")) {
        Map<String, Object> r = (Map<String, Object>) ((Map<String, Object>) want).get("peerRestarted");
        assertThat(got).isInstanceOfSatisfying(PeerRestartedException.class, e -> {
          assertThat(e.lostFrames()).as("lostFrames").isEqualTo(num(r.get("lostFrames")));
          assertThat(e.framesFromPreviousPeer()).as("framesFromPreviousPeer").isEqualTo(num(r.get("framesFromPreviousPeer")));
        });
      } else {
        String name = (String) ((Map<String, Object>) want).get("ended");
        assertThat(got.getClass().getSimpleName()).isEqualTo(name + "Exception");
      }
    }

    /** Blocking style: the next frame as text, or what receive threw. */
    private Object receiveOne() throws InterruptedException {
      try {
        byte[] b = session.receive(Duration.ofSeconds(5));
        return b == null ? null : new String(b, StandardCharsets.UTF_8);
      } catch (RelayException e) {
        return e;
      }
    }

    private static void awaitState(String what, BooleanSupplier condition) throws InterruptedException {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
      while (!condition.getAsBoolean()) {
        if (System.nanoTime() > deadline) {
          fail("timed out waiting for " + what);
        }
        Thread.sleep(5);
      }
    }
  }
}
