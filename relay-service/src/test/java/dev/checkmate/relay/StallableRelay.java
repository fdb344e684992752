package dev.checkmate.relay;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import picocli.CommandLine;

/**
 * Test main: the relay process exactly as {@link RelayMain} runs it, plus commands on standard
 * input that break one of the threads the watchdog watches (names as printed at start):
 * {@code block <name>} parks that thread in a task that never returns; {@code shutdown <name>}
 * shuts its executor down (the thread is gone and tasks are refused). It reaches the threads
 * through the package-private {@link RelayServer#watched}: production code has no such command.
 */
public final class StallableRelay {
  private StallableRelay() {}

  public static void main(String[] args) throws Exception {
    CommandLine cli = RelayMain.commandLine();
    cli.parseArgs(args);
    RelayMain main = cli.getCommand();
    System.exit(main.run(relay -> {
      System.out.println("watched: " + relay.watched.keySet());
      Thread commands = new Thread(() -> readCommands(relay), "stallable-relay-commands");
      commands.setDaemon(true);
      commands.start();
    }));
  }

  private static void readCommands(RelayServer relay) {
    try (BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
      String line;
      while ((line = in.readLine()) != null) {
        String[] cmd = line.strip().split(" ");
        Executor target = relay.watched.get(cmd[1]);
        switch (cmd[0]) {
          case "block" -> target.execute(StallableRelay::parkForever);
          case "shutdown" -> ((ExecutorService) target).shutdown();
          default -> throw new IllegalArgumentException(line);
        }
        System.out.println("done: " + line);
      }
    } catch (Exception e) {
      e.printStackTrace();
    }
    // The test that drives us is gone: do not outlive it.
    Runtime.getRuntime().halt(1);
  }

  private static void parkForever() {
    try {
      new CountDownLatch(1).await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
