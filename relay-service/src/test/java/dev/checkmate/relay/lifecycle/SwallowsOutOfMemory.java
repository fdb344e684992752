package dev.checkmate.relay.lifecycle;

import java.util.ArrayList;
import java.util.List;

/**
 * Test main: starts like the relay ({@link Relauncher} first), then allocates until the heap is
 * full and catches every {@link OutOfMemoryError} and goes on, as Netty's event loops and gRPC's
 * executors do. Only {@code -XX:+ExitOnOutOfMemoryError} ends it.
 */
public final class SwallowsOutOfMemory {
  private SwallowsOutOfMemory() {}

  public static void main(String[] args) throws Exception {
    Relauncher.ensureExitOnOutOfMemoryError(SwallowsOutOfMemory.class, args);
    System.out.println("jvm options " + java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments());
    System.out.println("allocating in pid " + ProcessHandle.current().pid());
    List<byte[]> hog = new ArrayList<>();
    long swallowed = 0;
    while (true) {
      try {
        hog.add(new byte[256 * 1024]);
      } catch (OutOfMemoryError e) {
        hog.clear();
        if (swallowed++ == 0) {
          System.out.println("swallowed an OutOfMemoryError");
        }
        Thread.sleep(10);
      }
    }
  }
}
