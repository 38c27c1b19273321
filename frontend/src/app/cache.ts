import type { HistoryState } from "../features/chat/historyState";
import { localStore, storageKeys } from "../lib/storage";
import type { ChatMessage } from "../state/types";

/**
 * This browser's copy of what the gateway said, shown while the gateway is
 * out of reach: the history sidebar's list of conversations, and the
 * messages of the conversations opened lately. The server's answer replaces
 * either once connected (the reducers do that; the effects in App write the
 * server's copy back here).
 */

/** Where the copies live: localStorage, or a fake in the unit tests. */
export interface CacheStore {
  get<T>(key: string, fallback: T): T;
  /** False when the value could not be stored (the quota is full). */
  trySet(key: string, value: unknown): boolean;
  remove(key: string): void;
}

export const cacheLimits = {
  /** Conversations in the history copy. */
  historySessions: 100,
  /** Conversations whose messages are kept; the least recently saved goes first. */
  sessions: 20,
  /** The newest messages kept per conversation. */
  messagesPerSession: 200,
  /** A longer message (a command's output, say) is shortened in the copy. */
  charactersPerMessage: 10_000,
  /** All conversations' messages together, in characters of JSON (localStorage holds about 5 million). */
  totalCharacters: 2_000_000,
};

export type CacheLimits = typeof cacheLimits;

export const shortenedNote = "\n\n… (shortened in this browser's saved copy)";

// MARK: - The history list

export function saveCachedHistory(history: HistoryState, store: CacheStore = localStore): void {
  store.trySet(storageKeys.historyCache, { sessions: history.sessions.slice(0, cacheLimits.historySessions) });
}

export function loadCachedHistory(store: CacheStore = localStore): HistoryState | null {
  const cached = store.get<{ sessions?: HistoryState["sessions"] } | null>(storageKeys.historyCache, null);
  if (cached === null || !Array.isArray(cached.sessions)) return null;
  return { sessions: cached.sessions, nextCursor: null, loaded: true, cached: true };
}

// MARK: - Messages per conversation

/** The conversations whose messages are kept, most recently saved first, with their size. */
interface IndexEntry {
  id: string;
  savedAt: number;
  characters: number;
}

interface CachedMessages {
  sessionId: string;
  savedAt: number;
  messages: ChatMessage[];
}

function readIndex(store: CacheStore): IndexEntry[] {
  const index = store.get<unknown>(storageKeys.messagesCacheIndex, []);
  if (!Array.isArray(index)) return [];
  return index.filter(
    (entry): entry is IndexEntry =>
      typeof entry === "object" && entry !== null && typeof entry.id === "string" && typeof entry.savedAt === "number" && typeof entry.characters === "number",
  );
}

function shorten(message: ChatMessage, limit: number): ChatMessage {
  if (message.content.length <= limit) return message;
  return { ...message, content: message.content.slice(0, limit) + shortenedNote };
}

/**
 * Keeps the newest messages of a conversation (the server's copy: call it
 * with what the gateway sent, not with messages still being sent). The
 * conversation becomes the most recent; the oldest go when there are more
 * than `limits.sessions`, more than `limits.totalCharacters`, or when the
 * browser's quota is full.
 */
export function saveCachedMessages(
  sessionId: string,
  messages: readonly ChatMessage[],
  store: CacheStore = localStore,
  limits: CacheLimits = cacheLimits,
  now: number = Date.now(),
): void {
  const kept = messages.slice(-limits.messagesPerSession).map((message) => shorten(message, limits.charactersPerMessage));
  const entry: CachedMessages = { sessionId, savedAt: now, messages: kept };
  const characters = JSON.stringify(entry).length;
  const others = readIndex(store).filter((item) => item.id !== sessionId);
  const evictOldest = (): boolean => {
    const oldest = others.pop();
    if (oldest === undefined) return false;
    store.remove(storageKeys.messagesCache(oldest.id));
    return true;
  };
  if (characters > limits.totalCharacters) {
    // Too big to keep even alone; the others stay.
    store.remove(storageKeys.messagesCache(sessionId));
    store.trySet(storageKeys.messagesCacheIndex, others);
    return;
  }
  // Room for this one: fewer conversations than the bound, and under the total.
  const total = () => characters + others.reduce((sum, item) => sum + item.characters, 0);
  while (others.length + 1 > limits.sessions || total() > limits.totalCharacters) {
    if (!evictOldest()) break;
  }
  // The browser's quota may be smaller than our bound: make room until it fits (the index too).
  let stored = store.trySet(storageKeys.messagesCache(sessionId), entry);
  while (!stored && evictOldest()) stored = store.trySet(storageKeys.messagesCache(sessionId), entry);
  const index = () => (stored ? [{ id: sessionId, savedAt: now, characters }, ...others] : others);
  while (!store.trySet(storageKeys.messagesCacheIndex, index()) && evictOldest()) {
    /* retry with one fewer */
  }
}

function isMessage(value: unknown): value is ChatMessage {
  if (typeof value !== "object" || value === null) return false;
  const message = value as Record<string, unknown>;
  return (
    typeof message.id === "string" &&
    typeof message.sessionId === "string" &&
    typeof message.content === "string" &&
    typeof message.timestamp === "string" &&
    (message.sender === "user" || message.sender === "assistant" || message.sender === "system")
  );
}

/** The saved messages of a conversation, oldest first, or null when there are none (or they are damaged). */
export function loadCachedMessages(sessionId: string, store: CacheStore = localStore): ChatMessage[] | null {
  const cached = store.get<Partial<CachedMessages> | null>(storageKeys.messagesCache(sessionId), null);
  if (cached === null || typeof cached !== "object" || cached.sessionId !== sessionId || !Array.isArray(cached.messages)) return null;
  const messages = cached.messages.filter(isMessage).filter((message) => message.sessionId === sessionId);
  return messages.length > 0 ? messages : null;
}

/** The conversation was deleted: its copy goes too. */
export function forgetCachedMessages(sessionId: string, store: CacheStore = localStore): void {
  store.remove(storageKeys.messagesCache(sessionId));
  store.trySet(storageKeys.messagesCacheIndex, readIndex(store).filter((item) => item.id !== sessionId));
}

/** The conversations whose messages are kept, most recent first (for tests and diagnostics). */
export function cachedSessionIds(store: CacheStore = localStore): string[] {
  return readIndex(store).map((item) => item.id);
}
