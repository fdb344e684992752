package dev.checkmate.relay.soak;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * Everything a soak run is made of. {@link #full()} is the documented 10-minute run's shape,
 * {@link #quick()} the short one {@code mvn verify} runs; the CLI ({@link SoakMain}) changes any
 * field. Mutable while being set up, then only read.
 */
final class SoakConfig {
  Duration duration = Duration.ofMinutes(10);
  /** Concurrent sessions (each ended session is replaced). */
  int sessions = 1000;
  long seed = System.currentTimeMillis();
  int relays = 3;
  int natsServers = 3;
  /** 1, or 2: NATS clusters joined by gateways, the last relay alone in the second region. */
  int regions = 1;

  /** Share of participants on each wire (the rest of 1 after gRPC and WebSocket is gRPC-Web). */
  double grpcShare = 0.4;
  double webSocketShare = 0.4;
  /** Real Chromium pages open at any time (each the verifier of a session with a Java prover). */
  int chromiumPages = 2;
  /** Sessions whose participants join different relays. */
  double crossNodeShare = 0.5;
  /** Participants that connect through the cutting proxies. */
  double proxiedShare = 0.15;
  /** Cross-node sessions whose two participants join at the same moment (a home claim race). */
  double simultaneousJoinShare = 0.1;

  /**
   * Frames per second each participant sends. The 10-minute run's 0.2 (one frame every 5 s, plus
   * bursts) with 20-120 s sessions is what 1,000 sessions cost on a shared 2-core machine with the
   * whole cluster, the clients and Chromium on it; raise both on a bigger one.
   */
  double framesPerSecond = 0.2;
  /** Chance per participant and second of a burst. */
  double burstChance = 0.02;
  int burstFrames = 20;
  double slowReaderShare = 0.02;
  int slowReaderMillis = 150;
  int minSessionSeconds = 20;
  int maxSessionSeconds = 120;

  Set<Fault.Kind> faults = EnumSet.allOf(Fault.Kind.class);
  /** Mean time between faults (the schedule is random, seeded; every enabled kind occurs at least once). */
  Duration faultInterval = Duration.ofSeconds(25);
  /** A relay's --drain-seconds (how long a SIGTERM'd relay lets sessions finish). */
  int drainSeconds = 5;
  /** Sessions are given this much time to deliver everything after their last frame. */
  Duration deliveryTimeout = Duration.ofSeconds(60);
  /** Sessions run this long before the baseline is measured; faults start after it. */
  Duration warmup = Duration.ofSeconds(20);

  List<String> relayJvmArgs = List.of("-Xms256m", "-Xmx256m", "-XX:+UseG1GC");
  Path workDir;
  Path clientWeb;

  static SoakConfig full() {
    return new SoakConfig();
  }

  /** The short run of {@code mvn verify}: the same faults, fewer sessions, 60 s of load. */
  static SoakConfig quick() {
    SoakConfig c = new SoakConfig();
    c.duration = Duration.ofSeconds(60);
    c.sessions = 40;
    c.chromiumPages = 1;
    c.framesPerSecond = 2;
    c.minSessionSeconds = 4;
    c.maxSessionSeconds = 20;
    c.faultInterval = Duration.ofSeconds(7);
    c.drainSeconds = 3;
    c.warmup = Duration.ofSeconds(8);
    c.deliveryTimeout = Duration.ofSeconds(25);
    c.relayJvmArgs = List.of("-Xms128m", "-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1");
    return c;
  }

  int natsServers() {
    return natsServers;
  }

  int regions() {
    return regions;
  }

  int relays() {
    return relays;
  }

  List<String> relayJvmArgs() {
    return relayJvmArgs;
  }

  /**
   * The relay flags of every node (besides the cluster's). Limits per client address are raised:
   * every honest participant here shares 127.0.0.1, where in production each has its own address.
   * The flood comes from 127.0.0.2.
   */
  List<String> relayArgs() {
    List<String> a = new ArrayList<>(List.of(
        "--drain-seconds", Integer.toString(drainSeconds),
        "--max-streams-per-address", "20000",
        "--max-connections-per-address", "10000",
        "--max-join-attempts-per-second", "5000"));
    if (clientWeb != null) {
      a.addAll(List.of("--dev-static-dir", clientWeb.resolve("www").toString()));
    }
    return a;
  }

  String describe() {
    return String.format(
        "duration %s, %d concurrent sessions, seed %d, %d relays, %d nats-servers, %d region(s); participants %.0f%% gRPC (Java SDK), "
            + "%.0f%% WebSocket, %.0f%% gRPC-Web (browser SDK in Node.js), %d Chromium page(s); %.0f%% of sessions cross-node, "
            + "%.0f%% of participants through cutting proxies; %.1f frames/s per participant, bursts of %d (%.0f%%/s), "
            + "%.0f%% slow readers (%d ms/frame); sessions %d-%d s; faults %s every ~%d s; relay drain %d s; relay JVM %s",
        duration, sessions, seed, relays, natsServers, regions, grpcShare * 100, webSocketShare * 100,
        (1 - grpcShare - webSocketShare) * 100, chromiumPages, crossNodeShare * 100, proxiedShare * 100, framesPerSecond,
        burstFrames, burstChance * 100, slowReaderShare * 100, slowReaderMillis, minSessionSeconds, maxSessionSeconds,
        faults, faultInterval.toSeconds(), drainSeconds, String.join(" ", relayJvmArgs));
  }
}
