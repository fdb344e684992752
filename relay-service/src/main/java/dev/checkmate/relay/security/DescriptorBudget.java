package dev.checkmate.relay.security;

import java.lang.management.ManagementFactory;
import java.lang.management.OperatingSystemMXBean;

/**
 * Sizes the relay's total connection cap (both client ports together) below the process's file
 * descriptor limit, so that however many connections clients open, the relay keeps descriptors for
 * its listening sockets, event loops, NATS, metrics scrapes, logs and class loading.
 *
 * @param descriptorLimit the process's limit (RLIMIT_NOFILE), or -1 where the JVM cannot tell
 * @param reserve descriptors kept back for the relay itself
 * @param connectionCap total client connections allowed; 0 = unlimited (limit unknown, none configured)
 */
public record DescriptorBudget(long descriptorLimit, long reserve, int connectionCap) {
  /** Descriptors kept back: a twentieth of the limit, at least 256 and at most 4,096. */
  static long reserveFor(long limit) {
    return Math.max(256, Math.min(4096, limit / 20));
  }

  /**
   * @param configuredCap {@code --max-connections}; 0 = derive from the descriptor limit
   */
  public static DescriptorBudget of(long descriptorLimit, int configuredCap) {
    if (descriptorLimit <= 0) {
      return new DescriptorBudget(-1, 0, Math.max(0, configuredCap));
    }
    long reserve = reserveFor(descriptorLimit);
    long derived = Math.max(16, descriptorLimit - reserve);
    long cap = configuredCap > 0 ? Math.min(configuredCap, derived) : derived;
    return new DescriptorBudget(descriptorLimit, reserve, (int) Math.min(Integer.MAX_VALUE, cap));
  }

  /** Reads this process's descriptor limit (Unix JVMs); -1 elsewhere. */
  public static long processDescriptorLimit() {
    OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
    if (os instanceof com.sun.management.UnixOperatingSystemMXBean unix) {
      return unix.getMaxFileDescriptorCount();
    }
    return -1;
  }

  /** Descriptors this process holds now (Unix JVMs); -1 elsewhere. */
  public static long openDescriptors() {
    OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
    if (os instanceof com.sun.management.UnixOperatingSystemMXBean unix) {
      return unix.getOpenFileDescriptorCount();
    }
    return -1;
  }

  public String describe() {
    if (descriptorLimit <= 0) {
      return "descriptor limit unknown; total connection cap " + (connectionCap > 0 ? connectionCap : "none");
    }
    return "descriptor limit " + descriptorLimit + ", " + reserve + " kept for the relay itself, total client connections capped at "
        + connectionCap;
  }
}
