import type { ServerEvent, WelcomeEvent } from "../../protocol";
import { PROTOCOL_VERSION } from "../../protocol";
import { backoffDelay, defaultBackoff, type BackoffPolicy } from "./backoff";
import {
  RequestFailure,
  type ConnectionSnapshot,
  type ConnectionStatus,
  type EventPayloads,
  type EventType,
  type PayloadOf,
  type RequestType,
  type SocketLike,
  type Timers,
} from "./types";

export interface ConnectionOptions {
  /** Opens a socket; the browser's WebSocket by default. */
  createSocket?: (url: string) => SocketLike;
  timers?: Timers;
  random?: () => number;
  backoff?: BackoffPolicy;
  /** Sent in `hello`. */
  clientVersion?: string;
  /** A request with no answer after this long fails with `timeout`. */
  requestTimeoutMs?: number;
}

export interface RequestOptions {
  /**
   * While offline: wait in the outbox until the connection is back (the
   * default), or fail at once with `disconnected`.
   */
  queue?: boolean;
  timeoutMs?: number;
}

interface Pending {
  id: string;
  type: RequestType;
  frame: string;
  sent: boolean;
  resolve: (event: ServerEvent) => void;
  reject: (error: RequestFailure) => void;
  timer?: unknown;
  timeoutMs: number;
}

type EventListener = (event: ServerEvent) => void;
type StatusListener = (snapshot: ConnectionSnapshot) => void;

const browserTimers: Timers = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => window.setTimeout(callback, ms),
  clearTimeout: (handle) => window.clearTimeout(handle as number),
};

const OPEN = 1;

/**
 * The browser's end of the protocol (docs/protocol.md): one WebSocket to
 * the gateway's `/ws`, authenticated by the session cookie.
 *
 * - `hello` goes first; nothing else is sent before `welcome`.
 * - Requests get ids (`c-1`, `c-2`, …); the answer with that `replyTo`
 *   settles the request's promise, an `error` rejects it.
 * - Requests made while offline wait in an outbox, in order, and go out
 *   after the next `welcome`; requests that were in flight when the
 *   socket dropped fail with `disconnected` (the gateway may or may not
 *   have done them).
 * - After a drop it reconnects with exponential backoff and resumes the
 *   followed chat session from the last event it saw (`resume`).
 * - Every frame is handed to the event listeners, answers included.
 */
export class Connection {
  private readonly createSocket: (url: string) => SocketLike;
  private readonly timers: Timers;
  private readonly random: () => number;
  private readonly backoff: BackoffPolicy;
  private readonly clientVersion: string;
  private readonly requestTimeoutMs: number;

  private socket: SocketLike | null = null;
  private status: ConnectionStatus = "connecting";
  private failures = 0;
  private retryAt: number | undefined;
  private retryTimer: unknown;
  private lastClose: string | undefined;
  private nextId = 1;
  private readonly pending = new Map<string, Pending>();
  /** Ids of requests not sent yet, in the order they were made. */
  private outbox: string[] = [];
  private readonly eventListeners = new Set<EventListener>();
  private readonly statusListeners = new Set<StatusListener>();
  private followed: string | null = null;
  private seq = 0;
  /** The id of the resume whose answer starts the followed session's events. */
  private awaitingResume: string | null = null;
  private welcomeEvent: WelcomeEvent | undefined;

  constructor(
    readonly url: string,
    options: ConnectionOptions = {},
  ) {
    this.createSocket = options.createSocket ?? ((address) => new WebSocket(address) as unknown as SocketLike);
    this.timers = options.timers ?? browserTimers;
    this.random = options.random ?? Math.random;
    this.backoff = options.backoff ?? defaultBackoff;
    this.clientVersion = options.clientVersion ?? "web-ide";
    this.requestTimeoutMs = options.requestTimeoutMs ?? 120_000;
  }

  /** Opens the first socket. */
  start(): void {
    if (this.socket !== null || this.status === "stopped") return;
    this.open();
  }

  /** Closes the socket for good and fails every request. */
  stop(): void {
    this.setStatus("stopped");
    this.clearRetry();
    const socket = this.socket;
    this.socket = null;
    if (socket !== null) {
      this.detach(socket);
      socket.close(1000, "closed by the page");
    }
    for (const request of [...this.pending.values()]) this.fail(request, new RequestFailure("stopped", "the connection was closed"));
    this.outbox = [];
  }

  /** Skips the backoff wait and tries now. */
  reconnectNow(): void {
    if (this.status !== "reconnecting") return;
    this.clearRetry();
    this.open();
  }

  get snapshot(): ConnectionSnapshot {
    const snapshot: ConnectionSnapshot = { status: this.status, failures: this.failures, queued: this.outbox.length };
    if (this.retryAt !== undefined) snapshot.retryAt = this.retryAt;
    if (this.lastClose !== undefined) snapshot.lastClose = this.lastClose;
    return snapshot;
  }

  /** The last `welcome`, once online. */
  get welcome(): WelcomeEvent | undefined {
    return this.welcomeEvent;
  }

  /** The newest session event number seen for the followed session. */
  get lastSeq(): number {
    return this.seq;
  }

  get followedSession(): string | null {
    return this.followed;
  }

  /**
   * The chat session whose events this tab shows: after a reconnect it is
   * resumed from the last event seen. While none is followed, numbered
   * events are dropped: they belong to a session the tab left. (A session
   * that a request creates, e.g. `start_project_init`, is named by its answer
   * before its first event.)
   */
  follow(sessionId: string | null, options: { lastSeq?: number; resume?: boolean } = {}): void {
    this.followed = sessionId;
    this.seq = options.lastSeq ?? 0;
    this.awaitingResume = null;
    // Offline, the next welcome resumes it.
    if (options.resume === true && this.status === "online") this.resumeFollowed();
  }

  onEvent(listener: EventListener): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  onStatus(listener: StatusListener): () => void {
    this.statusListeners.add(listener);
    listener(this.snapshot);
    return () => this.statusListeners.delete(listener);
  }

  /** Sends a request and settles with its answer (whatever its type), or fails with the gateway's error. */
  request<T extends RequestType>(type: T, payload: PayloadOf<T>, options: RequestOptions = {}): Promise<ServerEvent> {
    return this.enqueue(type, payload, options).promise;
  }

  private enqueue<T extends RequestType>(type: T, payload: PayloadOf<T>, options: RequestOptions): { id: string; promise: Promise<ServerEvent> } {
    const id = `c-${this.nextId++}`;
    const frame = JSON.stringify({ type, id, payload });
    const promise = new Promise<ServerEvent>((resolve, reject) => {
      const request: Pending = {
        id, type, frame, sent: false, resolve, reject, timeoutMs: options.timeoutMs ?? this.requestTimeoutMs,
      };
      if (this.status === "online") {
        this.pending.set(id, request);
        this.transmit(request);
      } else if (options.queue === false || this.status === "stopped" || this.status === "refused") {
        reject(new RequestFailure(this.status === "stopped" ? "stopped" : "disconnected", "not connected to the gateway"));
      } else {
        this.pending.set(id, request);
        this.outbox.push(id);
        this.emitStatus();
      }
    });
    return { id, promise };
  }

  /** A request whose answer must be of type `answer`; resolves with that event's payload. */
  async ask<T extends RequestType, A extends EventType>(
    type: T,
    payload: PayloadOf<T>,
    answer: A,
    options?: RequestOptions,
  ): Promise<EventPayloads[A]> {
    const event: ServerEvent = await this.request(type, payload, options);
    const received: EventType = event.type;
    if (received !== answer) {
      throw new RequestFailure("unexpected_answer", `${type} was answered with ${received}, not ${answer}`);
    }
    // Checked just above: the answer is of type A.
    return event.payload as unknown as EventPayloads[A];
  }

  /**
   * Sends a message that needs no answer (keystrokes, resizes). Dropped
   * while offline: such messages are only meaningful on the socket that
   * owns their terminal.
   */
  notify<T extends RequestType>(type: T, payload: PayloadOf<T>): boolean {
    if (this.status !== "online" || this.socket === null || this.socket.readyState !== OPEN) return false;
    this.socket.send(JSON.stringify({ type, payload }));
    return true;
  }

  // MARK: - Socket life cycle

  private open(): void {
    this.retryAt = undefined;
    let socket: SocketLike;
    try {
      socket = this.createSocket(this.url);
    } catch (error) {
      this.lastClose = `cannot open ${this.url}: ${String(error)}`;
      this.scheduleRetry();
      return;
    }
    this.socket = socket;
    socket.onopen = () => this.sendHello(socket);
    socket.onmessage = (event) => this.receive(socket, event.data);
    socket.onclose = (event) => this.closed(socket, event.code, event.reason);
    socket.onerror = () => {
      /* a close event follows */
    };
    if (this.status !== "connecting") this.emitStatus();
  }

  private detach(socket: SocketLike): void {
    socket.onopen = null;
    socket.onmessage = null;
    socket.onclose = null;
    socket.onerror = null;
  }

  private sendHello(socket: SocketLike): void {
    if (socket !== this.socket) return;
    const id = `c-${this.nextId++}`;
    const hello: Pending = {
      id,
      type: "hello",
      frame: JSON.stringify({ type: "hello", id, payload: { clientVersion: `${this.clientVersion} (protocol ${PROTOCOL_VERSION})` } }),
      sent: false,
      timeoutMs: this.requestTimeoutMs,
      resolve: (event) => {
        if (event.type === "welcome") this.welcomed(event.payload);
      },
      reject: (error) => {
        if (error.code === "unauthorized") {
          this.lastClose = error.message;
          this.setStatus("refused");
          this.socket?.close(1000, "refused");
        }
      },
    };
    this.pending.set(id, hello);
    this.transmit(hello);
  }

  private welcomed(welcome: WelcomeEvent): void {
    this.welcomeEvent = welcome;
    this.failures = 0;
    this.lastClose = undefined;
    this.setStatus("online");
    this.resumeFollowed();
    const waiting = this.outbox;
    this.outbox = [];
    for (const id of waiting) {
      const request = this.pending.get(id);
      if (request !== undefined) this.transmit(request);
    }
    this.emitStatus();
  }

  /**
   * The answer (agent_hierarchy, then the missed events, or resync_required)
   * reaches the listeners. Numbered events before it are the session this tab
   * left (sent before the gateway handled the switch): they are dropped.
   */
  private resumeFollowed(): void {
    if (this.followed === null) return;
    const { id, promise } = this.enqueue("resume", { sessionId: this.followed, lastSeq: this.seq }, {});
    this.awaitingResume = id;
    promise.catch(() => undefined);
  }

  private transmit(request: Pending): void {
    const socket = this.socket;
    if (socket === null || socket.readyState !== OPEN) {
      this.outbox.push(request.id);
      return;
    }
    socket.send(request.frame);
    request.sent = true;
    request.timer = this.timers.setTimeout(() => {
      this.fail(request, new RequestFailure("timeout", `${request.type} got no answer in ${Math.round(request.timeoutMs / 1000)} s`));
    }, request.timeoutMs);
  }

  private receive(socket: SocketLike, data: unknown): void {
    if (socket !== this.socket || typeof data !== "string") return;
    let event: ServerEvent;
    try {
      const parsed: unknown = JSON.parse(data);
      if (typeof parsed !== "object" || parsed === null || typeof (parsed as { type?: unknown }).type !== "string") return;
      event = parsed as ServerEvent;
      if (typeof event.payload !== "object" || event.payload === null) (event as { payload: unknown }).payload = {};
    } catch {
      return;
    }
    if (event.replyTo !== undefined && event.replyTo === this.awaitingResume) this.awaitingResume = null;
    if (typeof event.seq === "number") {
      // Numbered events belong to the followed session; one seen already
      // (a resume that overlaps) is not shown twice.
      if (this.followed === null || this.awaitingResume !== null || event.seq <= this.seq) return;
      this.seq = event.seq;
    }
    if (event.type === "resync_required" && event.payload.sessionId === this.followed) {
      this.seq = event.payload.seq;
    }
    for (const listener of [...this.eventListeners]) {
      try {
        listener(event);
      } catch (error) {
        console.error("an event listener failed", event.type, error);
      }
    }
    if (event.replyTo !== undefined) {
      const request = this.pending.get(event.replyTo);
      if (request !== undefined) {
        this.settle(request);
        if (event.type === "error") {
          request.reject(new RequestFailure(event.payload.code, event.payload.message));
        } else {
          request.resolve(event);
        }
      }
    }
  }

  private closed(socket: SocketLike, code: number, reason: string): void {
    if (socket !== this.socket) return;
    this.detach(socket);
    this.socket = null;
    this.lastClose = reason !== "" ? `${code}: ${reason}` : `code ${code}`;
    // What was sent may or may not have been done: its caller decides. What
    // was never sent waits for the next connection.
    for (const request of [...this.pending.values()]) {
      if (request.sent) {
        this.fail(request, new RequestFailure("disconnected", "the connection dropped before the answer came"));
      }
    }
    if (this.status === "stopped" || this.status === "refused") {
      this.emitStatus();
      return;
    }
    this.failures += 1;
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    const delay = backoffDelay(this.failures, this.backoff, this.random);
    this.retryAt = this.timers.now() + delay;
    this.setStatus("reconnecting");
    this.retryTimer = this.timers.setTimeout(() => {
      this.retryTimer = undefined;
      this.open();
    }, delay);
  }

  private clearRetry(): void {
    if (this.retryTimer !== undefined) this.timers.clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.retryAt = undefined;
  }

  private settle(request: Pending): void {
    this.pending.delete(request.id);
    if (request.timer !== undefined) this.timers.clearTimeout(request.timer);
    const index = this.outbox.indexOf(request.id);
    if (index >= 0) this.outbox.splice(index, 1);
  }

  private fail(request: Pending, error: RequestFailure): void {
    if (!this.pending.has(request.id)) return;
    this.settle(request);
    request.reject(error);
  }

  private setStatus(status: ConnectionStatus): void {
    this.status = status;
    this.emitStatus();
  }

  private emitStatus(): void {
    const snapshot = this.snapshot;
    for (const listener of [...this.statusListeners]) listener(snapshot);
  }
}
