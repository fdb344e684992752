package dev.checkmate.relay.probe;

import com.google.protobuf.ByteString;
import dev.checkmate.relay.proto.v1.EndReason;
import dev.checkmate.relay.proto.v1.Frame;
import dev.checkmate.relay.proto.v1.Joined;
import dev.checkmate.relay.proto.v1.ServerMessage;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Arrays;
import java.util.Locale;

/**
 * One full session across two transports: the prover joins on one, the verifier on the other, the
 * prover sends frames that the verifier echoes back (round-trip times), the prover terminates and
 * both streams must end cleanly. Reports whether the relay said the two were bridged across nodes.
 */
final class SessionProbe {
  /** Opens a participant's stream on a transport for a session. */
  interface Streams {
    ProbeStream open(Transport transport, String sessionId);
  }

  private final Streams streams;
  private final Duration timeout;
  private final int roundTrips;
  private final int payloadBytes;
  private final SecureRandom random = new SecureRandom();

  SessionProbe(Streams streams, Duration timeout, int roundTrips, int payloadBytes) {
    this.streams = streams;
    this.timeout = timeout;
    this.roundTrips = roundTrips;
    this.payloadBytes = payloadBytes;
  }

  void run(Transport proverOn, Transport verifierOn, String sessionId, String proverTicket, String verifierTicket, Report report)
      throws InterruptedException {
    String pairing = proverOn + " -> " + verifierOn;
    String name = "Session " + pairing;
    String sameNode = "Same node " + pairing;
    String fixBoth = proverOn == verifierOn ? proverOn.fix : proverOn.fix + "; " + verifierOn.fix;
    try (ProbeStream prover = streams.open(proverOn, sessionId); ProbeStream verifier = streams.open(verifierOn, sessionId)) {
      Boolean bridged;
      double[] rtt = new double[roundTrips];
      try {
        prover.join(proverTicket);
        Joined first = expect(prover, ServerMessage.KindCase.JOINED, "Joined for the prover").getJoined();
        verifier.join(verifierTicket);
        Joined second = expect(verifier, ServerMessage.KindCase.JOINED, "Joined for the verifier").getJoined();
        if (first.getPeerPresent() || !second.getPeerPresent()) {
          throw new ProbeStream.Failure("the two participants were not paired in order (prover told peer_present="
              + first.getPeerPresent() + ", verifier told peer_present=" + second.getPeerPresent()
              + "): is a stale participant or another probe using these tickets?");
        }
        boolean proverSees = expect(prover, ServerMessage.KindCase.PEER_JOINED, "PeerJoined for the prover").getPeerJoined().getBridged();
        bridged = proverSees || second.getBridged();
        for (int i = 0; i < roundTrips; i++) {
          rtt[i] = roundTrip(prover, verifier, i + 1);
        }
        prover.terminate("relay probe finished");
        for (ProbeStream p : new ProbeStream[] {prover, verifier}) {
          ServerMessage ended = expect(p, ServerMessage.KindCase.SESSION_ENDED, "SessionEnded for the " + (p == prover ? "prover" : "verifier"));
          if (ended.getSessionEnded().getReason() != EndReason.TERMINATED) {
            throw new ProbeStream.Failure("the session ended with " + ended.getSessionEnded().getReason() + " ("
                + ended.getSessionEnded().getMessage() + ") instead of TERMINATED");
          }
          ProbeStream.End end = p.awaitEnd(timeout);
          if (!end.clean()) {
            throw new ProbeStream.Failure("after SessionEnded the " + p.transport() + " stream closed with " + end.description()
                + " instead of a normal close");
          }
        }
      } catch (ProbeStream.Failure e) {
        report.add(Check.fail(name, e.getMessage(), fixBoth));
        report.add(Check.skip(sameNode, "no complete pairing to look at"));
        return;
      }
      double[] sorted = rtt.clone();
      Arrays.sort(sorted);
      report.add(Check.pass(name, String.format(Locale.ROOT,
          "paired, %d round trips of %d B intact and in order, terminated, both streams closed cleanly; RTT p50 %.2f ms, max %.2f ms",
          roundTrips, payloadBytes, sorted[sorted.length / 2], sorted[sorted.length - 1])));
      if (bridged) {
        report.add(Check.fail(sameNode, "the relay reports the prover (" + proverOn + ") and the verifier (" + verifierOn
            + ") on different relay nodes: every frame of this session crossed the cluster backplane (NATS)",
            misrouteFix(proverOn, verifierOn)));
      } else {
        report.add(Check.pass(sameNode, "both participants were served by one relay node"));
      }
    }
  }

  /** What makes two transports of one session land on different nodes behind Envoy. */
  static String misrouteFix(Transport a, Transport b) {
    boolean ws = a == Transport.WEBSOCKET || b == Transport.WEBSOCKET;
    boolean wsBoth = a == Transport.WEBSOCKET && b == Transport.WEBSOCKET;
    if (ws && !wsBoth) {
      return "make Envoy hash both clusters the same way: relay_grpc on the x-session-id header, relay_ws on the query"
          + " parameter session, and give every relay the same metadata envoy.lb hash_key in both clusters (envoy/README.md,"
          + " 'Consistent hashing'); if one probe target points at a single node, point --target and --web at the same edge";
    }
    return "hash every " + (wsBoth ? "/ws route on the query parameter session" : "relay.v1.RelayService route on the x-session-id header")
        + " with RING_HASH (envoy/README.md, 'Consistent hashing'); a session that is bridged on every try means the edge"
        + " does not keep a session on one node";
  }

  private double roundTrip(ProbeStream prover, ProbeStream verifier, long seq) throws ProbeStream.Failure, InterruptedException {
    byte[] payload = new byte[payloadBytes];
    random.nextBytes(payload);
    Frame out = Frame.newBuilder().setSeq(seq).setPayload(ByteString.copyFrom(payload)).build();
    long start = System.nanoTime();
    prover.send(out);
    Frame atVerifier = expect(verifier, ServerMessage.KindCase.DATA, "frame " + seq + " at the verifier").getData();
    if (atVerifier.getSeq() != seq || !atVerifier.getPayload().equals(out.getPayload())) {
      throw new ProbeStream.Failure("frame " + seq + " arrived at the verifier altered or out of order (seq " + atVerifier.getSeq() + ")");
    }
    verifier.send(atVerifier);
    Frame back = expect(prover, ServerMessage.KindCase.DATA, "frame " + seq + " back at the prover").getData();
    double ms = (System.nanoTime() - start) / 1e6;
    if (back.getSeq() != seq || !back.getPayload().equals(out.getPayload())) {
      throw new ProbeStream.Failure("frame " + seq + " came back to the prover altered or out of order (seq " + back.getSeq() + ")");
    }
    return ms;
  }

  private ServerMessage expect(ProbeStream s, ServerMessage.KindCase kind, String what) throws ProbeStream.Failure, InterruptedException {
    ServerMessage m;
    try {
      m = s.next(timeout);
    } catch (ProbeStream.Failure e) {
      throw new ProbeStream.Failure("waiting for " + what + ": " + e.getMessage());
    }
    if (m.getKindCase() != kind) {
      String detail = m.hasSessionEnded() ? m.getSessionEnded().getReason() + " " + m.getSessionEnded().getMessage() : m.getKindCase().toString();
      throw new ProbeStream.Failure("expected " + what + " on " + s.transport() + " but got " + detail);
    }
    return m;
  }
}
