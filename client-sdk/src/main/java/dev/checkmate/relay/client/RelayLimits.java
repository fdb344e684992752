package dev.checkmate.relay.client;

import dev.checkmate.relay.proto.v1.Limits;
import java.time.Duration;

/**
 * The limits a relay enforces on every participant of a session, as it announced them in
 * {@link SessionInvite#limits()} and {@link RelaySession#limits()}.
 *
 * @param maxFrameBytes largest payload one {@link RelaySession#send(byte[])} may carry
 * @param maxFramesPerSecond sustained frames per second per participant (burst: one second's worth)
 * @param maxBytesPerSecond sustained payload bytes per second per participant (same burst)
 * @param joinDeadline how long a joined participant waits for its peer
 * @param idleTimeout a paired session with no frame for this long ends
 * @param rendezvousMaxFrames frames the relay holds for a peer that has not joined yet, per sender
 * @param rendezvousMaxBytes bytes the relay holds for a peer that has not joined yet, per sender
 */
public record RelayLimits(
    int maxFrameBytes,
    int maxFramesPerSecond,
    long maxBytesPerSecond,
    Duration joinDeadline,
    Duration idleTimeout,
    int rendezvousMaxFrames,
    int rendezvousMaxBytes) {

  static RelayLimits fromProto(Limits l) {
    // uint32 fields arrive as signed ints; toUnsigned keeps huge values from turning negative.
    return new RelayLimits(
        clamp(Integer.toUnsignedLong(l.getMaxFrameBytes())),
        clamp(Integer.toUnsignedLong(l.getMaxFramesPerSecond())),
        l.getMaxBytesPerSecond() < 0 ? Long.MAX_VALUE : l.getMaxBytesPerSecond(),
        Duration.ofSeconds(Integer.toUnsignedLong(l.getJoinDeadlineSeconds())),
        Duration.ofSeconds(Integer.toUnsignedLong(l.getIdleTimeoutSeconds())),
        clamp(Integer.toUnsignedLong(l.getRendezvousMaxFrames())),
        clamp(Integer.toUnsignedLong(l.getRendezvousMaxBytes())));
  }

  private static int clamp(long v) {
    return (int) Math.min(v, Integer.MAX_VALUE);
  }
}
