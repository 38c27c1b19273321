/**
 * Batches keystrokes so a burst (a paste, key repeat) goes out as one
 * `send_terminal_data` — the gateway limits messages per second — while a
 * single key still goes out within a few milliseconds. Pure except for the
 * timer it is given.
 */
export class KeystrokeBatcher {
  private pending = "";
  private timer: unknown = null;

  constructor(
    private readonly flush: (data: string) => void,
    private readonly schedule: (callback: () => void, ms: number) => unknown,
    private readonly delayMs = 8,
    /** The protocol's limit for one message's data, with room for multi-byte text. */
    private readonly maxChars = 16_000,
  ) {}

  push(data: string): void {
    this.pending += data;
    if (this.pending.length >= this.maxChars) {
      this.drain();
      return;
    }
    if (this.timer === null) this.timer = this.schedule(() => this.drain(), this.delayMs);
  }

  drain(): void {
    this.timer = null;
    while (this.pending.length > 0) {
      const chunk = this.pending.slice(0, this.maxChars);
      this.pending = this.pending.slice(chunk.length);
      this.flush(chunk);
    }
  }
}
