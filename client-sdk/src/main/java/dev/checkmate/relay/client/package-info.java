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
 * <h2>Resume and restarts</h2>
 * On by default ({@link dev.checkmate.relay.client.RelayClient.Builder#resume(boolean)}): a session
 * survives the loss of its stream (connection cut, relay node killed, "relay node lost;
 * reconnect"); the SDK rejoins with the same ticket and resends what the peer has not acknowledged,
 * and every frame reaches the peer's application exactly once and in order, or is reported lost by
 * count. A peer that restarts and joins again with its ticket (a new process or page: a new
 * incarnation) is reported once, in order with the frames, as a {@link
 * dev.checkmate.relay.client.PeerRestartedException}; both sides then start over (numbering,
 * end-to-end keys). The rules — sequence numbers, the ack policy, reconnecting, incarnations — are
 * written once, in docs/resume.md, and the browser SDK follows the same ones; the shared test cases
 * are in testvectors/resume-v1.json.
 *
 * <p>Inside, the session ({@code GrpcRelaySession}: the state machine and its one lock) drives small
 * parts with the same names as in the browser SDK: {@code ResumeBuffer}, {@code InboundSequencer}
 * (with the ack policy), {@code ReconnectPolicy}, {@code Outbound}, {@code FrameCodec} ({@code
 * PLAIN} or {@code E2eCodec}), {@code Delivery} ({@code BlockingInbox} or {@code ListenerDelivery})
 * and {@code ConnectAttempt}. Tracing reports {@code relay.client.reconnecting}, {@code
 * relay.client.resumed}, {@code relay.client.peer_reconnecting} and {@code
 * relay.client.peer_restarted} events; each reconnect is its own Connect CLIENT span under the
 * session span.
 */
package dev.checkmate.relay.client;
