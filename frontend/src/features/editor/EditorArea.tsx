import { memo, useCallback, useEffect, useRef, useState, type KeyboardEvent } from "react";
import { reportFailure, useServices } from "../../app/services";
import { languageForPath } from "../../lib/language";
import { baseName } from "../../lib/paths";
import type { EditorPreferences } from "../settings/preferences";
import type { Buffer, EditorState } from "./editorState";
import { loadMonaco, type Monaco } from "./monaco";

type Model = monaco.editor.ITextModel;

interface ModelRecord {
  model: Model;
  /** `buffer.version` last put into the model. */
  version: number;
  /** The model's alternative version id when it matched the server. */
  cleanVersion: number;
  /** Shows a coder's live text. */
  live: boolean;
  /** The buffer last put into the model: an unchanged buffer needs no work (tokens arrive many times a second). */
  synced: Buffer | null;
  /** When a coder's live text last went into the model (performance.now()). */
  liveAt: number;
}

/**
 * A coder's text goes into Monaco at most this often while it streams
 * (tokens come every 25 ms per agent): each update makes Monaco re-render
 * its view and the browser lay out and paint it again. The first and the
 * final text go in at once.
 */
export const liveIntervalMs = 50;

/**
 * Tabs of open files over one Monaco editor. Each file has its own model
 * (undo history, language by extension); the reducer's buffers say what the
 * server holds, the models hold the person's edits. While a coder writes a
 * file, its tab shows the text arriving, read-only.
 */
export const EditorArea = memo(function EditorArea({ editor, projectId, preferences }: {
  editor: EditorState;
  projectId: string | null;
  preferences: EditorPreferences;
}) {
  const { connection, dispatch } = useServices();
  const host = useRef<HTMLDivElement>(null);
  const [monacoApi, setMonaco] = useState<Monaco | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [loadAttempt, setLoadAttempt] = useState(0);
  const instance = useRef<monaco.editor.IStandaloneCodeEditor | null>(null);
  const models = useRef(new Map<string, ModelRecord>());
  const applying = useRef(false);
  // Wakes the model sync for live text held back by liveIntervalMs.
  const [liveTick, setLiveTick] = useState(0);
  const liveTimer = useRef<number | null>(null);
  const latest = useRef({ editor, projectId });
  latest.current = { editor, projectId };

  useEffect(() => {
    let cancelled = false;
    loadMonaco().then(
      (api) => {
        if (!cancelled) setMonaco(api);
      },
      (error: unknown) => {
        if (!cancelled) setLoadError(error instanceof Error ? error.message : String(error));
      },
    );
    return () => {
      cancelled = true;
    };
  }, [loadAttempt]);

  const save = useCallback(
    async (path: string) => {
      const record = models.current.get(path);
      const { projectId: project } = latest.current;
      const buffer = latest.current.editor.buffers[path];
      if (record === undefined || project === null || buffer === undefined || record.live || buffer.encoding === "base64") return;
      const content = record.model.getValue();
      const version = record.model.getAlternativeVersionId();
      try {
        await connection.ask("file_update", { projectId: project, filePath: path, content }, "file_operation_result");
        record.cleanVersion = version;
        dispatch({ kind: "editor/saved", path, content });
        dispatch({ kind: "editor/dirty", path, dirty: record.model.getAlternativeVersionId() !== version });
      } catch (error) {
        reportFailure(dispatch, error, `Saving ${path}`);
      }
    },
    [connection, dispatch],
  );

  // One editor for the page's life.
  useEffect(() => {
    if (monacoApi === null || host.current === null) return;
    const created = monacoApi.editor.create(host.current, {
      model: null,
      theme: "vs-dark",
      automaticLayout: true,
      fontSize: preferences.fontSize,
      minimap: { enabled: preferences.minimap },
      wordWrap: preferences.wordWrap ? "on" : "off",
      scrollBeyondLastLine: false,
      ariaLabel: "Code editor",
    });
    created.addCommand(monacoApi.KeyMod.CtrlCmd | monacoApi.KeyCode.KeyS, () => {
      const path = latest.current.editor.active;
      if (path !== null) void save(path);
    });
    instance.current = created;
    const records = models.current;
    return () => {
      created.dispose();
      instance.current = null;
      for (const record of records.values()) record.model.dispose();
      records.clear();
    };
    // Preferences are applied by their own effect.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [monacoApi, save]);

  useEffect(() => {
    instance.current?.updateOptions({
      fontSize: preferences.fontSize,
      minimap: { enabled: preferences.minimap },
      wordWrap: preferences.wordWrap ? "on" : "off",
    });
    for (const record of models.current.values()) record.model.updateOptions({ tabSize: preferences.tabSize });
  }, [preferences, monacoApi]);

  // Models follow the buffers.
  useEffect(() => {
    const api = monacoApi;
    const view = instance.current;
    if (api === null || view === null) return;
    const records = models.current;
    let activeChanged = false;
    for (const [path, record] of [...records]) {
      if (!editor.tabs.includes(path)) {
        record.model.dispose();
        records.delete(path);
      }
    }
    for (const path of editor.tabs) {
      const buffer = editor.buffers[path];
      if (buffer === undefined) continue;
      const showable = buffer.live !== null || buffer.status === "ready";
      if (!showable || buffer.encoding === "base64") continue;
      let record = records.get(path);
      if (record === undefined) {
        const uri = api.Uri.from({ scheme: "inmemory", authority: "project", path: "/" + path });
        api.editor.getModel(uri)?.dispose();
        const model = api.editor.createModel("", languageForPath(path), uri);
        model.updateOptions({ tabSize: preferences.tabSize });
        const created: ModelRecord = { model, version: -1, cleanVersion: model.getAlternativeVersionId(), live: false, synced: null, liveAt: 0 };
        model.onDidChangeContent(() => {
          if (applying.current || created.live) return;
          dispatch({ kind: "editor/dirty", path, dirty: model.getAlternativeVersionId() !== created.cleanVersion });
        });
        records.set(path, created);
        record = created;
      }
      if (record.synced === buffer) continue;
      const now = performance.now();
      if (buffer.live !== null && record.live && now - record.liveAt < liveIntervalMs) {
        // More of a coder's text: it goes in at the next interval (with whatever came meanwhile).
        if (liveTimer.current === null) {
          liveTimer.current = window.setTimeout(() => {
            liveTimer.current = null;
            setLiveTick((tick) => tick + 1);
          }, liveIntervalMs - (now - record.liveAt));
        }
        continue;
      }
      sync(record, buffer, applying);
      record.synced = buffer;
      if (buffer.live !== null) record.liveAt = now;
      if (path === editor.active) activeChanged = true;
    }
    const active = editor.active !== null ? records.get(editor.active) : undefined;
    if (active === undefined) {
      if (view.getModel() !== null) view.setModel(null);
    } else {
      if (view.getModel() !== active.model) {
        view.setModel(active.model);
        activeChanged = true;
      }
      const buffer = editor.active !== null ? editor.buffers[editor.active] : undefined;
      const readOnly = active.live || buffer?.deleted === true;
      if (view.getOption(api.editor.EditorOption.readOnly) !== readOnly) view.updateOptions({ readOnly });
      if (active.live && activeChanged) view.revealLine(active.model.getLineCount());
    }
  }, [editor, monacoApi, dispatch, preferences.tabSize, liveTick]);
  useEffect(
    () => () => {
      if (liveTimer.current !== null) window.clearTimeout(liveTimer.current);
    },
    [],
  );

  // Files opened but not read yet.
  useEffect(() => {
    if (projectId === null) return;
    for (const path of editor.tabs) {
      const buffer = editor.buffers[path];
      if (buffer === undefined || buffer.status !== "unloaded" || buffer.live !== null) continue;
      dispatch({ kind: "editor/loading", path });
      connection.request("file_read", { projectId, filePath: path }).catch((error: unknown) => {
        dispatch({ kind: "editor/failed", path, error: error instanceof Error ? error.message : String(error) });
      });
    }
  }, [editor, projectId, connection, dispatch]);

  // Ctrl/Cmd+S outside the editor saves too, instead of the browser's "save page".
  useEffect(() => {
    const onKey = (event: globalThis.KeyboardEvent) => {
      if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "s") {
        event.preventDefault();
        const path = latest.current.editor.active;
        if (path !== null) void save(path);
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [save]);

  const useServerVersion = (path: string) => {
    const record = models.current.get(path);
    const buffer = editor.buffers[path];
    if (record === undefined || buffer === undefined) return;
    applying.current = true;
    record.model.setValue(buffer.saved);
    applying.current = false;
    record.cleanVersion = record.model.getAlternativeVersionId();
    record.version = buffer.version;
    dispatch({ kind: "editor/saved", path, content: buffer.saved });
  };

  const active = editor.active;
  const buffer = active !== null ? editor.buffers[active] : undefined;
  return (
    <section className="editor panel" aria-label="Editor">
      <div className="editor-toolbar">
        <TabBar editor={editor} />
        <label className="follow-toggle" title="Open the files the agents write while they write them">
          <input type="checkbox" checked={editor.follow} onChange={(event) => dispatch({ kind: "editor/follow", follow: event.target.checked })} /> Follow
          agents
        </label>
        <button
          type="button"
          className="button button-small"
          disabled={active === null || buffer === undefined || !buffer.dirty}
          onClick={() => active !== null && void save(active)}
          title="Save (Ctrl+S)"
        >
          Save
        </button>
      </div>
      {buffer !== undefined && active !== null && <BufferNotice path={active} buffer={buffer} onUseServer={useServerVersion} onSave={save} />}
      <div className="editor-body">
        <div ref={host} className="monaco-host" hidden={active === null || buffer === undefined || buffer.encoding === "base64"} />
        {loadError !== null && (
          <p className="panel-empty error-text" role="alert">
            The editor could not load: {loadError}.{" "}
            <button
              type="button"
              className="link-button"
              onClick={() => {
                setLoadError(null);
                setLoadAttempt((value) => value + 1);
              }}
            >
              Try again
            </button>
          </p>
        )}
        {active === null && (
          <p className="muted panel-empty">Open a file from the tree. With “Follow agents” on, files open as the agents write them.</p>
        )}
        {buffer?.encoding === "base64" && <p className="muted panel-empty">{baseName(active ?? "")} is a binary file; it is not shown.</p>}
        {buffer !== undefined && buffer.status === "loading" && buffer.live === null && <p className="muted editor-overlay">Loading…</p>}
      </div>
    </section>
  );
});

/** Puts what the server (or a coder) says into a model, unless the person is editing it. */
function sync(record: ModelRecord, buffer: Buffer, applying: { current: boolean }): void {
  const model = record.model;
  const set = (text: string) => {
    applying.current = true;
    try {
      const current = model.getValue();
      if (text.startsWith(current) && text.length > current.length) {
        // Streaming text only grows: append instead of replacing, so the view does not jump.
        const end = model.getFullModelRange().getEndPosition();
        model.applyEdits([{ range: { startLineNumber: end.lineNumber, startColumn: end.column, endLineNumber: end.lineNumber, endColumn: end.column }, text: text.slice(current.length) }]);
      } else if (text !== current) {
        model.setValue(text);
      }
    } finally {
      applying.current = false;
    }
  };
  if (buffer.live !== null) {
    record.live = true;
    set(buffer.live.text);
    return;
  }
  if (record.live || (!buffer.dirty && record.version !== buffer.version)) {
    record.live = false;
    set(buffer.saved);
    record.version = buffer.version;
    record.cleanVersion = model.getAlternativeVersionId();
  }
}

function BufferNotice({ path, buffer, onUseServer, onSave }: {
  path: string;
  buffer: Buffer;
  onUseServer: (path: string) => void;
  onSave: (path: string) => Promise<void>;
}) {
  if (buffer.live !== null) {
    return (
      <div className="editor-notice editor-live" role="status">
        <span className="pulse" aria-hidden="true" /> {buffer.live.agentId} is writing this file — read-only until it finishes.
      </div>
    );
  }
  if (buffer.deleted) return <div className="editor-notice editor-warning" role="status">This file was deleted.</div>;
  if (buffer.status === "error") return <div className="editor-notice editor-warning" role="alert">Cannot open {path}: {buffer.error}</div>;
  if (buffer.conflict) {
    return (
      <div className="editor-notice editor-warning" role="alert">
        {path} changed on the server while you were editing it.{" "}
        <button type="button" className="link-button" onClick={() => onUseServer(path)}>
          Use the server's version
        </button>{" "}
        ·{" "}
        <button type="button" className="link-button" onClick={() => void onSave(path)}>
          Overwrite it with mine
        </button>
      </div>
    );
  }
  return null;
}

function TabBar({ editor }: { editor: EditorState }) {
  const { dispatch } = useServices();
  const refs = useRef<(HTMLButtonElement | null)[]>([]);
  const close = (path: string) => {
    if (editor.buffers[path]?.dirty === true && !window.confirm(`${baseName(path)} has unsaved changes. Close it anyway?`)) return;
    dispatch({ kind: "editor/close", path });
  };
  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
    const index = editor.active !== null ? editor.tabs.indexOf(editor.active) : -1;
    let next = -1;
    if (event.key === "ArrowRight") next = (index + 1) % editor.tabs.length;
    else if (event.key === "ArrowLeft") next = (index - 1 + editor.tabs.length) % editor.tabs.length;
    else if (event.key === "Home") next = 0;
    else if (event.key === "End") next = editor.tabs.length - 1;
    else if (event.key === "Delete" && editor.active !== null) {
      close(editor.active);
      event.preventDefault();
      return;
    } else return;
    const path = editor.tabs[next];
    if (path === undefined) return;
    event.preventDefault();
    dispatch({ kind: "editor/activate", path });
    refs.current[next]?.focus();
  };
  return (
    <div className="tabs" role="tablist" aria-label="Open files" onKeyDown={onKeyDown}>
      {editor.tabs.map((path, index) => {
        const buffer = editor.buffers[path];
        const selected = path === editor.active;
        return (
          <div key={path} className={selected ? "tab active" : "tab"} title={path}>
            <button
              type="button"
              role="tab"
              ref={(element) => {
                refs.current[index] = element;
              }}
              aria-selected={selected}
              tabIndex={selected ? 0 : -1}
              className="tab-label"
              onClick={() => dispatch({ kind: "editor/activate", path })}
              onAuxClick={(event) => {
                if (event.button === 1) close(path);
              }}
            >
              {buffer?.live != null && <span className="pulse" aria-label="being written" />}
              {baseName(path)}
              {buffer?.dirty === true && (
                <span className="dirty-dot" aria-label="unsaved changes" title="Unsaved changes">
                  ●
                </span>
              )}
            </button>
            <button type="button" className="tab-close" aria-label={`Close ${baseName(path)}`} tabIndex={-1} onClick={() => close(path)}>
              ×
            </button>
          </div>
        );
      })}
    </div>
  );
}
