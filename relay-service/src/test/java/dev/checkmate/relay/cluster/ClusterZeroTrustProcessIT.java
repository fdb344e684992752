package dev.checkmate.relay.cluster;

import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.DATA;
import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.JOINED;
import static dev.checkmate.relay.proto.v1.ServerMessage.KindCase.PEER_LEFT;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.checkmate.relay.proto.cluster.v1.BindRequest;
import dev.checkmate.relay.proto.cluster.v1.Claim;
import dev.checkmate.relay.proto.cluster.v1.ClaimStatus;
import dev.checkmate.relay.proto.cluster.v1.Located;
import dev.checkmate.relay.proto.cluster.v1.NodeMessage;
import dev.checkmate.relay.proto.cluster.v1.SealedTicket;
import dev.checkmate.relay.proto.cluster.v1.TerminateRequest;
import dev.checkmate.relay.proto.v1.CreateSessionRequest;
import dev.checkmate.relay.proto.v1.CreateSessionResponse;
import dev.checkmate.relay.proto.v1.Frame;
import dev.checkmate.relay.proto.v1.RelayServiceGrpc;
import dev.checkmate.relay.proto.v1.Role;
import dev.checkmate.relay.proto.v1.ServerMessage;
import dev.checkmate.relay.testing.TestPeer;
import dev.checkmate.relay.ticket.KeyRing;
import dev.checkmate.relay.ticket.TicketIssuer;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.nats.client.Connection;
import io.nats.client.Dispatcher;
import io.nats.client.ErrorListener;
import io.nats.client.Message;
import io.nats.client.Nats;
import io.nats.client.Options;
import io.nats.client.Subscription;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The home believes nothing from NATS it cannot verify. Real processes: a nats-server in operator
 * mode with the documented per-node permissions, two relay JVMs ("zt-a", the home of the honest
 * session, and "zt-b", its bridge), and this JVM as the attacker: a process holding relay NATS
 * credentials of its own node user ("rogue"), plus an observer user that reads every relay subject
 * (what a leaked read credential or a debugging operator sees). While an honest cross-node session
 * keeps exchanging frames (SHA-256 chains checked after every attack), the rogue tries every attack
 * listed in docs/cluster.md's threat model; each is refused or harmless, counted in
 * {@code relay_cluster_refusals_total{reason}} of the relay that refused it.
 */
@Timeout(180)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ClusterZeroTrustProcessIT {
  static final String REFUSALS = "relay_cluster_refusals_total";

  @TempDir
  static Path dir;
  static NatsServer nats;
  static RelayProcess home;
  static RelayProcess bridge;
  static Rogue rogue;
  static Observer observer;
  static CreateSessionResponse honest;
  static TestPeer prover;
  static TestPeer verifier;
  static final HashChain toVerifier = new HashChain();
  static final HashChain toProver = new HashChain();
  static final HashChain gotByVerifier = new HashChain();
  static final HashChain gotByProver = new HashChain();
  static int honestFrames;
  /** When the home claimed the honest session (its claim settles at most clusterDeadAfter, 3 s, later). */
  static long homeClaimedNanos;

  @BeforeAll
  static void start() throws Exception {
    ClusterFixture.requireNats();
    nats = NatsServer.builder(dir, "zt").start();
    observer = new Observer(NatsAccounts.get().observerCredentials(dir));
    home = RelayProcess.start(dir, "zt-a", List.of(nats.url()), true);
    bridge = RelayProcess.start(dir, "zt-b", List.of(nats.url()), true);
    ProcessCluster.awaitPairing(home, bridge);
    rogue = new Rogue(NatsAccounts.get().nodeCredentials(dir, "rogue"), "rogue");
    honest = ProcessCluster.createSession(home);
    prover = home.join(honest.getProverTicket());
    prover.next(JOINED);
    homeClaimedNanos = System.nanoTime();
    verifier = bridge.join(honest.getVerifierTicket());
    verifier.next(JOINED);
    honestRound();
  }

  @AfterAll
  static void stop() throws Exception {
    for (AutoCloseable c : new AutoCloseable[] {prover, verifier, rogue, observer, home, bridge, nats}) {
      if (c != null) {
        c.close();
      }
    }
  }

  /** Ten frames each way on the honest session; every frame so far must have arrived once, in order. */
  static void honestRound() throws Exception {
    int from = honestFrames + 1;
    honestFrames += 10;
    toVerifier.send(prover, "p", from, honestFrames);
    toProver.send(verifier, "v", from, honestFrames);
    for (int i = from; i <= honestFrames; i++) {
      gotByVerifier.add(ClusterIT.skipTo(verifier, DATA).getData().getPayload().toByteArray());
      gotByProver.add(ClusterIT.skipTo(prover, DATA).getData().getPayload().toByteArray());
    }
    assertThat(gotByVerifier.hex()).as("prover -> verifier chain").isEqualTo(toVerifier.hex());
    assertThat(gotByProver.hex()).as("verifier -> prover chain").isEqualTo(toProver.hex());
    assertThat(prover.closed).isNotDone();
    assertThat(verifier.closed).isNotDone();
  }

  static double refusals(RelayProcess r, String reason) throws Exception {
    return r.metric(REFUSALS, "reason=\"" + reason + "\"");
  }

  static void awaitRefusal(RelayProcess r, String reason, double before) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (refusals(r, reason) <= before) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError(r.nodeId + ": no refusal counted with reason " + reason);
      }
      Thread.sleep(50);
    }
  }

  /** Waits until {@code r}'s NATS link has been up, without a break, for {@code steady}. */
  static void awaitLinkSteady(RelayProcess r, Duration steady) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    long upSince = 0;
    while (System.nanoTime() < deadline) {
      boolean up = r.metric("relay_nats_link_up", "") >= 1;
      long now = System.nanoTime();
      if (!up) {
        upSince = 0;
      } else if (upSince == 0) {
        upSince = now;
      } else if (now - upSince >= steady.toNanos()) {
        return;
      }
      Thread.sleep(100);
    }
    throw new AssertionError(r.nodeId + ": NATS link not steadily up");
  }

  static String sid() {
    return honest.getSessionId();
  }

  static SessionKeys honestKeys() {
    return SessionKeys.of(ClusterIT.sessionKeyOf(honest.getVerifierTicket()));
  }

  static BindRequest.Builder bind(ByteString bridgeToken) {
    return BindRequest.newBuilder().setSessionId(sid()).setBridgeToken(bridgeToken).setWindowFrames(64).setWindowBytes(256 * 1024);
  }

  static ByteString token() {
    return ByteString.copyFrom(SessionKeys.random(16));
  }

  // --- the attacks ---

  @Test
  @Order(1)
  void nothingSecretCrossesNatsWhereAnotherClientCanReadIt() throws Exception {
    // The observer read every relay subject while the honest session was set up and used.
    assertThat(observer.messages).isNotEmpty();
    for (String secret : List.of(honest.getProverTicket(), honest.getVerifierTicket(), jti(honest.getProverTicket()),
        jti(honest.getVerifierTicket()), sessionKeyText(honest.getVerifierTicket()))) {
      for (Observed m : observer.messages) {
        assertThat(new String(m.data(), StandardCharsets.ISO_8859_1)).as("a ticket, ticket id or session key on %s", m.subject())
            .doesNotContain(secret);
      }
    }
    // Private messages exist on the wire only between (and within) the two relay nodes.
    assertThat(observer.messages.stream().filter(m -> m.subject().startsWith("relay.v1.node.")))
        .allMatch(m -> m.subject().matches("relay\\.v1\\.node\\.zt-[ab]\\.zt-[ab]\\.[0-7]"));
  }

  @Test
  @Order(2)
  void aBindWithoutATicketIsRefused() throws Exception {
    double before = refusals(home, "sealed_ticket");
    ByteString t = token();
    rogue.send("zt-a", NodeMessage.newBuilder().setBind(bind(t)).build());
    NodeMessage reply = rogue.await(m -> m.hasBound() && m.getToken().equals(t));
    assertThat(reply.getBound().getErrorCode()).isEqualTo("UNAUTHENTICATED");
    awaitRefusal(home, "sealed_ticket", before);
    honestRound();
  }

  @Test
  @Order(3)
  void replayingABindSeenOnTheWireIsRefusedAndPosingAsItsSenderIsRefusedByNats() throws Exception {
    Observed seen = observer.first(m -> m.subject().startsWith("relay.v1.node.zt-a.zt-b.") && m.message().hasBind());
    double before = refusals(home, "sealed_ticket");
    // Verbatim, from the rogue's own identity: the sealed ticket is bound to node zt-b and its binding.
    rogue.send("zt-a", seen.message());
    NodeMessage reply = rogue.await(m -> m.hasBound() && m.getToken().equals(seen.message().getBind().getBridgeToken()));
    assertThat(reply.getBound().getErrorCode()).isEqualTo("UNAUTHENTICATED");
    awaitRefusal(home, "sealed_ticket", before);
    // Posing as zt-b: NATS itself refuses the publish (per-node permissions).
    rogue.sendAs("zt-a", "zt-b", seen.message());
    rogue.awaitViolation("Publish", "relay.v1.node.zt-a.zt-b.");
    honestRound();
  }

  @Test
  @Order(4)
  void forgedExpiredAndOtherSessionTicketsAreRefusedByTheHomesTicketCheck() throws Exception {
    // The strongest rogue: it also knows the session key (as any holder of one of its tickets does),
    // so its tickets do reach the home's ticket check, which is the local join's.
    SessionKeys keys = honestKeys();
    KeyRing.SigningKey real = KeyRing.load(Optional.of(ClusterFixture.signingKey(dir)), Optional.empty()).signingKey().orElseThrow();
    var attackerJwk = KeyRing.generate();
    KeyRing.SigningKey attacker = new KeyRing.SigningKey(attackerJwk.getId(), attackerJwk.toKey(), attackerJwk.toPublicJwk().toKey());
    KeyRing.SigningKey forgedUnderRealKid = new KeyRing.SigningKey(real.keyId(), attackerJwk.toKey(), attackerJwk.toPublicJwk().toKey());
    Instant later = Instant.now().plus(Duration.ofHours(1));
    CreateSessionResponse other = ProcessCluster.createSession(home);
    List<String> tickets = List.of(
        issuer(attacker, Clock.systemUTC()).issue(sid(), Role.VERIFIER, later),              // unknown key
        issuer(forgedUnderRealKid, Clock.systemUTC()).issue(sid(), Role.VERIFIER, later),    // bad signature
        issuer(real, Clock.offset(Clock.systemUTC(), Duration.ofHours(-3))).issue(sid(), Role.VERIFIER,
            Instant.now().minus(Duration.ofHours(1))),                                          // expired an hour ago
        other.getVerifierTicket());                                                             // another session's
    for (String ticket : tickets) {
      double before = refusals(home, "ticket");
      ByteString t = token();
      rogue.send("zt-a", NodeMessage.newBuilder().setBind(bind(t)
          .setTicket(keys.seal(ticket, "bind", sid(), "rogue", "zt-a", SessionKeys.hex(t)))).build());
      NodeMessage reply = rogue.await(m -> m.hasBound() && m.getToken().equals(t));
      assertThat(reply.getBound().getErrorCode()).isIn("UNAUTHENTICATED", "INVALID_ARGUMENT");
      awaitRefusal(home, "ticket", before);
    }
    // Another session's ticket sealed with that session's own key does not even open here.
    double before = refusals(home, "sealed_ticket");
    ByteString t = token();
    rogue.send("zt-a", NodeMessage.newBuilder().setBind(bind(t).setTicket(SessionKeys.of(ClusterIT.sessionKeyOf(other.getVerifierTicket()))
        .seal(other.getVerifierTicket(), "bind", sid(), "rogue", "zt-a", SessionKeys.hex(t)))).build());
    assertThat(rogue.await(m -> m.hasBound() && m.getToken().equals(t)).getBound().getErrorCode()).isEqualTo("UNAUTHENTICATED");
    awaitRefusal(home, "sealed_ticket", before);
    honestRound();
  }

  @Test
  @Order(5)
  void aTerminateWithoutATicketIsRefused() throws Exception {
    double before = refusals(home, "sealed_ticket");
    ByteString id = token();
    rogue.send("zt-a", NodeMessage.newBuilder().setTerminate(TerminateRequest.newBuilder()
        .setSessionId(sid()).setRequestId(id).setReason("by prover")).build());
    NodeMessage reply = rogue.await(m -> m.hasTerminated() && m.getToken().equals(id));
    assertThat(reply.getTerminated().getTerminated()).isFalse();
    assertThat(reply.getTerminated().getErrorCode()).isEqualTo("UNAUTHENTICATED");
    awaitRefusal(home, "sealed_ticket", before);
    honestRound();
  }

  @Test
  @Order(6)
  void lateClaimsOnASettledSessionChangeNothing() throws Exception {
    // The home's claim is settled: 2 × settle after it was made, and once the home's link has been
    // up for clusterDeadAfter (3 s; it came up before the claim).
    long settledBy = homeClaimedNanos + java.time.Duration.ofMillis(3500).toNanos();
    Thread.sleep(Math.max(0, (settledBy - System.nanoTime()) / 1_000_000));
    // Without the session key: the proof does not verify.
    double proofBefore = refusals(home, "proof");
    rogue.publish("relay.v1.home." + sid() + ".rogue", NodeMessage.newBuilder().setClaim(Claim.newBuilder()
        .setSessionId(sid()).setNonce(token()).setSettled(true).setProof(ByteString.copyFrom(new byte[32]))).build());
    awaitRefusal(home, "proof", proofBefore);
    // With the session key, from a node id that wins every tie-break ("rogue" < "zt-a"), claiming an
    // hour-old settled claim: the home's settled claim is final. A claim settles only on a link that
    // stayed up for twice the settle time, and a loaded machine can drop NATS pings: make sure the
    // home's link has been steady for longer than that, so its claim is the settled one.
    awaitLinkSteady(home, Duration.ofMillis(1500));
    SessionKeys keys = honestKeys();
    ByteString nonce = token();
    double lostBefore = refusals(home, "claim_lost");
    rogue.publish("relay.v1.home." + sid() + ".rogue", NodeMessage.newBuilder().setClaim(Claim.newBuilder()
        .setSessionId(sid()).setNonce(nonce).setSettled(true)
        .setProof(ByteString.copyFrom(keys.proof("claim", sid(), "rogue", SessionKeys.hex(nonce), "true")))).build());
    awaitRefusal(home, "claim_lost", lostBefore);
    NodeMessage status = rogue.await(m -> m.hasClaimStatus() && m.getClaimStatus().getEcho().equals(nonce));
    assertThat(status.getClaimStatus().getSettled()).isTrue();
    // And a private status insisting on it: two settled claims never yield.
    ClaimStatus st = status.getClaimStatus();
    rogue.send("zt-a", NodeMessage.newBuilder().setClaimStatus(ClaimStatus.newBuilder().setSessionId(sid())
        .setEcho(st.getNonce()).setNonce(nonce).setSettled(true).setProof(ByteString.copyFrom(keys.proof("status", sid(),
            "rogue", "zt-a", SessionKeys.hex(st.getNonce()), SessionKeys.hex(nonce), "true")))).build());
    Thread.sleep(300);
    honestRound();
  }

  @Test
  @Order(7)
  void framesWithTokensAndSequenceNumbersReadOffTheWireAreRefused() throws Exception {
    Observed up = observer.last(m -> m.subject().startsWith("relay.v1.node.zt-a.zt-b.") && m.message().hasFrame());
    Observed down = observer.last(m -> m.subject().startsWith("relay.v1.node.zt-b.zt-a.") && m.message().hasServer()
        && m.message().getServer().hasData());
    double upBefore = refusals(home, "wrong_sender");
    double downBefore = refusals(bridge, "wrong_sender");
    NodeMessage injectUp = up.message().toBuilder().setSeq(up.message().getSeq() + 1)
        .setFrame(Frame.newBuilder().setSeq(999).setPayload(ByteString.copyFromUtf8("injected up"))).build();
    NodeMessage injectDown = down.message().toBuilder().setSeq(down.message().getSeq() + 1)
        .setServer(ServerMessage.newBuilder().setData(Frame.newBuilder().setSeq(999).setPayload(ByteString.copyFromUtf8("injected down")))).build();
    rogue.send("zt-a", injectUp);
    rogue.send("zt-b", injectDown);
    awaitRefusal(home, "wrong_sender", upBefore);
    awaitRefusal(bridge, "wrong_sender", downBefore);
    rogue.sendAs("zt-a", "zt-b", injectUp);
    rogue.awaitViolation("Publish", "relay.v1.node.zt-a.zt-b.");
    honestRound(); // nothing injected arrived, nothing was lost (the chains would differ)
  }

  @Test
  @Order(8)
  void framesWithAForgedBindingTokenAreRefused() throws Exception {
    double before = refusals(home, "unknown_binding");
    rogue.send("zt-a", NodeMessage.newBuilder().setToken(token()).setSeq(1)
        .setFrame(Frame.newBuilder().setSeq(1).setPayload(ByteString.copyFromUtf8("forged"))).build());
    awaitRefusal(home, "unknown_binding", before);
    honestRound();
  }

  @Test
  @Order(9)
  void aBridgeThatSendsBeyondItsCreditIsCutOffWithAClearReason() throws Exception {
    // A compromised bridge node with a genuine ticket (its client's) floods the home: 192 frames of
    // 16 KiB against a window of 64 frames / 256 KiB, while the peer at the home reads nothing.
    CreateSessionResponse s = ProcessCluster.createSession(home);
    ManagedChannel smallWindow = NettyChannelBuilder.forAddress("127.0.0.1", home.port).usePlaintext()
        .flowControlWindow(16 * 1024).build();
    TestPeer stalled = TestPeer.connect(smallWindow, false);
    try {
      stalled.sendJoin(s.getProverTicket());
      stalled.read(1);
      stalled.next(JOINED); // zt-a is the session's home now
      SessionKeys keys = SessionKeys.of(ClusterIT.sessionKeyOf(s.getVerifierTicket()));
      ByteString bridgeToken = token();
      rogue.send("zt-a", NodeMessage.newBuilder().setBind(BindRequest.newBuilder().setSessionId(s.getSessionId())
          .setBridgeToken(bridgeToken).setWindowFrames(64).setWindowBytes(256 * 1024)
          .setTicket(keys.seal(s.getVerifierTicket(), "bind", s.getSessionId(), "rogue", "zt-a", SessionKeys.hex(bridgeToken)))).build());
      NodeMessage bound = rogue.await(m -> m.hasBound() && m.getToken().equals(bridgeToken));
      assertThat(bound.getBound().getErrorCode()).as("a genuine ticket binds").isEmpty();
      ByteString homeToken = bound.getBound().getHomeToken();
      double before = refusals(home, "credit_exceeded");
      byte[] payload = new byte[16 * 1024];
      for (int i = 1; i <= 192; i++) {
        rogue.send("zt-a", NodeMessage.newBuilder().setToken(homeToken).setSeq(i)
            .setFrame(Frame.newBuilder().setSeq(i).setPayload(ByteString.copyFrom(payload))).build());
      }
      awaitRefusal(home, "credit_exceeded", before);
      NodeMessage close = rogue.await(m -> m.hasClose() && m.getToken().equals(bridgeToken));
      assertThat(close.getClose().getCode()).isEqualTo("RESOURCE_EXHAUSTED");
      assertThat(close.getClose().getDescription()).contains("credit window");
      // The peer at the home is told its peer left (the role stays reserved for a reconnect).
      stalled.read(1_000);
      ClusterIT.skipTo(stalled, PEER_LEFT);
      long frames = stalled.received.stream().filter(ServerMessage::hasData).count();
      assertThat(frames).as("frames the home let through before cutting the binding").isLessThan(192);
    } finally {
      stalled.close();
      smallWindow.shutdownNow();
    }
    honestRound();
  }

  @Test
  @Order(10)
  void aPassiveSubscriberOnEveryRelaySubjectBreaksNoSessionAndReadsNoSecret() throws Exception {
    List<String> everything = List.of(">", "relay.v1.>", "relay.v1.home.>", "relay.v1.home.*.*", "relay.v1.node.>",
        "relay.v1.node.zt-a.*.*", "relay.v1.node.zt-b.>", "_INBOX.>", "_INBOX.zt-a.>");
    List<Subscription> subs = new ArrayList<>();
    LinkedBlockingQueue<Message> heard = new LinkedBlockingQueue<>();
    for (String subject : everything) {
      subs.add(rogue.silent.subscribe(subject, heard::add));
    }
    for (String denied : everything) {
      if (!denied.equals("relay.v1.home.*.*")) {
        rogue.awaitViolation("Subscription", denied);
      }
    }
    try {
      // New sessions still pair, node-local and cross-node: NATS sees a subscriber on the home
      // subjects and cannot answer "no responders", so the first join waits for the lookup timeout
      // and then claims; it is never refused.
      double timeoutsBefore = refusals(bridge, "lookup_timeout");
      for (RelayProcess second : new RelayProcess[] {bridge, home}) {
        CreateSessionResponse s = ProcessCluster.createSession(bridge);
        long t0 = System.nanoTime();
        try (TestPeer p = bridge.join(s.getProverTicket())) {
          p.next(JOINED, Duration.ofSeconds(5));
          long ms = (System.nanoTime() - t0) / 1_000_000;
          assertThat(ms).as("first join with a silent subscriber on the home subjects").isLessThan(2000);
          try (TestPeer v = second.join(s.getVerifierTicket())) {
            assertThat(v.next(JOINED).getJoined().getPeerPresent()).isTrue();
            p.sendData("still pairs".getBytes());
            assertThat(ClusterIT.skipTo(v, DATA).getData().getPayload().toStringUtf8()).isEqualTo("still pairs");
          }
        }
      }
      awaitRefusal(bridge, "lookup_timeout", timeoutsBefore);
      // What it heard: lookups and claims (session ids, node ids, nonces, proofs); no tickets, tokens or frames.
      for (Message m : heard) {
        assertThat(m.getSubject()).startsWith("relay.v1.home.");
        NodeMessage nm = NodeMessage.parseFrom(m.getData());
        assertThat(nm.hasLookup() || nm.hasClaim()).isTrue();
        assertThat(nm.getToken().isEmpty()).isTrue();
      }
      honestRound();
    } finally {
      for (Subscription s : subs) {
        rogue.silent.unsubscribe(s);
      }
    }
  }

  @Test
  @Order(11)
  void lookupAnswersWithoutAValidProofAreIgnored() throws Exception {
    // The rogue answers every lookup "I am home" (it cannot prove it): askers ignore the lie.
    Dispatcher liar = rogue.nc.createDispatcher(m -> {
      try {
        NodeMessage nm = NodeMessage.parseFrom(m.getData());
        String asker = Subjects.sender(m.getSubject());
        if (nm.hasLookup() && asker != null) {
          rogue.send(asker, NodeMessage.newBuilder().setLocated(Located.newBuilder().setSessionId(nm.getLookup().getSessionId())
              .setNonce(nm.getLookup().getNonce()).setState(Located.State.HOME).setProof(ByteString.copyFrom(new byte[32]))).build());
        }
      } catch (InvalidProtocolBufferException ignored) {
        // not a relay message
      }
    });
    liar.subscribe("relay.v1.home.*.*");
    try {
      double before = refusals(bridge, "proof");
      CreateSessionResponse s = ProcessCluster.createSession(home);
      try (TestPeer p = bridge.join(s.getProverTicket())) {
        p.next(JOINED, Duration.ofSeconds(5));
        try (TestPeer v = home.join(s.getVerifierTicket())) {
          assertThat(v.next(JOINED).getJoined().getPeerPresent()).isTrue();
          v.sendData("not fooled".getBytes());
          assertThat(ClusterIT.skipTo(p, DATA).getData().getPayload().toStringUtf8()).isEqualTo("not fooled");
        }
      }
      awaitRefusal(bridge, "proof", before);
    } finally {
      rogue.nc.closeDispatcher(liar);
    }
    honestRound();
  }

  @Test
  @Order(12)
  void theHonestSessionCameThroughIntactAndEndsNormally() throws Exception {
    honestRound();
    assertThat(honestFrames).isGreaterThanOrEqualTo(110);
    verifier.terminate("done");
    for (TestPeer p : new TestPeer[] {prover, verifier}) {
      ClusterIT.skipTo(p, ServerMessage.KindCase.SESSION_ENDED);
      assertThat(p.awaitClose().getCode()).isEqualTo(Status.Code.OK);
    }
    // Its tickets stay dead cluster-wide; a TerminateSession forwarded by the bridge gets the home's answer.
    boolean again = RelayServiceGrpc.newBlockingStub(bridge.channel).withDeadlineAfter(5, TimeUnit.SECONDS)
        .terminateSession(dev.checkmate.relay.proto.v1.TerminateSessionRequest.newBuilder()
            .setTicket(honest.getProverTicket()).build()).getTerminated();
    assertThat(again).isFalse();
  }

  // --- helpers ---

  static TicketIssuer issuer(KeyRing.SigningKey key, Clock clock) {
    return new TicketIssuer(key, "checkmate-relay", clock);
  }

  static String jti(String ticket) {
    return claim(ticket, "jti");
  }

  static String sessionKeyText(String ticket) {
    return claim(ticket, "sk");
  }

  private static String claim(String ticket, String name) {
    String payload = new String(java.util.Base64.getUrlDecoder().decode(ticket.split("\\.")[1]), StandardCharsets.UTF_8);
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"" + name + "\":\"([^\"]+)\"").matcher(payload);
    assertThat(m.find()).isTrue();
    return m.group(1);
  }

  record Observed(String subject, byte[] data, NodeMessage message) {}

  /** Reads every relay subject (observer user: subscribe relay.v1.> and _INBOX.>, publish nothing). */
  static final class Observer implements AutoCloseable {
    final Connection nc;
    final List<Observed> messages = new CopyOnWriteArrayList<>();

    Observer(Path credentials) throws Exception {
      nc = Nats.connect(new Options.Builder().server(nats.url()).authHandler(Nats.credentials(credentials.toString()))
          .errorListener(new ErrorListener() {
            @Override
            public void errorOccurred(Connection conn, String error) {
              System.out.println("observer: NATS error " + error);
            }
          }).build());
      Dispatcher d = nc.createDispatcher(m -> {
        NodeMessage nm;
        try {
          nm = NodeMessage.parseFrom(m.getData());
        } catch (InvalidProtocolBufferException e) {
          nm = NodeMessage.getDefaultInstance();
        }
        messages.add(new Observed(m.getSubject(), m.getData(), nm));
      });
      d.subscribe("relay.v1.>");
      d.subscribe("_INBOX.>");
      nc.flush(Duration.ofSeconds(2));
    }

    Observed first(Predicate<Observed> p) {
      return messages.stream().filter(p).findFirst().orElseThrow(() -> new AssertionError("not seen on the wire"));
    }

    Observed last(Predicate<Observed> p) {
      Observed found = null;
      for (Observed o : messages) {
        if (p.test(o)) {
          found = o;
        }
      }
      assertThat(found).as("seen on the wire").isNotNull();
      return found;
    }

    @Override
    public void close() throws InterruptedException {
      nc.close();
    }
  }

  /** A process holding a relay node's NATS credentials (its own node user) but no ticket. */
  static final class Rogue implements AutoCloseable {
    final Connection nc;
    final Dispatcher silent;
    final String id;
    final LinkedBlockingQueue<NodeMessage> inbox = new LinkedBlockingQueue<>();
    final List<NodeMessage> seen = new CopyOnWriteArrayList<>();
    final Set<String> violations = ConcurrentHashMap.newKeySet();

    Rogue(Path credentials, String id) throws Exception {
      this.id = id;
      nc = Nats.connect(new Options.Builder().server(nats.url()).authHandler(Nats.credentials(credentials.toString()))
          .errorListener(new ErrorListener() {
            @Override
            public void errorOccurred(Connection conn, String error) {
              violations.add(error);
            }
          }).build());
      Dispatcher d = nc.createDispatcher(m -> {
        try {
          inbox.add(NodeMessage.parseFrom(m.getData()));
        } catch (InvalidProtocolBufferException ignored) {
          // not a relay message
        }
      });
      d.subscribe("relay.v1.node." + id + ".*.*");
      silent = nc.createDispatcher(m -> { });
      nc.flush(Duration.ofSeconds(2));
    }

    void send(String dst, NodeMessage m) {
      nc.publish(Subjects.node(dst, id, 0), m.toByteArray());
    }

    void sendAs(String dst, String pretend, NodeMessage m) {
      nc.publish(Subjects.node(dst, pretend, 0), m.toByteArray());
    }

    void publish(String subject, NodeMessage m) {
      nc.publish(subject, m.toByteArray());
    }

    NodeMessage await(Predicate<NodeMessage> p) throws InterruptedException {
      for (NodeMessage m : seen) {
        if (p.test(m)) {
          return m;
        }
      }
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (true) {
        NodeMessage m = inbox.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        if (m == null) {
          throw new AssertionError("the rogue got no such answer");
        }
        seen.add(m);
        if (p.test(m)) {
          return m;
        }
      }
    }

    void awaitViolation(String kind, String subjectPrefix) throws InterruptedException {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
      while (violations.stream().noneMatch(v -> v.startsWith("Permissions Violation for " + kind) && v.contains("\"" + subjectPrefix))) {
        if (System.nanoTime() > deadline) {
          throw new AssertionError("NATS did not refuse " + kind + " " + subjectPrefix + "; errors: " + violations);
        }
        Thread.sleep(20);
      }
    }

    @Override
    public void close() throws InterruptedException {
      nc.close();
    }
  }
}
