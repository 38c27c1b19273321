/** How long to wait before the next reconnect attempt. Pure. */
export interface BackoffPolicy {
  /** The first retry's delay. */
  initialMs: number;
  /** No delay grows beyond this. */
  maxMs: number;
  /** Each attempt waits this many times longer than the one before. */
  factor: number;
  /** ± this fraction of random spread, so many tabs do not reconnect in step. */
  jitter: number;
}

export const defaultBackoff: BackoffPolicy = { initialMs: 500, maxMs: 15_000, factor: 2, jitter: 0.2 };

/**
 * The delay before reconnect attempt `attempt` (1 for the first retry).
 * `random` returns a number in [0, 1).
 */
export function backoffDelay(attempt: number, policy: BackoffPolicy = defaultBackoff, random: () => number = Math.random): number {
  const exponent = Math.max(0, attempt - 1);
  const base = Math.min(policy.maxMs, policy.initialMs * Math.pow(policy.factor, exponent));
  const spread = base * policy.jitter * (random() * 2 - 1);
  return Math.max(0, Math.round(Math.min(policy.maxMs, base + spread)));
}
