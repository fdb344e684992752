package dev.checkmate.relay.transport;

import dev.checkmate.relay.admission.Admission;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import dev.checkmate.relay.RelayConfig;
import dev.checkmate.relay.error.RelayError;
import dev.checkmate.relay.error.RelayException;
import dev.checkmate.relay.proto.v1.ClientMessage;
import dev.checkmate.relay.proto.v1.Frame;
import dev.checkmate.relay.proto.v1.Heartbeat;
import dev.checkmate.relay.proto.v1.Join;
import dev.checkmate.relay.proto.v1.Role;
import dev.checkmate.relay.proto.v1.ServerMessage;
import dev.checkmate.relay.security.AddressLimits;
import dev.checkmate.relay.session.SessionHub;
import dev.checkmate.relay.ticket.KeyRing;
import dev.checkmate.relay.ticket.TicketIssuer;
import dev.checkmate.relay.ticket.TicketVerifier;
import io.grpc.Status;
import java.net.InetAddress;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The rules every transport inherits from {@link ParticipantStream}, on an in-memory wire whose
 * writability the test controls: keep-alive answers are never queued for a client that does not
 * read, reads stop while one is owed, bytes written to an unready wire are bounded, and every
 * refusal carries the documented status.
 */
class ParticipantStreamTest {
  private static final Clock CLOCK = Clock.systemUTC();
  private static final KeyRing KEYS = KeyRing.ephemeral();
  private static final TicketIssuer ISSUER = new TicketIssuer(KEYS.signingKey().orElseThrow(), "checkmate-relay", CLOCK);
  private static final ClientMessage HEARTBEAT = ClientMessage.newBuilder().setHeartbeat(Heartbeat.getDefaultInstance()).build();
  private static final InetAddress CLIENT = InetAddress.getLoopbackAddress();

  private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
  private final RelayConfig config = RelayConfig.builder().telemetryEnabled(false).maxFrameBytes(1024).build();
  private final SessionHub hub = new SessionHub(config.sessionSettings(), CLOCK);
  private final AddressLimits limits = new AddressLimits(10, 5);
  private final Admission admission = new Admission(hub,
      new TicketVerifier(KEYS, "checkmate-relay", Duration.ofSeconds(30), CLOCK), limits, scheduler);
  private final ParticipantStream.Limits streamLimits =
      new ParticipantStream.Limits(Duration.ofSeconds(10), config.maxUnreadBytes(), 2, 20);

  @AfterEach
  void stop() {
    scheduler.shutdownNow();
  }

  /** An in-memory wire: records what is written, counts reads, runs "soon" tasks when told. */
  static final class Wire extends ParticipantStream {
    final List<ServerMessage> written = new ArrayList<>();
    final List<Runnable> soon = new ArrayList<>();
    volatile boolean writable = true;
    int reads;
    Status terminated;

    Wire(Admission admission, Limits limits) {
      super(admission, limits, "grpc", CLIENT);
    }

    boolean start() {
      return open(true);
    }

    void receive(ClientMessage m) {
      onClientMessage(m, null);
    }

    void becomeWritable() {
      writable = true;
      onWritable();
    }

    void runSoonTasks() {
      List<Runnable> tasks = new ArrayList<>(soon);
      soon.clear();
      tasks.forEach(Runnable::run);
    }

    long heartbeatsWritten() {
      return written.stream().filter(ServerMessage::hasHeartbeat).count();
    }

    @Override
    protected void write(ServerMessage message) {
      written.add(message);
    }

    @Override
    protected boolean writable() {
      return writable;
    }

    @Override
    protected void readOne() {
      reads++;
    }

    @Override
    protected void terminate(Status status) {
      terminated = status;
    }

    @Override
    protected void runSoon(Runnable task) {
      soon.add(task);
    }
  }

  private Wire joined() {
    Wire w = new Wire(admission, streamLimits);
    assertThat(w.start()).isTrue();
    String ticket = ISSUER.issue(ISSUER.newSessionId(), Role.PROVER, Instant.now().plusSeconds(600));
    w.receive(ClientMessage.newBuilder().setJoin(Join.newBuilder().setTicket(ticket)).build());
    assertThat(w.written).anyMatch(ServerMessage::hasJoined);
    assertThat(w.terminated).isNull();
    w.reads = 0;
    return w;
  }

  private static RelayError errorOf(Status status) {
    return ((RelayException) status.getCause()).error();
  }

  @Test
  void aKeepAliveIsAnsweredAtOnceWhenTheClientReads() {
    Wire w = joined();
    w.receive(HEARTBEAT);
    assertThat(w.heartbeatsWritten()).isEqualTo(1);
    assertThat(w.reads).isEqualTo(1);
  }

  @Test
  void aClientThatDoesNotReadIsOwedOneAnswerAndIsNotReadUntilItReads() {
    Wire w = joined();
    w.writable = false;
    for (int i = 0; i < 5; i++) {
      w.receive(HEARTBEAT); // a transport stops delivering after the first; even if it did not
    }
    assertThat(w.heartbeatsWritten()).as("nothing is written to a wire that is not ready").isZero();
    assertThat(w.reads).as("the client is not read while an answer is owed").isZero();
    assertThat(w.readsHeld()).isTrue();
    assertThat(w.isReady()).as("the peer is held back too").isFalse();
    assertThat(w.notReadingSinceNanos()).isNotZero();
    w.becomeWritable();
    assertThat(w.heartbeatsWritten()).as("one answer, however many were owed").isEqualTo(1);
    assertThat(w.reads).isEqualTo(1);
    assertThat(w.notReadingSinceNanos()).isZero();
    assertThat(w.readsHeld()).isFalse();
  }

  @Test
  void keepAlivesFasterThanTheBudgetCloseTheStreamWithItsOwnReason() {
    Wire w = joined();
    for (int i = 0; i < 25 && w.terminated == null; i++) {
      w.receive(HEARTBEAT);
    }
    assertThat(w.terminated).isNotNull();
    assertThat(w.terminated.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(errorOf(w.terminated)).isEqualTo(RelayError.KEEPALIVE_RATE_LIMITED);
    assertThat(hub.stats().rejections(RelayError.KEEPALIVE_RATE_LIMITED)).isEqualTo(1);
  }

  @Test
  void bytesWrittenToAWireThatIsNotReadyAreBoundedThenTheStreamIsClosed() {
    Wire w = joined();
    w.writable = false;
    ServerMessage frame = ServerMessage.newBuilder().setData(Frame.newBuilder().setSeq(1)
        .setPayload(ByteString.copyFrom(new byte[1000]))).build();
    int before = w.written.size();
    long allowed = config.maxUnreadBytes() / frame.getSerializedSize();
    for (int i = 0; i < allowed + 10; i++) {
      w.send(frame);
    }
    long passed = w.written.size() - before;
    assertThat(passed * frame.getSerializedSize()).as("bytes passed to an unready wire").isLessThanOrEqualTo(config.maxUnreadBytes());
    assertThat(w.terminated).as("closed outside the caller's call (it may hold a session lock)").isNull();
    w.runSoonTasks();
    assertThat(w.terminated).isNotNull();
    assertThat(errorOf(w.terminated)).isEqualTo(RelayError.NOT_READING);
    int after = w.written.size();
    w.send(frame);
    assertThat(w.written).as("nothing is written after the close").hasSize(after);
  }

  @Test
  void writesResumeTheUnreadCountOnceTheWireIsReadyAgain() {
    Wire w = joined();
    ServerMessage frame = ServerMessage.newBuilder().setData(Frame.newBuilder().setSeq(1)
        .setPayload(ByteString.copyFrom(new byte[1000]))).build();
    for (int round = 0; round < 5; round++) {
      w.writable = false;
      for (int i = 0; i < 60; i++) { // ~60 KB per round, under the bound each time
        w.send(frame);
      }
      w.becomeWritable();
    }
    w.runSoonTasks();
    assertThat(w.terminated).as("a client that keeps reading is never closed").isNull();
  }

  @Test
  void theFirstMessageMustBeAJoinAndAMalformedOneIsInvalidArgument() {
    Wire w = new Wire(admission, streamLimits);
    w.start();
    w.receive(HEARTBEAT);
    assertThat(w.terminated.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(w.terminated.getDescription()).contains("must be a Join");
    assertThat(limits.trackedAddresses()).as("the stream permit is released").isZero();
  }

  @Test
  void forgedTicketsPastTheAddressBudgetAreRefusedBeforeTheSignature() {
    int badTickets = 0;
    int rateLimited = 0;
    for (int i = 0; i < 30; i++) {
      Wire w = new Wire(admission, streamLimits);
      w.start();
      w.receive(ClientMessage.newBuilder().setJoin(Join.newBuilder().setTicket("forged.ticket.x")).build());
      RelayError e = errorOf(w.terminated);
      if (e == RelayError.JOIN_RATE_LIMITED) {
        rateLimited++;
      } else {
        badTickets++;
      }
    }
    // Burst of twice the rate (5/s): about ten reach the signature check, the rest are refused.
    assertThat(badTickets).isBetween(10, 12);
    assertThat(rateLimited).isEqualTo(30 - badTickets);
    assertThat(hub.stats().rejections(RelayError.JOIN_RATE_LIMITED)).isEqualTo(rateLimited);
    assertThat(limits.trackedAddresses()).isZero();
  }
}
