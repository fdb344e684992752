/**
 * Java client of a CheckMate relay: create a session, join it with a ticket, exchange ordered,
 * flow-controlled frames with the peer.
 *
 * <p>Start at {@link dev.checkmate.relay.client.RelayClient}. The public surface is that class,
 * {@link dev.checkmate.relay.client.RelaySession}, {@link dev.checkmate.relay.client.SessionListener},
 * the value types ({@link dev.checkmate.relay.client.SessionInvite}, {@link
 * dev.checkmate.relay.client.RelayLimits}, {@link dev.checkmate.relay.client.Role}, {@link
 * dev.checkmate.relay.client.EndReason}) and the {@link dev.checkmate.relay.client.RelayException}
 * family; everything else is package-private and may change.
 *
 * <h2>Resume</h2>
 * On by default ({@link dev.checkmate.relay.client.RelayClient.Builder#resume(boolean)}): a session
 * survives the loss of its stream (connection cut, relay node killed, "relay node lost; reconnect").
 * <ul>
 *   <li>Sending: every DATA frame (E2E handshake messages included) is kept, as sent (after
 *       sealing, with its seq), until the peer acknowledges it; at most {@code resumeBuffer} frames
 *       and bytes (default 1024 / 4 MiB), beyond which {@code send} futures wait: back-pressure and
 *       the memory bound in one.
 *   <li>Receiving: frames are de-duplicated by seq before anything else (before E2E open and the
 *       application); a frame ahead of the next expected one is dropped and taken when the peer
 *       resends in order. The highest in-order seq is acknowledged cumulatively
 *       ({@code ClientMessage.ack}), every 16 frames / 64 KiB or after 50 ms.
 *   <li>Loss (UNAVAILABLE, or CANCELLED not caused by this side): rejoin with the same ticket,
 *       jittered exponential backoff (full jitter, 100 ms doubling to 2 s), same target and then the
 *       next of {@link dev.checkmate.relay.client.RelayClient.Builder#targets}, within the grace
 *       window ({@code resumeGrace}, default 30 s, never beyond the relay's join deadline). After
 *       Joined: the current ack, then every unacknowledged frame in order, then new frames. The
 *       application sees no error; {@link dev.checkmate.relay.client.SessionListener#onReconnecting}
 *       and {@link dev.checkmate.relay.client.SessionListener#onResumed} report it. Grace exceeded:
 *       the session ends with {@link dev.checkmate.relay.client.RelayUnavailableException}. A refused
 *       rejoin (session ended meanwhile, ticket expired) ends it with the relay's error.
 *   <li>Peer: the relay sends {@code PeerLeft{reconnecting}} while the lost peer's role is reserved
 *       ({@link dev.checkmate.relay.client.SessionListener#onPeerReconnecting}); the session stays
 *       open and {@code PeerJoined} follows; this side then resends what is unacknowledged.
 *   <li>Not resumed: SessionEnded (terminate, timers, limits, RELAY_SHUTDOWN), ABORTED (the stream
 *       was replaced by a newer join with the same ticket), pinning failures, {@code close()}.
 *   <li>Sequence numbers continue across reconnects on both sides. A peer that rejoins by hand with
 *       a new {@link dev.checkmate.relay.client.RelaySession} numbers from 1 and a resuming peer
 *       drops that as duplicates: turn resume off on both sides for that style.
 * </ul>
 * Result: every frame reaches the peer's application exactly once and in order, with or without
 * end-to-end encryption (whose counters never see a duplicate) and with tracing
 * ({@code relay.client.reconnecting} / {@code relay.client.resumed} / {@code
 * relay.client.peer_reconnecting} events; each reconnect is its own Connect CLIENT span under the
 * session span).
 */
package dev.checkmate.relay.client;
