package dev.checkmate.relay.security;

import java.net.InetAddress;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One warning per ten seconds at most about connections refused at accept on a port, with the
 * count since the last one: a flood is visible in the log without the log becoming the flood.
 */
public final class RefusalLog {
  private static final Logger log = LoggerFactory.getLogger(RefusalLog.class);
  private static final long EVERY_NANOS = TimeUnit.SECONDS.toNanos(10);

  private final String port;
  private final AtomicLong lastWarnNanos = new AtomicLong(System.nanoTime() - EVERY_NANOS);
  private final LongAdder sinceLast = new LongAdder();

  public RefusalLog(String port) {
    this.port = port;
  }

  public void refused(InetAddress address, ConnectionLimiter.Refusal why) {
    sinceLast.increment();
    long now = System.nanoTime();
    long last = lastWarnNanos.get();
    if (now - last >= EVERY_NANOS && lastWarnNanos.compareAndSet(last, now)) {
      long n = sinceLast.sumThenReset();
      if (why == ConnectionLimiter.Refusal.PER_ADDRESS) {
        log.warn("{} port: refusing connections at accept, e.g. from {} (per-address connection cap, "
            + "--max-connections-per-address); {} refused in the last interval", port, address.getHostAddress(), n);
      } else {
        log.warn("{} port: refusing connections at accept: total connection cap reached (--max-connections, "
            + "sized below the descriptor limit); {} refused in the last interval", port, n);
      }
    }
  }
}
