package dev.checkmate.relay.session;

import java.time.Duration;

/**
 * The part of the relay's configuration the session hub works with, and nothing else: deadlines,
 * the frame size, the per-participant rates and the rendezvous buffer. Built from the one
 * {@code RelayConfig} by {@code RelayConfig.sessionSettings()}.
 *
 * @param joinDeadline how long a participant waits for its peer (and for a rejoin)
 * @param idleTimeout a paired session with no frame in either direction this long ends
 * @param writeStallTimeout a participant that reads nothing the relay sends this long is closed
 * @param clockSkew how long after its tickets expire an ended session's id is still remembered
 * @param maxFrameBytes largest payload
 * @param maxFramesPerSecond frames per participant and second (burst of one second)
 * @param maxBytesPerSecond payload bytes per participant and second (burst of one second)
 * @param rendezvousMaxFrames frames held per sender until the peer joins
 * @param rendezvousMaxBytes bytes held per sender until the peer joins
 */
public record SessionSettings(
    Duration joinDeadline,
    Duration idleTimeout,
    Duration writeStallTimeout,
    Duration clockSkew,
    int maxFrameBytes,
    int maxFramesPerSecond,
    long maxBytesPerSecond,
    int rendezvousMaxFrames,
    int rendezvousMaxBytes) {}
