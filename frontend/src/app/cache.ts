import type { HistoryState } from "../features/chat/historyState";
import { localStore, storageKeys } from "../lib/storage";

/**
 * The history sidebar's copy in this browser, shown while the gateway is
 * out of reach; the server's answer replaces it once connected.
 */
const maxSessions = 100;

export function saveCachedHistory(history: HistoryState): void {
  localStore.set(storageKeys.historyCache, { sessions: history.sessions.slice(0, maxSessions) });
}

export function loadCachedHistory(): HistoryState | null {
  const cached = localStore.get<{ sessions?: HistoryState["sessions"] } | null>(storageKeys.historyCache, null);
  if (cached === null || !Array.isArray(cached.sessions)) return null;
  return { sessions: cached.sessions, nextCursor: null, loaded: true, cached: true };
}
