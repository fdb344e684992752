package dev.checkmate.relay.session;

import dev.checkmate.relay.error.RelayError;
import dev.checkmate.relay.proto.v1.EndReason;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/** Counters the hub keeps for tests, benchmarks and telemetry. Labels are bounded enums only. */
public final class HubStats {
  final LongAdder framesRelayed = new LongAdder();
  final LongAdder bytesRelayed = new LongAdder();
  final LongAdder stalls = new LongAdder();
  final LongAdder paired = new LongAdder();
  private final Map<RelayError, LongAdder> rejections = new EnumMap<>(RelayError.class);
  private final Map<EndReason, LongAdder> outcomes = new EnumMap<>(EndReason.class);

  HubStats() {
    for (RelayError e : RelayError.values()) {
      rejections.put(e, new LongAdder());
    }
    for (EndReason r : EndReason.values()) {
      if (r != EndReason.UNRECOGNIZED) {
        outcomes.put(r, new LongAdder());
      }
    }
  }

  public void rejected(RelayError error) {
    rejections.get(error).increment();
  }

  void ended(EndReason reason) {
    outcomes.get(reason).increment();
  }

  public long framesRelayed() { return framesRelayed.sum(); }
  public long bytesRelayed() { return bytesRelayed.sum(); }
  public long stalls() { return stalls.sum(); }
  public long sessionsPaired() { return paired.sum(); }
  public long rejections(RelayError error) { return rejections.get(error).sum(); }
  public long outcomes(EndReason reason) { return outcomes.get(reason).sum(); }
}
