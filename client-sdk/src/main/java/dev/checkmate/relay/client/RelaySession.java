package dev.checkmate.relay.client;

import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;

/**
 * One participant's live stream in a session, obtained from {@link RelayClient#join(String)} (the
 * blocking style: {@link #receive}, {@link #frames()}) or {@link RelayClient#join(String,
 * SessionListener)} (the callback style). Thread-safe.
 *
 * <h2>Ordering and sequence numbers</h2>
 * Frames are numbered from 1 in the order {@link #send} is called and arrive at the peer in that
 * order, each exactly once. With resume (the default, {@link RelayClient.Builder#resume}) the
 * numbering continues across reconnects of either side, and frames the relay delivers twice or
 * ahead of a retransmission are dropped by sequence number before anything else sees them. With
 * resume off, incoming frames must arrive with consecutive numbers; a gap or a repeat ends the
 * session with {@link ProtocolViolationException}.
 *
 * <h2>Peer restarts</h2>
 * A peer that restarts (a new process, a reloaded page, a new session object) and joins again with
 * its ticket is a new incarnation of the peer: it remembers nothing. Both sides then start over
 * (numbering, end-to-end keys), and this side reports it once, in order with the frames, as a
 * {@link PeerRestartedException} carrying how many of its frames were lost: {@link #receive}
 * throws it once, a listener gets {@link SessionListener#onPeerRestarted}. Frames of the two
 * incarnations are never mixed silently. docs/resume.md has the rules.
 *
 * <h2>Back-pressure</h2>
 * Sending: {@link #send} queues the frame and returns a future that completes once the frame has
 * been handed to the stream, which happens only while the relay can take more (the gRPC stream is
 * ready). A peer that stops reading therefore stops the futures from completing after a bounded
 * number of bytes: its receive queue, both HTTP/2 flow-control windows and the relay's per-stream
 * buffer. With resume, a frame also stays in memory (as sent) until the peer acknowledges it, and
 * no new frame is written while {@link RelayClient.Builder#resumeBuffer} frames or bytes are
 * unacknowledged: the futures wait for the peer's acks, which bounds that memory too. Wait for the
 * future (or use {@link #sendBlocking}) to respect it; frames queued without waiting are held in
 * memory without limit.
 *
 * <p>Receiving: the SDK asks the relay for the next frame only when the application has taken one.
 * In the blocking style at most {@link RelayClient.Builder#receiveQueueFrames(int)} frames (default
 * 16) wait in memory, plus what the connection's HTTP/2 window holds ({@link
 * RelayClient.Builder#flowControlWindow(int)}, default 1 MiB). In the callback style the next frame
 * is requested after {@link SessionListener#onFrame} returns, so a slow callback slows the peer.
 *
 * <h2>End</h2>
 * Once the session ends (the peer or this side terminated it, a timer fired, the stream broke),
 * frames already received can still be read, then {@link #receive} throws the {@link
 * RelayException} that describes the end, {@link #send} futures fail with it, and the listener's
 * {@link SessionListener#onEnded} is called once.
 */
public interface RelaySession extends AutoCloseable {

  /** The session id from the relay's Joined message. */
  String sessionId();

  /** The role this stream holds. */
  Role role();

  /** When the session expires. */
  Instant expiresAt();

  /** The limits the relay enforces on this participant. */
  RelayLimits limits();

  /** Whether the peer's stream is live right now (set by Joined, PeerJoined and PeerLeft). */
  boolean peerPresent();

  /** Whether the session is still open on this side (no end seen, not closed). */
  boolean isOpen();

  /**
   * Waits until the peer is present.
   *
   * @return {@code true} when the peer is present, {@code false} when {@code timeout} passed first
   * @throws RelayException if the session ended while waiting
   */
  boolean awaitPeer(Duration timeout) throws InterruptedException;

  /**
   * Whether this session took over its role from an earlier incarnation of itself: another process
   * (or session object) had joined with the same ticket before. The peer treats this one as new
   * (fresh numbering, new end-to-end keys, a {@link PeerRestartedException} on its side), and
   * whatever the earlier one sent without the peer acknowledging it is lost.
   */
  default boolean rejoinedAfterRestart() {
    return false;
  }

  /**
   * Whether the SDK is resuming this session right now: its stream was lost and it is rejoining
   * (see "Resume" in {@link RelayClient.Builder#resume}). Sends queue up meanwhile; nothing fails
   * unless the grace window passes.
   */
  default boolean isReconnecting() {
    return false;
  }

  /** Whether this session was joined with end-to-end encryption ({@link JoinOptions#endToEnd}). */
  default boolean endToEndEncrypted() {
    return false;
  }

  /**
   * Waits until the end-to-end handshake has completed and the peer's key confirmation verified:
   * from then on frames from the peer are known to come from whoever holds the same keys. With a
   * pairing secret that is the invited peer; without one, compare {@link
   * #shortAuthenticationString()} with the peer's first. Frames may be sent before this returns
   * (they are sealed as soon as the keys exist).
   *
   * @return {@code true} when secure, {@code false} when {@code timeout} passed first
   * @throws EndToEndSecurityException if the handshake failed; another {@link RelayException} if
   *     the session ended while waiting
   * @throws IllegalStateException if the session was joined without end-to-end encryption
   */
  default boolean awaitSecure(Duration timeout) throws InterruptedException {
    throw new IllegalStateException("this session was joined without end-to-end encryption");
  }

  /**
   * The 6-digit short authentication string of the end-to-end handshake (e.g. {@code "322197"}),
   * once {@link #awaitSecure} succeeded; empty before, and without end-to-end encryption. Both
   * participants see the same value exactly when no one sits in the middle: without a pairing
   * secret, users must compare it before trusting the channel.
   */
  default java.util.Optional<String> shortAuthenticationString() {
    return java.util.Optional.empty();
  }

  /**
   * Queues one frame for the peer. Never blocks.
   *
   * @param payload opaque bytes, at most {@link RelayLimits#maxFrameBytes()} (minus 28 bytes with
   *     end-to-end encryption, which seals it when it is written); the array is copied
   * @return completes when the frame has been handed to the relay stream (see back-pressure above),
   *     or fails with the {@link RelayException} that ended the session; runs dependent stages on a
   *     gRPC thread, so use the {@code *Async} variants for anything slow
   * @throws IllegalArgumentException if the payload exceeds the relay's frame limit (sending it
   *     would make the relay end the session)
   */
  CompletableFuture<Void> send(byte[] payload);

  /** {@link #send} and wait until the relay can take the frame. */
  void sendBlocking(byte[] payload) throws InterruptedException;

  /**
   * The next frame from the peer (blocking style only).
   *
   * @return the payload, or {@code null} if none arrived within {@code timeout}
   * @throws PeerRestartedException once, where the peer restarted (frames of its previous
   *     incarnation come before, of the new one after); catch it to go on
   * @throws RelayException once the session has ended and every received frame has been read
   * @throws IllegalStateException in the callback style
   */
  byte[] receive(Duration timeout) throws InterruptedException;

  /** {@link #receive(Duration)} without a timeout: waits for the next frame or the session end. */
  byte[] receive() throws InterruptedException;

  /**
   * The peer's frames as a lazy, blocking stream (blocking style only). The stream ends normally
   * when the session is {@link EndReason#TERMINATED}; any other end, and a peer restart, throws its
   * {@link RelayException} from the stream operation. Interrupting the reading thread ends it with a
   * {@link RelayException} of code CANCELLED.
   */
  Stream<byte[]> frames();

  /**
   * Ends the session for both participants with {@code reason} (at most 256 UTF-8 bytes), after
   * the frames already queued by {@link #send}. Waits up to the client's call timeout for the relay
   * to confirm. Does nothing if the session has already ended.
   */
  void terminate(String reason) throws InterruptedException;

  /**
   * Releases the stream. If the session is still open this drops the stream without ending the
   * session (the peer sees PeerLeft and the role stays reserved for this ticket until the join
   * deadline); call {@link #terminate} first to end it for both.
   */
  @Override
  void close();
}
