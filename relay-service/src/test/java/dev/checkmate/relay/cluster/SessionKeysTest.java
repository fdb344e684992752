package dev.checkmate.relay.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import dev.checkmate.relay.proto.cluster.v1.SealedTicket;
import org.junit.jupiter.api.Test;

/** Proofs and sealed tickets hold only for the exact session key and statement they were made for. */
class SessionKeysTest {
  final SessionKeys keys = SessionKeys.of(SessionKeys.random(32));
  final SessionKeys otherSession = SessionKeys.of(SessionKeys.random(32));

  @Test
  void aSealedTicketOpensOnlyWithTheSameSessionKeyAndStatement() {
    SealedTicket sealed = keys.seal("the.ticket.jws", "bind", "sid", "node-x", "node-h", "0011");
    assertThat(keys.open(sealed, "bind", "sid", "node-x", "node-h", "0011")).isEqualTo("the.ticket.jws");
    assertThat(keys.open(sealed, "bind", "sid", "node-r", "node-h", "0011")).as("replayed by another node").isNull();
    assertThat(keys.open(sealed, "bind", "sid", "node-x", "node-h", "0022")).as("another binding").isNull();
    assertThat(keys.open(sealed, "terminate", "sid", "node-x", "node-h", "0011")).as("another purpose").isNull();
    assertThat(otherSession.open(sealed, "bind", "sid", "node-x", "node-h", "0011")).as("another session's key").isNull();
    byte[] ct = sealed.getCiphertext().toByteArray();
    ct[0] ^= 1;
    assertThat(keys.open(sealed.toBuilder().setCiphertext(ByteString.copyFrom(ct)).build(), "bind", "sid", "node-x", "node-h", "0011"))
        .as("tampered").isNull();
    assertThat(keys.open(SealedTicket.getDefaultInstance(), "bind", "sid", "node-x", "node-h", "0011")).as("missing").isNull();
  }

  @Test
  void aProofVerifiesOnlyForTheSameSessionKeyAndStatement() {
    ByteString proof = ByteString.copyFrom(keys.proof("claim", "sid", "node-a", "nonce", "true"));
    assertThat(keys.verify(proof, "claim", "sid", "node-a", "nonce", "true")).isTrue();
    assertThat(keys.verify(proof, "claim", "sid", "node-b", "nonce", "true")).isFalse();
    assertThat(keys.verify(proof, "claim", "sid", "node-a", "nonce", "false")).isFalse();
    assertThat(otherSession.verify(proof, "claim", "sid", "node-a", "nonce", "true")).isFalse();
    // Fields are length-prefixed: moving a boundary changes the statement.
    assertThat(keys.verify(proof, "claim", "sidnode-a", "", "nonce", "true")).isFalse();
    assertThat(keys.verify(ByteString.copyFrom(new byte[32]), "claim", "sid", "node-a", "nonce", "true")).isFalse();
  }

  @Test
  void ticketsWithoutASessionKeyHaveNoKeys() {
    assertThat(SessionKeys.of(null)).isNull();
    assertThat(SessionKeys.of(new byte[16])).isNull();
  }
}
