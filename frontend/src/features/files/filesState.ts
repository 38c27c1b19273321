import type { DirListResultEvent } from "../../protocol";
import { ancestorsOf, isInside, joinPath, normalizePath, parentOf } from "../../lib/paths";
import type { Action } from "../../state/types";

export type EntryType = DirListResultEvent["items"][number]["type"];

export interface FileEntry {
  type: EntryType;
  size: number | null;
}

export interface FilesState {
  projectId: string | null;
  /** Every known file and folder by path. */
  entries: Record<string, FileEntry>;
  /** Folders whose listing came ("" is the root). */
  listed: Record<string, true>;
  loading: Record<string, true>;
  expanded: Record<string, true>;
  /** Folders the person closed: an agent writing inside does not open them again. */
  closed: Record<string, true>;
  /** Paths an agent changed, newest last (highlighted in the tree for a while). */
  recent: string[];
}

export const initialFiles: FilesState = { projectId: null, entries: {}, listed: {}, loading: {}, expanded: {}, closed: {}, recent: [] };

function withAncestors(entries: Record<string, FileEntry>, path: string): Record<string, FileEntry> {
  const next = { ...entries };
  for (const folder of ancestorsOf(path)) {
    if (next[folder]?.type !== "folder") next[folder] = { type: "folder", size: null };
  }
  return next;
}

function without(entries: Record<string, FileEntry>, path: string): Record<string, FileEntry> {
  const next: Record<string, FileEntry> = {};
  for (const [key, value] of Object.entries(entries)) {
    if (!isInside(key, path)) next[key] = value;
  }
  return next;
}

export function filesReducer(state: FilesState, action: Action, projectId: string | null): FilesState {
  switch (action.kind) {
    case "session/open":
      return { ...initialFiles, projectId: action.projectId };
    case "session/clear":
      return initialFiles;
    case "session/started":
      return { ...state, projectId: action.projectId ?? state.projectId };
    case "files/toggle": {
      const open = action.expanded ?? state.expanded[action.path] === undefined;
      const expanded = { ...state.expanded };
      const closed = { ...state.closed };
      if (open) {
        expanded[action.path] = true;
        delete closed[action.path];
      } else {
        delete expanded[action.path];
        closed[action.path] = true;
      }
      return { ...state, expanded, closed };
    }
    case "files/loading":
      return { ...state, loading: { ...state.loading, [action.path]: true } };
    case "server":
      break;
    default:
      return state;
  }
  const event = action.event;
  switch (event.type) {
    case "file_tree_update": {
      const update = event.payload;
      if (update.projectId !== undefined && projectId !== null && update.projectId !== projectId) return state;
      const path = normalizePath(update.filePath);
      if (path === "") return state;
      if (update.action === "delete") {
        return { ...state, entries: without(state.entries, path), recent: state.recent.filter((item) => !isInside(item, path)) };
      }
      const entries = withAncestors(state.entries, path);
      entries[path] = { type: update.fileType, size: update.content !== undefined ? update.content.length : entries[path]?.size ?? null };
      const recent = update.fileType === "file" ? [...state.recent.filter((item) => item !== path), path].slice(-20) : state.recent;
      // Show where the agents write: open the folders above, unless the person closed them.
      let expanded = state.expanded;
      for (const folder of ancestorsOf(path)) {
        if (expanded[folder] === undefined && state.closed[folder] === undefined) expanded = { ...expanded, [folder]: true };
      }
      return { ...state, projectId: update.projectId ?? state.projectId, entries, recent, expanded };
    }
    case "dir_list_result": {
      const listing = event.payload;
      if (projectId !== null && listing.projectId !== projectId) return state;
      const folder = normalizePath(listing.dirPath);
      // The listing is the truth for the folder's direct children.
      const entries: Record<string, FileEntry> = {};
      for (const [key, value] of Object.entries(state.entries)) {
        if (parentOf(key) === folder && key !== folder) continue;
        entries[key] = value;
      }
      for (const item of listing.items) {
        // The repository's insides cannot be opened through the protocol (invalid_path).
        if (folder === "" && item.name === ".git") continue;
        const path = joinPath(folder, item.name);
        entries[path] = { type: item.type, size: item.type === "folder" ? null : item.size };
      }
      // Children of folders that vanished from the listing go too.
      const names = new Set(listing.items.filter((item) => folder !== "" || item.name !== ".git").map((item) => joinPath(folder, item.name)));
      for (const key of Object.keys(entries)) {
        const direct = directChildOf(key, folder);
        if (direct !== null && !names.has(direct)) delete entries[key];
      }
      const loading = { ...state.loading };
      delete loading[folder];
      return { ...state, projectId: listing.projectId, entries: withAncestorsAll(entries, folder), listed: { ...state.listed, [folder]: true }, loading };
    }
    case "resync_required":
      // Files are listed again by the app; what is listed is stale.
      return { ...state, listed: {} };
    default:
      return state;
  }
}

function withAncestorsAll(entries: Record<string, FileEntry>, folder: string): Record<string, FileEntry> {
  return folder === "" ? entries : withAncestors(entries, joinPath(folder, "x"));
}

/** For a path below `folder`, the child of `folder` it is in; null when not below. */
function directChildOf(path: string, folder: string): string | null {
  if (path === folder || !isInside(path, folder)) return null;
  const rest = folder === "" ? path : path.slice(folder.length + 1);
  const slash = rest.indexOf("/");
  if (slash < 0) return null; // a direct child itself
  return joinPath(folder, rest.slice(0, slash));
}

export interface TreeItem {
  path: string;
  name: string;
  type: EntryType;
  depth: number;
  expanded: boolean;
  hasChildren: boolean;
}

/** The visible rows of the tree: folders first, then names, descending into expanded folders. */
export function visibleTree(state: FilesState): TreeItem[] {
  const children = new Map<string, string[]>();
  for (const path of Object.keys(state.entries)) {
    const parent = parentOf(path);
    const list = children.get(parent);
    if (list === undefined) children.set(parent, [path]);
    else list.push(path);
  }
  const compare = (a: string, b: string) => {
    const folderA = state.entries[a]?.type === "folder" ? 0 : 1;
    const folderB = state.entries[b]?.type === "folder" ? 0 : 1;
    if (folderA !== folderB) return folderA - folderB;
    return a.localeCompare(b, undefined, { sensitivity: "base", numeric: true });
  };
  const rows: TreeItem[] = [];
  const walk = (folder: string, depth: number) => {
    const list = (children.get(folder) ?? []).sort(compare);
    for (const path of list) {
      const entry = state.entries[path];
      if (entry === undefined) continue;
      const isFolder = entry.type === "folder";
      const expanded = isFolder && state.expanded[path] === true;
      rows.push({
        path,
        name: path.slice(folder === "" ? 0 : folder.length + 1),
        type: entry.type,
        depth,
        expanded,
        hasChildren: isFolder && (children.has(path) || state.listed[path] === undefined),
      });
      if (expanded) walk(path, depth + 1);
    }
  };
  walk("", 0);
  return rows;
}
