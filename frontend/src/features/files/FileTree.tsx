import { memo, useMemo, useRef, useState, type KeyboardEvent } from "react";
import { listFolder } from "../../app/flows";
import { reportFailure, useServices } from "../../app/services";
import { treeKey } from "../../components/treeKeys";
import { joinPath, normalizePath, parentOf } from "../../lib/paths";
import { visibleTree, type FilesState, type TreeItem } from "./filesState";

/** The project's files: follows file_tree_update, lists folders on demand, opens files in the editor. */
export const FileTree = memo(function FileTree({ files, projectId, activePath }: {
  files: FilesState;
  projectId: string | null;
  activePath: string | null;
}) {
  const services = useServices();
  const { connection, dispatch } = services;
  const rows = useMemo(() => visibleTree(files), [files]);
  const recent = useMemo(() => new Set(files.recent.slice(-5)), [files.recent]);
  const [focused, setFocused] = useState(0);
  const itemRefs = useRef<(HTMLLIElement | null)[]>([]);
  const focusIndex = Math.min(focused, Math.max(0, rows.length - 1));
  const selectedFolder = (() => {
    const row = rows[focusIndex];
    if (row === undefined) return "";
    return row.type === "folder" ? row.path : parentOf(row.path);
  })();

  const toggleFolder = (item: TreeItem, expand: boolean) => {
    dispatch({ kind: "files/toggle", path: item.path, expanded: expand });
    if (expand && projectId !== null && files.listed[item.path] === undefined) listFolder(services, projectId, item.path);
  };
  const activate = (item: TreeItem) => {
    if (item.type === "folder") toggleFolder(item, !item.expanded);
    else dispatch({ kind: "editor/open", path: item.path });
  };
  const remove = async (item: TreeItem) => {
    if (projectId === null) return;
    if (!window.confirm(`Delete ${item.path}${item.type === "folder" ? " and everything in it" : ""}?`)) return;
    try {
      if (item.type === "folder") await connection.ask("dir_delete", { projectId, dirPath: item.path }, "dir_operation_result");
      else await connection.ask("file_delete", { projectId, filePath: item.path }, "file_operation_result");
    } catch (error) {
      reportFailure(dispatch, error, `Deleting ${item.path}`);
    }
  };
  const create = async (kind: "file" | "folder") => {
    if (projectId === null) return;
    const name = window.prompt(kind === "file" ? "New file name" : "New folder name", "");
    if (name === null || normalizePath(name) === "") return;
    const path = normalizePath(joinPath(selectedFolder, name));
    try {
      if (kind === "file") {
        await connection.ask("file_create", { projectId, filePath: path, content: "" }, "file_operation_result");
        dispatch({ kind: "editor/open", path });
      } else {
        await connection.ask("dir_create", { projectId, dirPath: path }, "dir_operation_result");
      }
    } catch (error) {
      reportFailure(dispatch, error, `Creating ${path}`);
    }
  };
  const refresh = () => {
    if (projectId === null) return;
    for (const folder of ["", ...Object.keys(files.expanded)]) listFolder(services, projectId, folder);
  };

  const onKeyDown = (event: KeyboardEvent<HTMLUListElement>) => {
    const row = rows[focusIndex];
    if (event.key === "Delete" && row !== undefined) {
      event.preventDefault();
      void remove(row);
      return;
    }
    const move = treeKey(
      rows.map((item) => ({ depth: item.depth, expandable: item.type === "folder", expanded: item.expanded })),
      focusIndex,
      event.key,
    );
    if (move.kind === "none") return;
    event.preventDefault();
    const target = rows[move.index];
    if (move.kind === "focus") {
      setFocused(move.index);
      itemRefs.current[move.index]?.focus();
    } else if (move.kind === "toggle" && target !== undefined) {
      toggleFolder(target, move.expand);
    } else if (move.kind === "activate" && target !== undefined) {
      activate(target);
    }
  };

  return (
    <section className="files panel" aria-label="Files">
      <header className="panel-header">
        <h2 className="panel-title">Files</h2>
        <div className="panel-actions">
          <button type="button" className="icon-button" title="New file" aria-label="New file" disabled={projectId === null} onClick={() => void create("file")}>
            +
          </button>
          <button type="button" className="icon-button" title="New folder" aria-label="New folder" disabled={projectId === null} onClick={() => void create("folder")}>
            ⊞
          </button>
          <button type="button" className="icon-button" title="Refresh" aria-label="Refresh the file list" disabled={projectId === null} onClick={refresh}>
            ⟳
          </button>
        </div>
      </header>
      <div className="panel-scroll">
        {projectId === null && rows.length === 0 ? (
          <p className="muted panel-empty">Files appear here as the agents write them.</p>
        ) : rows.length === 0 ? (
          <p className="muted panel-empty">{files.loading[""] === true ? "Loading…" : "No files yet."}</p>
        ) : (
          <ul className="tree file-tree" role="tree" aria-label="Project files" onKeyDown={onKeyDown}>
            {rows.map((item, index) => (
              <li
                key={item.path}
                ref={(element) => {
                  itemRefs.current[index] = element;
                }}
                role="treeitem"
                aria-level={item.depth + 1}
                aria-expanded={item.type === "folder" ? item.expanded : undefined}
                aria-selected={item.path === activePath}
                tabIndex={index === focusIndex ? 0 : -1}
                className={`tree-row file-row file-${item.type}${item.path === activePath ? " active" : ""}${recent.has(item.path) ? " recent" : ""}`}
                style={{ paddingLeft: `${0.5 + item.depth * 0.9}rem` }}
                data-path={item.path}
                onFocus={() => setFocused(index)}
                onClick={() => {
                  setFocused(index);
                  activate(item);
                }}
              >
                <span className="tree-twisty" aria-hidden="true">
                  {item.type === "folder" ? (item.expanded ? "▾" : "▸") : ""}
                </span>
                <span className="file-name">{item.name}</span>
                {files.loading[item.path] === true && <span className="muted"> …</span>}
              </li>
            ))}
          </ul>
        )}
      </div>
    </section>
  );
});
