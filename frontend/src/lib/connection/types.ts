import type { ClientMessage, ErrorEvent, ServerEvent } from "../../protocol";

/** A request's type, e.g. "file_read". */
export type RequestType = ClientMessage["type"];
/** The payload a request type takes. */
export type PayloadOf<T extends RequestType> = Extract<ClientMessage, { type: T }>["payload"];
/** An event's type, e.g. "file_read_result". */
export type EventType = ServerEvent["type"];
/** The event of a type. */
export type EventOf<T extends EventType> = Extract<ServerEvent, { type: T }>;
/** Each event type's payload. */
export type EventPayloads = { [E in ServerEvent as E["type"]]: E["payload"] };

/** Why a request failed: the gateway's error code, or a local reason. */
export type FailureCode = ErrorEvent["code"] | "disconnected" | "timeout" | "unexpected_answer" | "stopped";

/** A request that did not get the answer it wanted. */
export class RequestFailure extends Error {
  constructor(
    readonly code: FailureCode,
    message: string,
  ) {
    super(message);
    this.name = "RequestFailure";
  }
}

/** What the connection is doing, for the header and the banner. */
export type ConnectionStatus =
  /** The first attempt, before any welcome. */
  | "connecting"
  /** `welcome` arrived: requests flow. */
  | "online"
  /** The socket dropped; the next attempt is scheduled (`retryAt`). */
  | "reconnecting"
  /** The gateway refused `hello` (another user's token): retrying will not help. */
  | "refused"
  /** `stop()` was called. */
  | "stopped";

export interface ConnectionSnapshot {
  status: ConnectionStatus;
  /** Failed attempts in a row (0 while online). */
  failures: number;
  /** When the next attempt starts (ms since the epoch), while reconnecting. */
  retryAt?: number;
  /** Requests waiting for the connection. */
  queued: number;
  /** The last close code and reason the browser reported. */
  lastClose?: string;
}

/** The subset of the browser's WebSocket the connection uses (tests pass a fake). */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

/** Timers, injectable for tests. */
export interface Timers {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}
