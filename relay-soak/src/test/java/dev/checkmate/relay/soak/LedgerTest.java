package dev.checkmate.relay.soak;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The soak's accounting is only as good as its ledger: each anomaly is seen as what it is. */
class LedgerTest {
  private static List<byte[]> frames(Ledger sender, int n) {
    List<byte[]> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(sender.next(i % 3 == 0));
    }
    return out;
  }

  @Test
  void everyFrameOnceInOrderIsComplete() {
    Ledger l = new Ledger(7, Frames.Direction.PROVER_TO_VERIFIER);
    for (byte[] f : frames(l, 20)) {
      assertThat(l.delivered(f)).isEqualTo(Ledger.Verdict.IN_ORDER);
    }
    assertThat(l.complete()).isTrue();
    assertThat(l.lost() + l.duplicates() + l.reordered() + l.corrupt()).isZero();
  }

  @Test
  void aMissingFrameIsLostADuplicateAndALateOneAreCounted() {
    Ledger l = new Ledger(7, Frames.Direction.VERIFIER_TO_PROVER);
    List<byte[]> f = frames(l, 5);
    l.delivered(f.get(0));
    l.delivered(f.get(2));
    assertThat(l.delivered(f.get(2))).isEqualTo(Ledger.Verdict.DUPLICATE);
    assertThat(l.delivered(f.get(1))).isEqualTo(Ledger.Verdict.REORDERED);
    l.delivered(f.get(4));
    assertThat(l.complete()).isFalse();
    assertThat(l.lost()).isEqualTo(1);
    assertThat(l.duplicates()).isEqualTo(1);
    assertThat(l.reordered()).isEqualTo(1);
  }

  @Test
  void aChangedFrameOrOneOfAnotherSessionOrDirectionIsCorrupt() {
    Ledger l = new Ledger(7, Frames.Direction.PROVER_TO_VERIFIER);
    List<byte[]> f = frames(l, 3);
    byte[] changed = f.get(0).clone();
    changed[changed.length - 1] = (byte) (changed[changed.length - 1] == 'a' ? 'b' : 'a');
    assertThat(l.delivered(changed)).isEqualTo(Ledger.Verdict.CORRUPT);

    Ledger other = new Ledger(8, Frames.Direction.PROVER_TO_VERIFIER);
    assertThat(new Ledger(7, Frames.Direction.PROVER_TO_VERIFIER).delivered(other.next(false))).isEqualTo(Ledger.Verdict.CORRUPT);
    Ledger back = new Ledger(7, Frames.Direction.VERIFIER_TO_PROVER);
    assertThat(new Ledger(7, Frames.Direction.PROVER_TO_VERIFIER).delivered(back.next(false))).isEqualTo(Ledger.Verdict.CORRUPT);
    assertThat(l.delivered("not a frame".getBytes(StandardCharsets.US_ASCII))).isEqualTo(Ledger.Verdict.CORRUPT);
  }

  @Test
  void echoesOfAnotherLedgersFramesAreCheckedWithTheirPrefix() {
    Ledger sent = new Ledger(9, Frames.Direction.PROVER_TO_VERIFIER);
    Ledger echoes = new Ledger(9, Frames.Direction.PROVER_TO_VERIFIER, "echo:");
    for (byte[] f : frames(sent, 4)) {
      byte[] echo = ("echo:" + new String(f, StandardCharsets.US_ASCII)).getBytes(StandardCharsets.US_ASCII);
      assertThat(echoes.delivered(echo)).isEqualTo(Ledger.Verdict.IN_ORDER);
    }
    echoes.expect(sent.sent());
    assertThat(echoes.complete()).isTrue();
    assertThat(echoes.delivered(sent.next(false))).as("no prefix").isEqualTo(Ledger.Verdict.CORRUPT);
  }
}
