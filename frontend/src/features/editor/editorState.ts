import { isInside, normalizePath } from "../../lib/paths";
import type { Action } from "../../state/types";

/** One file open (or being written) in the editor. */
export interface Buffer {
  status: "unloaded" | "loading" | "ready" | "error";
  /** The content on the server as last known. */
  saved: string;
  encoding: "text" | "base64";
  /** The editor holds changes not saved yet. */
  dirty: boolean;
  /** Grows when `saved` changed on the server: a clean editor takes it over. */
  version: number;
  /** A coder is writing the file: its text so far, shown read-only. */
  live: { agentId: string; text: string } | null;
  /** The file changed on the server while the editor held unsaved changes. */
  conflict: boolean;
  deleted: boolean;
  error: string | null;
}

export interface EditorState {
  tabs: string[];
  active: string | null;
  buffers: Record<string, Buffer>;
  /** Open the files the agents write as they write them. */
  follow: boolean;
  /** Files the person closed while following: not opened again by the agents. */
  dismissed: Record<string, true>;
  /**
   * The tab following opened, which the next followed file replaces (so
   * watching a run does not pile up tabs); opening it yourself or editing
   * it keeps it.
   */
  preview: string | null;
}

export const initialEditor: EditorState = { tabs: [], active: null, buffers: {}, follow: true, dismissed: {}, preview: null };

const emptyBuffer: Buffer = {
  status: "unloaded", saved: "", encoding: "text", dirty: false, version: 0, live: null, conflict: false, deleted: false, error: null,
};

function update(state: EditorState, path: string, change: (buffer: Buffer) => Buffer): EditorState {
  const buffer = state.buffers[path] ?? emptyBuffer;
  return { ...state, buffers: { ...state.buffers, [path]: change(buffer) } };
}

function open(state: EditorState, path: string, activate: boolean): EditorState {
  const tabs = state.tabs.includes(path) ? state.tabs : [...state.tabs, path];
  const buffers = state.buffers[path] === undefined ? { ...state.buffers, [path]: emptyBuffer } : state.buffers;
  return { ...state, tabs, buffers, active: activate ? path : state.active ?? path };
}

/**
 * An agent writes `path`: when following, open it (unless the person closed
 * it) in the preview tab, replacing the previous followed file once that one
 * is done and unedited; show it unless the person is editing another file or
 * the file shown is still being written (several coders write at once: the
 * view stays on one until it is done instead of jumping at every reply).
 * A file already open stays where it is, and the active tab does not move.
 */
function follow(state: EditorState, path: string): EditorState {
  if (!state.follow || state.dismissed[path] === true || state.tabs.includes(path)) return state;
  const shown = state.active !== null ? state.buffers[state.active] : undefined;
  const busy = shown !== undefined && (shown.dirty || shown.live !== null);
  const preview = state.preview;
  const previous = preview !== null ? state.buffers[preview] : undefined;
  const replace = preview !== null && previous !== undefined && !previous.dirty && previous.live === null;
  const tabs = [...state.tabs];
  const buffers = { ...state.buffers };
  const at = replace ? tabs.indexOf(preview) : -1;
  if (replace) {
    tabs.splice(at, 1);
    delete buffers[preview];
  }
  tabs.splice(at >= 0 ? at : tabs.length, 0, path);
  buffers[path] = emptyBuffer;
  return { ...state, tabs, buffers, active: busy ? state.active : path, preview: path };
}

/** New server content for a file: a clean buffer takes it, one with edits is marked as conflicting. */
function serverContent(buffer: Buffer, content: string): Buffer {
  if (buffer.dirty) return { ...buffer, saved: content, conflict: buffer.saved !== content || buffer.conflict, deleted: false };
  return { ...buffer, status: "ready", saved: content, encoding: "text", version: buffer.version + 1, deleted: false, error: null };
}

export function editorReducer(state: EditorState, action: Action): EditorState {
  switch (action.kind) {
    case "session/open":
    case "session/clear":
      return { ...initialEditor, follow: state.follow };
    case "editor/open": {
      const dismissed = { ...state.dismissed };
      delete dismissed[action.path];
      return open({ ...state, dismissed, preview: state.preview === action.path ? null : state.preview }, action.path, true);
    }
    case "editor/close": {
      const index = state.tabs.indexOf(action.path);
      if (index < 0) return state;
      const tabs = state.tabs.filter((tab) => tab !== action.path);
      const active = state.active === action.path ? tabs[Math.min(index, tabs.length - 1)] ?? null : state.active;
      const buffers = { ...state.buffers };
      delete buffers[action.path];
      const preview = state.preview === action.path ? null : state.preview;
      return { ...state, tabs, active, buffers, preview, dismissed: { ...state.dismissed, [action.path]: true } };
    }
    case "editor/activate":
      return state.tabs.includes(action.path) ? { ...state, active: action.path } : state;
    case "editor/loading":
      return update(state, action.path, (buffer) => ({ ...buffer, status: "loading", error: null }));
    case "editor/dirty": {
      if (state.buffers[action.path]?.dirty === action.dirty) return state;
      const next = update(state, action.path, (buffer) => ({ ...buffer, dirty: action.dirty }));
      return action.dirty && state.preview === action.path ? { ...next, preview: null } : next;
    }
    case "editor/saved":
      return update(state, action.path, (buffer) => ({ ...buffer, saved: action.content, dirty: false, conflict: false, deleted: false }));
    case "editor/failed":
      return update(state, action.path, (buffer) => ({ ...buffer, status: "error", error: action.error }));
    case "editor/follow":
      return { ...state, follow: action.follow, dismissed: action.follow ? {} : state.dismissed };
    case "server":
      break;
    default:
      return state;
  }
  const event = action.event;
  switch (event.type) {
    case "file_read_result": {
      const path = normalizePath(event.payload.filePath);
      if (state.buffers[path] === undefined) return state;
      const { content, encoding } = event.payload;
      return update(state, path, (buffer) =>
        encoding === "base64"
          ? { ...buffer, status: "ready", saved: content, encoding, version: buffer.version + 1, error: null }
          : serverContent({ ...buffer, status: "ready" }, content),
      );
    }
    case "file_tree_update": {
      const path = normalizePath(event.payload.filePath);
      if (event.payload.action === "delete") {
        let next = state;
        for (const open of Object.keys(state.buffers)) {
          if (isInside(open, path)) next = update(next, open, (buffer) => ({ ...buffer, deleted: true, live: null }));
        }
        return next;
      }
      const content = event.payload.content;
      if (content === undefined || state.buffers[path] === undefined) return state;
      return update(state, path, (buffer) => serverContent(buffer, content));
    }
    case "code_stream": {
      const { filePath, content, isComplete, agentId } = event.payload;
      const path = normalizePath(filePath);
      const next = follow(state, path);
      if (next.buffers[path] === undefined) return next;
      return update(next, path, (buffer) =>
        isComplete ? { ...serverContent(buffer, content), live: null } : { ...buffer, live: { agentId, text: content } },
      );
    }
    case "llm_stream": {
      const { filePath, delta, agentId } = event.payload;
      if (filePath === undefined || filePath === "") return state;
      const path = normalizePath(filePath);
      const next = follow(state, path);
      if (next.buffers[path] === undefined) return next;
      return update(next, path, (buffer) => {
        const text = buffer.live !== null && buffer.live.agentId === agentId ? buffer.live.text + delta : delta;
        return { ...buffer, live: event.payload.done ? null : { agentId, text } };
      });
    }
    case "agent_update": {
      const { agentId, status } = event.payload;
      if (status === "active" || status === "delegating") return state;
      let next = state;
      for (const [path, buffer] of Object.entries(state.buffers)) {
        if (buffer.live !== null && buffer.live.agentId === agentId) next = update(next, path, (item) => ({ ...item, live: null }));
      }
      return next;
    }
    default:
      return state;
  }
}

/** The editor shows the coder's text, read-only, while it writes. */
export function isLive(buffer: Buffer | undefined): boolean {
  return buffer !== undefined && buffer.live !== null;
}
