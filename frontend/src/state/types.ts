import type {
  AgentUpdateEvent,
  ChatHistoryResponseEvent,
  ChatMessagesResponseEvent,
  ProjectListEvent,
  ServerEvent,
  WelcomeEvent,
} from "../protocol";
import type { ConnectionSnapshot } from "../lib/connection/types";
import type { EditorPreferences } from "../features/settings/preferences";

/** Element types of the protocol's arrays, named for use across features. */
export type ChatMessage = ChatMessagesResponseEvent["messages"][number];
export type ChatSessionSummary = ChatHistoryResponseEvent["sessions"][number];
export type ProjectSummary = ProjectListEvent["projects"][number];
export type AgentInfo = AgentUpdateEvent;

/** Where the active session's run is. */
export type RunStatus = "idle" | "starting" | "active" | "waiting" | "completed" | "stopped" | "error";

/** Everything the app changes its state on: server events and the person's intents. */
export type Action =
  | { kind: "server"; event: ServerEvent }
  | { kind: "connection"; snapshot: ConnectionSnapshot; welcome?: WelcomeEvent }
  /** Shows a session (from history or a project): the per-session state starts empty. */
  | { kind: "session/open"; id: string; projectId: string | null; title: string; run?: RunStatus }
  /** The session a request just made (start_project_init), keeping what its events already filled in. */
  | { kind: "session/started"; id: string; projectId: string | null; title: string }
  /** An empty workspace, ready to start a new project. */
  | { kind: "session/clear" }
  | { kind: "run/set"; status: RunStatus }
  /** This browser's saved copy of the shown conversation, until the server's page comes. */
  | { kind: "chat/cached"; sessionId: string; messages: ChatMessage[] }
  | { kind: "chat/pending"; localId: string; content: string; queued: boolean }
  | { kind: "chat/pendingDone"; localId: string }
  | { kind: "chat/pendingFailed"; localId: string; error: string }
  | { kind: "history/renamed"; sessionId: string; title: string }
  | { kind: "editor/open"; path: string; pin?: boolean }
  | { kind: "editor/close"; path: string }
  | { kind: "editor/activate"; path: string }
  | { kind: "editor/loading"; path: string }
  | { kind: "editor/dirty"; path: string; dirty: boolean }
  | { kind: "editor/saved"; path: string; content: string }
  | { kind: "editor/failed"; path: string; error: string }
  | { kind: "editor/follow"; follow: boolean }
  | { kind: "files/toggle"; path: string; expanded?: boolean }
  | { kind: "files/loading"; path: string }
  | { kind: "preferences/set"; preferences: EditorPreferences }
  | { kind: "notice/add"; text: string; level: NoticeLevel }
  | { kind: "notice/dismiss"; id: number };

export type NoticeLevel = "info" | "error";

export interface Notice {
  id: number;
  text: string;
  level: NoticeLevel;
}
