package dev.checkmate.relay.client;

import java.io.BufferedOutputStream;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * A prover in a process of its own (relay-service's JvmProcess fixture starts it), for tests that
 * kill it with kill -9 and start another with the same ticket (ProverRestartProcessIT). Uses only the SDK's public API. Reports on stdout, one
 * line per event, flushed at once so nothing is lost when it is killed:
 * {@code JOINED <rejoinedAfterRestart>}, {@code SECURE}, {@code RECV <payload>} (after the frame was
 * taken), {@code RESTART <lostFrames> <framesFromPreviousPeer>}, {@code SENT <i>} (after
 * sendBlocking returned), {@code END <exception class>}.
 *
 * <p>Arguments: {@code <target> <ticket> <label> <frames> <pause ms> [<pairing secret, base64url>]}.
 * It sends {@code <label>-1}, {@code <label>-2}, ... (see {@link #payload}), reads until the session
 * ends, and exits 0.
 */
public final class ProverProcess {
  private ProverProcess() {}

  /** Frame {@code i} of a prover or verifier stream: its label and index, padded to vary the size. */
  static String payload(String label, long i) {
    return label + "-" + i + " " + "x".repeat((int) (i % 61));
  }

  public static void main(String[] args) throws Exception {
    // Buffered and flushed per line: each line leaves in one write, whole, even between log lines.
    PrintStream out = new PrintStream(new BufferedOutputStream(new FileOutputStream(FileDescriptor.out), 1 << 16),
        true, StandardCharsets.UTF_8);
    String target = args[0];
    String ticket = args[1];
    String label = args[2];
    long frames = Long.parseLong(args[3]);
    long pauseMillis = Long.parseLong(args[4]);
    JoinOptions options = args.length > 5 ? JoinOptions.endToEnd(JoinOptions.decodePairingSecret(args[5]))
        : JoinOptions.defaults();
    try (RelayClient client = RelayClient.builder().target(target).usePlaintext().build()) {
      RelaySession session = client.join(ticket, options);
      out.println("JOINED " + session.rejoinedAfterRestart());
      if (session.endToEndEncrypted()) {
        session.awaitSecure(Duration.ofSeconds(30));
        out.println("SECURE");
      }
      Thread reader = new Thread(() -> read(session, out), "prover-reader");
      reader.start();
      for (long i = 1; i <= frames; i++) {
        session.sendBlocking(payload(label, i).getBytes(StandardCharsets.UTF_8));
        out.println("SENT " + i);
        if (pauseMillis > 0) {
          Thread.sleep(pauseMillis);
        }
      }
      reader.join();
    }
    System.exit(0);
  }

  private static void read(RelaySession session, PrintStream out) {
    while (true) {
      try {
        byte[] frame = session.receive();
        out.println("RECV " + new String(frame, StandardCharsets.UTF_8));
      } catch (PeerRestartedException e) {
        out.println("RESTART " + e.lostFrames() + " " + e.framesFromPreviousPeer());
      } catch (RelayException e) {
        out.println("END " + e.getClass().getSimpleName());
        return;
      } catch (InterruptedException e) {
        return;
      }
    }
  }
}
