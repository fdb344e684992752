/**
 * Fail fast, never wedge: the relay process ends (so an orchestrator replaces it) when it cannot go
 * on, and health says NOT_SERVING as soon as something looks stuck. {@link
 * dev.checkmate.relay.lifecycle.Relauncher} makes sure the JVM exits on an OutOfMemoryError however
 * it was started; {@link dev.checkmate.relay.lifecycle.Watchdog} notices stalled or dead event loops,
 * the timer thread and the session sweep; {@link dev.checkmate.relay.lifecycle.FailFast} ends the
 * process with a documented exit code. Design, options compared and exit codes: docs/fail-fast.md.
 */
package dev.checkmate.relay.lifecycle;
