package dev.checkmate.relay.cluster;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * The part of the relay's configuration the cluster link works with, and nothing else. Built from
 * the one {@code RelayConfig} by {@code RelayConfig.clusterSettings()}. Its {@code toString} leaves
 * the NATS password and token out.
 *
 * @param nodeId this node's name (= its NATS user's)
 * @param natsUrls the NATS servers
 * @param natsCredentials this node's NATS credentials file
 * @param natsUser NATS user name, with {@code natsPassword}
 * @param natsPassword NATS password
 * @param natsToken NATS token
 * @param natsCaCertificate CA to trust for {@code tls://} servers
 * @param clusterHeartbeat heartbeat interval of a binding
 * @param clusterDeadAfter a binding silent this long is closed
 * @param clusterClaimSettle a home claim is re-announced after this and final after twice this
 * @param clusterLookupTimeout how long a lookup waits for a session's home
 * @param clusterWindowFrames credit per binding and direction, frames
 * @param clusterWindowBytes credit per binding and direction, bytes
 * @param joinDeadline how long a participant waits for its peer (and for a rejoin)
 * @param writeStallTimeout a bridged client that reads nothing this long is closed
 * @param maxFrameBytes largest frame payload
 * @param clusterHooks test hooks ({@link ClusterHooks#NONE} in production)
 */
public record ClusterSettings(
    String nodeId,
    List<String> natsUrls,
    Optional<Path> natsCredentials,
    Optional<String> natsUser,
    Optional<String> natsPassword,
    Optional<String> natsToken,
    Optional<Path> natsCaCertificate,
    Duration clusterHeartbeat,
    Duration clusterDeadAfter,
    Duration clusterClaimSettle,
    Duration clusterLookupTimeout,
    int clusterWindowFrames,
    int clusterWindowBytes,
    Duration joinDeadline,
    Duration writeStallTimeout,
    int maxFrameBytes,
    ClusterHooks clusterHooks) {

  public ClusterSettings {
    natsUrls = List.copyOf(natsUrls);
  }

  @Override
  public String toString() {
    return "ClusterSettings[nodeId=" + nodeId + ", natsUrls=" + natsUrls + "]";
  }
}
