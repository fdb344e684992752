package dev.checkmate.relay.telemetry;

/**
 * How much the audit log ({@code relay.audit}) says ({@code --audit-log}, {@code RELAY_AUDIT_LOG}).
 * Whatever the level, lines never carry a ticket, key, payload or session id (only its
 * {@link dev.checkmate.relay.security.SessionIdHash}), and they are written by a background thread from a bounded queue.
 */
public enum AuditLevel {
  /** No audit lines at all. */
  OFF,
  /**
   * The default: one {@code session_end} line per session (outcome, duration, both participants'
   * transports and addresses) and refusals, at most 20 lines per reason and second with a
   * "suppressed K similar" summary.
   */
  SESSIONS,
  /** {@link #SESSIONS} plus a line per participant stream opened, per join and per created session (debugging). */
  VERBOSE
}
