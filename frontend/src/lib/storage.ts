/** localStorage that never throws (private windows, full quota, disabled storage). */
export const localStore = {
  get<T>(key: string, fallback: T): T {
    try {
      const text = window.localStorage.getItem(key);
      return text === null ? fallback : (JSON.parse(text) as T);
    } catch {
      return fallback;
    }
  },
  set(key: string, value: unknown): void {
    localStore.trySet(key, value);
  },
  /** Stores the value; false when the browser refused (full quota, disabled storage). */
  trySet(key: string, value: unknown): boolean {
    try {
      window.localStorage.setItem(key, JSON.stringify(value));
      return true;
    } catch {
      return false; /* storage is a convenience */
    }
  },
  remove(key: string): void {
    try {
      window.localStorage.removeItem(key);
    } catch {
      /* storage is a convenience */
    }
  },
};

export const storageKeys = {
  lastSession: "hma.lastSession",
  layout: (name: string) => `hma.layout.${name}`,
  draft: (sessionId: string | null) => `hma.draft.${sessionId ?? "new"}`,
  editorPreferences: "hma.editorPreferences",
  historyCache: "hma.historyCache",
  messagesCache: (sessionId: string) => `hma.messages.${sessionId}`,
  messagesCacheIndex: "hma.messagesIndex",
  llmConfig: "hma.llmConfig",
  gitAuthor: "hma.gitAuthor",
};
