package dev.checkmate.relay.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import dev.checkmate.relay.proto.v1.ServerMessage;
import dev.checkmate.relay.testing.TestPeer;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;

/**
 * A running {@link dev.checkmate.relay.testing.HashChain} over a stream of payloads, with the cluster
 * tests' send and expect helpers: sender and receiver each fold what they sent / received, and equal
 * digests mean every frame arrived exactly once, in order, unmodified.
 */
final class HashChain {
  private byte[] digest = dev.checkmate.relay.testing.HashChain.start();
  private int count;

  void add(byte[] payload) {
    digest = dev.checkmate.relay.testing.HashChain.fold(digest, payload);
    count++;
  }

  int count() {
    return count;
  }

  String hex() {
    return HexFormat.of().formatHex(digest);
  }

  /** Sends {@code n} numbered frames tagged {@code tag} and folds them into this chain. */
  void send(TestPeer peer, String tag, int from, int to) {
    for (int i = from; i <= to; i++) {
      byte[] p = (tag + " " + i).getBytes(StandardCharsets.UTF_8);
      peer.sendData(p);
      add(p);
    }
  }

  /** Receives {@code n} frames (skipping control messages) into a fresh chain and checks it equals {@code sent}. */
  static void expect(TestPeer peer, HashChain sent) throws InterruptedException {
    HashChain got = new HashChain();
    while (got.count() < sent.count()) {
      ServerMessage m = ClusterIT.skipTo(peer, ServerMessage.KindCase.DATA);
      got.add(m.getData().getPayload().toByteArray());
    }
    assertThat(got.hex()).as("hash chain over %d frames", sent.count()).isEqualTo(sent.hex());
  }

  /** Nothing more (no duplicate) arrives within {@code millis}. */
  static void expectNoMoreData(TestPeer peer, long millis) throws InterruptedException {
    long deadline = System.nanoTime() + millis * 1_000_000;
    while (System.nanoTime() < deadline) {
      ServerMessage m = peer.received.poll(10, java.util.concurrent.TimeUnit.MILLISECONDS);
      assertThat(m == null || !m.hasData()).as("no frame after the expected ones: %s", m).isTrue();
    }
  }
}
