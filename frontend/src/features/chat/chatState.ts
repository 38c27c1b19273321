import type { Action, ChatMessage } from "../../state/types";

/** A message the person sent that the gateway has not echoed back yet. */
export interface PendingMessage {
  localId: string;
  content: string;
  /** Waiting for the connection (typed while offline). */
  queued: boolean;
  error: string | null;
}

export interface ChatState {
  /** The active session's messages, oldest first. */
  messages: ChatMessage[];
  pending: PendingMessage[];
  /** Cursor for older messages; null when the oldest is loaded. */
  olderCursor: string | null;
  /** The first page came (or the tab started the session: it saw every message). */
  loaded: boolean;
  /**
   * This browser's saved copy of the conversation, shown until the server's
   * first page arrives (the gateway may be out of reach); then dropped.
   */
  offline: ChatMessage[] | null;
}

export const initialChat: ChatState = { messages: [], pending: [], olderCursor: null, loaded: false, offline: null };

/** The messages to show: the server's, or, until its first page came, the saved copy with what arrived since. */
export function shownMessages(chat: ChatState): ChatMessage[] {
  if (chat.loaded || chat.offline === null) return chat.messages;
  return mergeMessages(chat.offline, chat.messages);
}

/** The saved copy is what the panel shows. */
export function showsOfflineCopy(chat: ChatState): boolean {
  return !chat.loaded && chat.offline !== null;
}

/** Adds messages, keeping one copy per id and the order by time. */
export function mergeMessages(existing: ChatMessage[], incoming: ChatMessage[]): ChatMessage[] {
  if (incoming.length === 0) return existing;
  const byId = new Map(existing.map((message) => [message.id, message]));
  let appendOnly = true;
  const last = existing[existing.length - 1];
  let previous = last?.timestamp ?? "";
  for (const message of incoming) {
    if (byId.has(message.id)) appendOnly = false;
    if (message.timestamp < previous) appendOnly = false;
    previous = message.timestamp;
    byId.set(message.id, message);
  }
  if (appendOnly) return [...existing, ...incoming];
  // Stable: equal timestamps keep the order they arrived in.
  return [...byId.values()]
    .map((message, index) => ({ message, index }))
    .sort((a, b) => (a.message.timestamp < b.message.timestamp ? -1 : a.message.timestamp > b.message.timestamp ? 1 : a.index - b.index))
    .map((entry) => entry.message);
}

export function chatReducer(state: ChatState, action: Action, sessionId: string | null): ChatState {
  switch (action.kind) {
    case "session/open":
    case "session/clear":
      return initialChat;
    case "session/started":
      // A session this tab started: every message it has came as an event, so the list is whole.
      return state.loaded ? state : { ...state, loaded: true };
    case "chat/cached":
      // Only for the shown conversation, and never over the server's copy.
      if (action.sessionId !== sessionId || state.loaded) return state;
      return { ...state, offline: action.messages };
    case "chat/pending":
      return { ...state, pending: [...state.pending, { localId: action.localId, content: action.content, queued: action.queued, error: null }] };
    case "chat/pendingDone":
      return { ...state, pending: state.pending.filter((item) => item.localId !== action.localId) };
    case "chat/pendingFailed":
      return {
        ...state,
        pending: state.pending.map((item) => (item.localId === action.localId ? { ...item, queued: false, error: action.error } : item)),
      };
    case "server":
      break;
    default:
      return state;
  }
  const event = action.event;
  switch (event.type) {
    case "message": {
      const message = event.payload;
      if (sessionId !== null && message.sessionId !== sessionId) return state;
      let pending = state.pending;
      if (message.sender === "user") {
        // The gateway's copy of what this tab sent replaces the pending one (even one
        // marked failed because the socket dropped before the answer: it did arrive).
        const index = pending.findIndex((item) => item.content.trim() === message.content.trim());
        if (index >= 0) pending = [...pending.slice(0, index), ...pending.slice(index + 1)];
      }
      return { ...state, messages: mergeMessages(state.messages, [message]), pending };
    }
    case "chat_messages_response": {
      if (sessionId !== null && event.payload.sessionId !== sessionId) return state;
      // Pages come newest first.
      const page = [...event.payload.messages].reverse();
      // The server's copy replaces the saved one.
      return {
        ...state,
        messages: mergeMessages(state.messages, page),
        olderCursor: event.payload.nextCursor ?? null,
        loaded: true,
        offline: null,
      };
    }
    default:
      return state;
  }
}
