import type { Action, ChatSessionSummary } from "../../state/types";

/** The history sidebar: the person's chat sessions, newest first. */
export interface HistoryState {
  sessions: ChatSessionSummary[];
  /** Cursor for the next (older) page; null when all are loaded. */
  nextCursor: string | null;
  loaded: boolean;
  /** The sessions are this browser's saved copy, not the server's answer yet. */
  cached: boolean;
}

export const initialHistory: HistoryState = { sessions: [], nextCursor: null, loaded: false, cached: false };

function byNewest(a: ChatSessionSummary, b: ChatSessionSummary): number {
  return a.lastModified < b.lastModified ? 1 : a.lastModified > b.lastModified ? -1 : 0;
}

export function historyReducer(state: HistoryState, action: Action): HistoryState {
  if (action.kind === "history/renamed") {
    return { ...state, sessions: state.sessions.map((item) => (item.id === action.sessionId ? { ...item, title: action.title } : item)) };
  }
  if (action.kind !== "server") return state;
  const event = action.event;
  switch (event.type) {
    case "chat_history_response": {
      // The server's first answer replaces the saved copy; later pages add to it.
      const byId = new Map(state.cached ? [] : state.sessions.map((item) => [item.id, item]));
      for (const session of event.payload.sessions) byId.set(session.id, session);
      return { sessions: [...byId.values()].sort(byNewest), nextCursor: event.payload.nextCursor ?? null, loaded: true, cached: false };
    }
    case "chat_session": {
      const session = event.payload.session;
      const others = state.sessions.filter((item) => item.id !== session.id);
      return { ...state, sessions: [session, ...others].sort(byNewest) };
    }
    case "chat_delete_result":
      return { ...state, sessions: state.sessions.filter((item) => item.id !== event.payload.sessionId) };
    default:
      return state;
  }
}
