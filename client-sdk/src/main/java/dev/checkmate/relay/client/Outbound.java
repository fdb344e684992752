package dev.checkmate.relay.client;

import com.google.protobuf.ByteString;
import dev.checkmate.relay.proto.v1.ClientMessage;
import dev.checkmate.relay.proto.v1.Frame;
import dev.checkmate.relay.proto.v1.Terminate;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * The sending side of a session: the application's payloads (and a Terminate behind them) waiting
 * in order, the end-to-end handshake messages that pass them, the numbering, and the {@link
 * ResumeBuffer} of what the peer has not acknowledged. Not thread-safe: the session calls it under
 * its lock; it writes only through the {@link Writer} it is handed. The browser SDK's {@code
 * Outbound} is the same.
 *
 * <p>Write order ({@link #drain}): frames to send again after a re-pairing (exact bytes, original
 * seq), then handshake messages, then queued payloads — each numbered and sealed only when written,
 * so sequence order is wire order, and only while the resume buffer has room (back-pressure) and
 * the codec can seal (DATA only after our CONFIRM).
 */
final class Outbound {
  private static final int MAX_TERMINATE_REASON_BYTES = 256;

  /** Where frames go: the live stream. */
  interface Writer {
    /** Whether the stream can take more now (HTTP/2 flow control). */
    boolean ready();

    void write(ClientMessage message);
  }

  /** A queued application payload or a Terminate. */
  private record Queued(byte[] payload, ClientMessage terminate, CompletableFuture<Void> sent) {}

  /** What {@link #drain} did: sends to complete, and a sealing failure that ends the session. */
  record Drained(List<CompletableFuture<Void>> written, EndToEndSecurityException sealFailure) {}

  /** What a peer restart dropped: frames lost, and the queued sends that fail with the restart. */
  record Dropped(int lostFrames, List<CompletableFuture<Void>> sends) {}

  private final ArrayDeque<Queued> queue = new ArrayDeque<>();
  private final ArrayDeque<byte[]> handshakes = new ArrayDeque<>();
  private final ResumeBuffer<ClientMessage> sent;
  private final FrameCodec codec;
  private long nextSeq = 1;
  private long resent;
  /** The Terminate written, until the session ends: written again on the next stream if this one breaks first. */
  private ClientMessage terminateWritten;

  Outbound(ResumeBuffer<ClientMessage> sent, FrameCodec codec) {
    this.sent = sent;
    this.codec = codec;
  }

  /** Queues an application payload; {@code future} completes once it is written. */
  void send(byte[] payload, CompletableFuture<Void> future) {
    queue.add(new Queued(payload, null, future));
  }

  /** Queues a Terminate behind everything queued before it. */
  void terminate(String reason) {
    queue.add(new Queued(null, terminateMessage(reason), null));
  }

  /** Handshake payloads (COMMIT, HELLO, CONFIRM) to write before any queued payload. */
  void handshake(List<byte[]> payloads) {
    handshakes.addAll(payloads);
  }

  /** The peer acknowledged our frames up to {@code seq}. */
  void onAck(long seq) {
    sent.onAck(seq);
  }

  /** After a re-pairing: every unacknowledged frame goes out again first. */
  void markResend() {
    sent.markResend();
  }

  /**
   * On a new stream after a lost one: a Terminate already written may have been lost with the old
   * stream (or between relay nodes) — the relay ended nothing, since the session resumed — so it is
   * written again, behind whatever is sent again. Terminating is idempotent at the relay.
   */
  void relinked() {
    if (terminateWritten != null && queue.stream().noneMatch(q -> q.terminate() != null)) {
      queue.add(new Queued(null, terminateWritten, null));
    }
  }

  /** Writes while {@code writer} is ready; completes nothing itself (the caller does, unlocked). */
  Drained drain(Writer writer, ClientTracing.SessionTrace trace) {
    List<CompletableFuture<Void>> written = new ArrayList<>();
    while (writer.ready()) {
      ClientMessage again = sent.nextResend();
      if (again != null) {
        writer.write(again);
        resent++;
        continue;
      }
      byte[] handshake = handshakes.poll();
      if (handshake != null) {
        writer.write(numbered(handshake, false, trace));
        continue;
      }
      Queued next = queue.peek();
      if (next == null) {
        break;
      }
      ClientMessage message = next.terminate();
      if (next.payload() != null) {
        if (!sent.hasRoom(next.payload().length + codec.overhead())) {
          break; // back-pressure: the send completes once acks make room
        }
        if (!codec.canSeal()) {
          break; // DATA waits until our CONFIRM is out; handshake replies still pass above
        }
        try {
          message = numbered(codec.seal(next.payload()), true, trace);
        } catch (EndToEndSecurityException e) {
          return new Drained(written, e);
        }
      }
      queue.poll();
      if (next.terminate() != null) {
        terminateWritten = message;
      }
      writer.write(message);
      if (next.sent() != null) {
        written.add(next.sent());
      }
    }
    return new Drained(written, null);
  }

  /** A DATA message with the next sequence number, kept until acknowledged. */
  private ClientMessage numbered(byte[] payload, boolean application, ClientTracing.SessionTrace trace) {
    long seq = nextSeq++;
    ClientMessage message = ClientMessage.newBuilder()
        .setData(Frame.newBuilder().setSeq(seq).setPayload(ByteString.copyFrom(payload))).build();
    sent.add(seq, message, payload.length, application);
    trace.sent(payload.length);
    return message;
  }

  /**
   * The peer restarted: what it never acknowledged and what is still queued is dropped and
   * counted, handshake messages of the old pairing too, and numbering starts at 1. A queued
   * Terminate stays.
   */
  Dropped restart() {
    int lost = sent.clear();
    List<CompletableFuture<Void>> sends = new ArrayList<>();
    for (Iterator<Queued> it = queue.iterator(); it.hasNext(); ) {
      Queued q = it.next();
      if (q.payload() != null) {
        it.remove();
        sends.add(q.sent());
      }
    }
    handshakes.clear();
    nextSeq = 1;
    return new Dropped(lost + sends.size(), sends);
  }

  /** The session ended: drops everything; returns the sends still waiting (they fail with the end). */
  List<CompletableFuture<Void>> clear() {
    List<CompletableFuture<Void>> waiting = new ArrayList<>();
    for (Queued q : queue) {
      if (q.sent() != null) {
        waiting.add(q.sent());
      }
    }
    queue.clear();
    handshakes.clear();
    sent.clear();
    return waiting;
  }

  /** Frames sent again after re-pairings (diagnostics). */
  long resent() {
    return resent;
  }

  static ClientMessage terminateMessage(String reason) {
    return ClientMessage.newBuilder().setTerminate(Terminate.newBuilder().setReason(truncate(reason))).build();
  }

  /** The relay refuses reasons over 256 UTF-8 bytes; cut on a character boundary instead. */
  static String truncate(String reason) {
    if (reason == null) {
      return "";
    }
    int bytes = 0;
    for (int i = 0; i < reason.length(); ) {
      int cp = reason.codePointAt(i);
      int len = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
      if (bytes + len > MAX_TERMINATE_REASON_BYTES) {
        return reason.substring(0, i);
      }
      bytes += len;
      i += Character.charCount(cp);
    }
    return reason;
  }
}
