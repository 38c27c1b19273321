/**
 * Hands server events to the reducers once per animation frame instead of
 * once per WebSocket message. While coders write, `llm_stream` frames come
 * every 25 ms per agent, several agents at once, with `agent_update` and
 * `token_usage` between them; a render costs about the same whether it
 * carries one event or ten, so the page renders at most once per frame.
 *
 * Order is kept: `flush()` delivers what waits synchronously, and the app
 * calls it before any other action (an intent, a connection change), so no
 * action overtakes an event that arrived before it. A hidden tab gets no
 * animation frames; a timer delivers there instead.
 */
export interface FrameScheduler {
  requestFrame(callback: () => void): unknown;
  cancelFrame(handle: unknown): void;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const browserScheduler: FrameScheduler = {
  requestFrame: (callback) => window.requestAnimationFrame(() => callback()),
  cancelFrame: (handle) => window.cancelAnimationFrame(handle as number),
  setTimeout: (callback, ms) => window.setTimeout(callback, ms),
  clearTimeout: (handle) => window.clearTimeout(handle as number),
};

/** The longest an event waits when no animation frame comes (a hidden tab). */
export const fallbackDelayMs = 100;

export class EventQueue<T> {
  private waiting: T[] = [];
  private frame: unknown = null;
  private timer: unknown = null;

  constructor(
    private readonly deliver: (items: T[]) => void,
    private readonly scheduler: FrameScheduler = browserScheduler,
  ) {}

  /** Events waiting for the next frame. */
  get size(): number {
    return this.waiting.length;
  }

  push(item: T): void {
    this.waiting.push(item);
    if (this.frame === null) this.frame = this.scheduler.requestFrame(() => this.flush());
    if (this.timer === null) this.timer = this.scheduler.setTimeout(() => this.flush(), fallbackDelayMs);
  }

  /** Delivers everything waiting now, in arrival order. */
  flush(): void {
    if (this.frame !== null) this.scheduler.cancelFrame(this.frame);
    if (this.timer !== null) this.scheduler.clearTimeout(this.timer);
    this.frame = null;
    this.timer = null;
    if (this.waiting.length === 0) return;
    const items = this.waiting;
    this.waiting = [];
    this.deliver(items);
  }

  /** Drops what waits and stops the timers (the app unmounts). */
  dispose(): void {
    if (this.frame !== null) this.scheduler.cancelFrame(this.frame);
    if (this.timer !== null) this.scheduler.clearTimeout(this.timer);
    this.frame = null;
    this.timer = null;
    this.waiting = [];
  }
}
