import type { LlmConfigUpdateEvent, ProjectListEvent, WelcomeEvent } from "../protocol";
import type { ConnectionSnapshot } from "../lib/connection/types";
import { agentsReducer, initialAgents, initialStreams, streamsReducer, type AgentsState, type LiveStreams } from "../features/agents/agentsState";
import { chatReducer, initialChat, type ChatState } from "../features/chat/chatState";
import { historyReducer, initialHistory, type HistoryState } from "../features/chat/historyState";
import { editorReducer, initialEditor, type EditorState } from "../features/editor/editorState";
import { filesReducer, initialFiles, type FilesState } from "../features/files/filesState";
import { defaultPreferences, type EditorPreferences } from "../features/settings/preferences";
import { initialSession, sessionReducer, type SessionState } from "./sessionState";
import type { Action, Notice } from "./types";

/** Everything the IDE shows, built from server events and the person's actions by pure reducers. */
export interface AppState {
  connection: ConnectionSnapshot;
  welcome: WelcomeEvent | null;
  session: SessionState;
  chat: ChatState;
  history: HistoryState;
  agents: AgentsState;
  /** The agents' model text as it streams (apart from `agents`: it changes with every token). */
  streams: LiveStreams;
  files: FilesState;
  editor: EditorState;
  projects: ProjectListEvent["projects"];
  llmConfig: LlmConfigUpdateEvent["config"] | null;
  preferences: EditorPreferences;
  notices: Notice[];
  nextNoticeId: number;
}

export const initialAppState: AppState = {
  connection: { status: "connecting", failures: 0, queued: 0 },
  welcome: null,
  session: initialSession,
  chat: initialChat,
  history: initialHistory,
  agents: initialAgents,
  streams: initialStreams,
  files: initialFiles,
  editor: initialEditor,
  projects: [],
  llmConfig: null,
  preferences: defaultPreferences,
  notices: [],
  nextNoticeId: 1,
};

const maxNotices = 5;

export function appReducer(state: AppState, action: Action): AppState {
  const session = sessionReducer(state.session, action);
  const next: AppState = {
    ...state,
    session,
    chat: chatReducer(state.chat, action, session.id),
    history: historyReducer(state.history, action),
    agents: agentsReducer(state.agents, action),
    streams: streamsReducer(state.streams, action),
    files: filesReducer(state.files, action, session.projectId),
    editor: editorReducer(state.editor, action),
  };
  switch (action.kind) {
    case "connection":
      next.connection = action.snapshot;
      if (action.welcome !== undefined) next.welcome = action.welcome;
      break;
    case "preferences/set":
      next.preferences = action.preferences;
      break;
    case "notice/add":
      next.notices = [...state.notices, { id: state.nextNoticeId, text: action.text, level: action.level }].slice(-maxNotices);
      next.nextNoticeId = state.nextNoticeId + 1;
      break;
    case "notice/dismiss":
      next.notices = state.notices.filter((notice) => notice.id !== action.id);
      break;
    case "server": {
      const event = action.event;
      if (event.type === "welcome") next.welcome = event.payload;
      if (event.type === "project_list") next.projects = event.payload.projects;
      if (event.type === "llm_config_update") next.llmConfig = event.payload.config;
      if (event.type === "error" && event.replyTo === undefined) {
        // Errors that answer a request are shown by whoever asked.
        next.notices = [...state.notices, { id: state.nextNoticeId, text: event.payload.message, level: "error" as const }].slice(-maxNotices);
        next.nextNoticeId = state.nextNoticeId + 1;
      }
      break;
    }
    default:
      break;
  }
  return unchanged(state, next) ? state : next;
}

/** No slice changed: keep the old object so nothing re-renders. */
function unchanged(before: AppState, after: AppState): boolean {
  for (const key of Object.keys(after) as (keyof AppState)[]) {
    if (before[key] !== after[key]) return false;
  }
  return true;
}
