import assert from "node:assert/strict";
import { test } from "node:test";
import { EventQueue, fallbackDelayMs, type FrameScheduler } from "../../src/app/eventQueue";

/** Animation frames and timers the test fires by hand. */
class ManualScheduler implements FrameScheduler {
  frames = new Map<number, () => void>();
  timers = new Map<number, { callback: () => void; ms: number }>();
  private next = 1;
  requestFrame(callback: () => void): unknown {
    const id = this.next++;
    this.frames.set(id, callback);
    return id;
  }
  cancelFrame(handle: unknown): void {
    this.frames.delete(handle as number);
  }
  setTimeout(callback: () => void, ms: number): unknown {
    const id = this.next++;
    this.timers.set(id, { callback, ms });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }
  frame(): void {
    const due = [...this.frames.values()];
    this.frames.clear();
    for (const callback of due) callback();
  }
  timeout(): void {
    const due = [...this.timers.values()];
    this.timers.clear();
    for (const timer of due) timer.callback();
  }
}

test("events: delivered together once per animation frame, in arrival order", () => {
  const scheduler = new ManualScheduler();
  const batches: number[][] = [];
  const queue = new EventQueue<number>((items) => batches.push(items), scheduler);
  queue.push(1);
  queue.push(2);
  queue.push(3);
  assert.equal(scheduler.frames.size, 1, "one frame requested for the lot");
  assert.deepEqual(batches, []);
  scheduler.frame();
  assert.deepEqual(batches, [[1, 2, 3]]);
  assert.equal(scheduler.timers.size, 0, "the fallback timer is cancelled");
  queue.push(4);
  scheduler.frame();
  assert.deepEqual(batches, [[1, 2, 3], [4]]);
  scheduler.frame();
  assert.equal(batches.length, 2, "nothing waiting: nothing delivered");
});

test("events: flush delivers at once (before another action), and a hidden tab is served by the timer", () => {
  const scheduler = new ManualScheduler();
  const seen: string[] = [];
  const queue = new EventQueue<string>((items) => seen.push(...items), scheduler);
  queue.push("event 1");
  // The app's dispatch: what waits first, then the action.
  queue.flush();
  seen.push("action");
  assert.deepEqual(seen, ["event 1", "action"]);
  assert.equal(scheduler.frames.size + scheduler.timers.size, 0);
  queue.push("event 2");
  assert.deepEqual([...scheduler.timers.values()].map((timer) => timer.ms), [fallbackDelayMs]);
  scheduler.timeout(); // no animation frame came
  assert.deepEqual(seen, ["event 1", "action", "event 2"]);
  assert.equal(scheduler.frames.size, 0, "the frame request is cancelled");
  queue.push("dropped");
  queue.dispose();
  scheduler.frame();
  scheduler.timeout();
  assert.deepEqual(seen, ["event 1", "action", "event 2"]);
});
