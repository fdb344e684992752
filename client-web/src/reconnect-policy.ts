/**
 * When and where to rejoin after this side's connection was lost: full-jitter exponential backoff
 * (a uniformly random delay in [0, min(2 s, 100 ms × 2^attempt)]), within a grace window that is
 * the configured one capped by the relay's join deadline, moving to the next target after each
 * failed attempt. Pure apart from the random source it is given. The Java SDK's ReconnectPolicy is
 * the same; both pass the `reconnect` cases of testvectors/resume-v1.json.
 */
export const BACKOFF_BASE_MS = 100;
export const BACKOFF_CAP_MS = 2000;

export class ReconnectPolicy {
  private windowMs = 0;
  private deadline = 0;
  private attemptCount = 0;
  private targetIndex = 0;

  /** `random`: uniform in [0, 1). */
  constructor(private readonly graceMs: number, private readonly random: () => number = Math.random) {}

  /** A loss: the window starts at `nowMs`; `joinDeadlineSeconds` is the relay's (0: unknown). */
  begin(nowMs: number, joinDeadlineSeconds: number): void {
    const deadlineMs = joinDeadlineSeconds > 0 ? joinDeadlineSeconds * 1000 : Infinity;
    this.windowMs = Math.min(this.graceMs, deadlineMs);
    this.deadline = nowMs + this.windowMs;
    this.attemptCount = 0;
  }

  /** The delay before the next attempt, in ms, or -1 once the window has passed (give up). */
  nextDelayMs(nowMs: number): number {
    const left = this.deadline - nowMs;
    if (left <= 0) return -1;
    const cap = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.min(this.attemptCount, 20));
    this.attemptCount++;
    return Math.min(Math.floor(this.random() * (cap + 1)), Math.floor(left));
  }

  /** An attempt failed before the relay answered Joined: the next one goes to the next target. */
  attemptFailed(): void {
    this.targetIndex++;
  }

  /** The index of the target for the next attempt (modulo the number of targets). */
  get target(): number {
    return this.targetIndex;
  }

  get attempts(): number {
    return this.attemptCount;
  }

  /** How long the current window lasts. */
  get window(): number {
    return this.windowMs;
  }
}
