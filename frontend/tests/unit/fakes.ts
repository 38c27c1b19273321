import type { ServerEvent } from "../../src/protocol";
import type { SocketLike, Timers } from "../../src/lib/connection/types";

/** A socket the test drives: it records what the client sent and delivers frames on demand. */
export class FakeSocket implements SocketLike {
  readyState = 0;
  sent: { type: string; id?: string; payload: Record<string, unknown> }[] = [];
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  closed = false;

  constructor(readonly url: string) {}

  send(data: string): void {
    if (this.readyState !== 1) throw new Error("send on a socket that is not open");
    this.sent.push(JSON.parse(data));
  }
  close(): void {
    this.closed = true;
  }
  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }
  deliver(frame: ServerEvent | Record<string, unknown>): void {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }
  drop(code = 1006, reason = ""): void {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
  last(type: string) {
    return [...this.sent].reverse().find((frame) => frame.type === type);
  }
  /** Answers the client's hello with a welcome. */
  welcome(): void {
    const hello = this.last("hello");
    if (hello === undefined) throw new Error("no hello sent");
    this.deliver({
      type: "welcome",
      replyTo: hello.id,
      payload: { userId: "u1", userName: "dev", serverVersion: "t", protocolVersion: "1", features: [], demoModel: true },
    });
  }
}

/** Timers the test advances by hand. */
export class FakeTimers implements Timers {
  time = 1_000;
  private next = 1;
  private readonly pending = new Map<number, { at: number; callback: () => void }>();

  now(): number {
    return this.time;
  }
  setTimeout(callback: () => void, ms: number): unknown {
    const id = this.next++;
    this.pending.set(id, { at: this.time + ms, callback });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }
  advance(ms: number): void {
    const until = this.time + ms;
    for (;;) {
      const due = [...this.pending.entries()].filter(([, timer]) => timer.at <= until).sort((a, b) => a[1].at - b[1].at)[0];
      if (due === undefined) break;
      this.pending.delete(due[0]);
      this.time = due[1].at;
      due[1].callback();
    }
    this.time = until;
  }
}

export const flush = () => new Promise<void>((resolve) => setTimeout(resolve, 0));
