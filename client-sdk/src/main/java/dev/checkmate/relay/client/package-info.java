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
 */
package dev.checkmate.relay.client;
