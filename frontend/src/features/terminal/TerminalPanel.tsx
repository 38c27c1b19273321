import { memo, useCallback, useEffect, useRef, useState } from "react";
import { useServices } from "../../app/services";
import { TerminalView, type TerminalRecord } from "./TerminalView";

/** The project's terminals as tabs; each is a shell in the project's sandbox. */
export const TerminalPanel = memo(function TerminalPanel({ projectId, visible }: { projectId: string | null; visible: boolean }) {
  const [terminals, setTerminals] = useState<TerminalRecord[]>([]);
  const [active, setActive] = useState<number | null>(null);
  const [nextKey, setNextKey] = useState(1);

  // Terminals belong to a project.
  useEffect(() => {
    setTerminals([]);
    setActive(null);
  }, [projectId]);

  const { connection } = useServices();
  const keys = useRef(nextKey);
  keys.current = nextKey;
  const add = useCallback((attachTo: string | null = null) => {
    const key = keys.current;
    keys.current = key + 1;
    setNextKey(key + 1);
    setTerminals((list) => [...list, { key, title: `Terminal ${key}`, sessionId: null, status: "starting", exitCode: null, generation: 0, attachTo }]);
    setActive(key);
  }, []);

  // When the panel is first shown for a project: the shells still running
  // from before a reload come back (`list_terminals`); else a new one opens.
  const opened = useRef<string | null>(null);
  useEffect(() => {
    if (visible && projectId !== null && opened.current !== projectId) {
      opened.current = projectId;
      if (terminals.length > 0) return;
      connection.ask("list_terminals", { projectId }, "terminal_list").then(
        (list) => {
          if (opened.current !== projectId) return;
          if (list.terminals.length === 0) add();
          for (const item of list.terminals) add(item.sessionId);
        },
        () => add(),
      );
    }
  }, [visible, projectId, terminals.length, add, connection]);

  const change = useCallback((key: number, update: Partial<TerminalRecord>) => {
    setTerminals((list) => list.map((item) => (item.key === key ? { ...item, ...update } : item)));
  }, []);
  const close = (key: number) => {
    const next = terminals.filter((item) => item.key !== key);
    setTerminals(next);
    if (active === key) setActive(next[next.length - 1]?.key ?? null);
  };
  const restart = (key: number) => {
    setTerminals((list) => list.map((item) => (item.key === key ? { ...item, generation: item.generation + 1 } : item)));
  };

  if (projectId === null) return <p className="muted panel-empty">A terminal opens in the project's sandbox once there is a project.</p>;
  const current = terminals.find((item) => item.key === active);
  return (
    <div className="terminals">
      <div className="terminal-tabs" role="tablist" aria-label="Terminals">
        {terminals.map((item) => (
          <div key={item.key} className={item.key === active ? "tab active" : "tab"}>
            <button type="button" role="tab" aria-selected={item.key === active} className="tab-label" onClick={() => setActive(item.key)}>
              {item.title}
              {item.status !== "running" && <span className="muted"> ({item.status})</span>}
            </button>
            <button type="button" className="tab-close" aria-label={`Close ${item.title}`} onClick={() => close(item.key)}>
              ×
            </button>
          </div>
        ))}
        <button type="button" className="icon-button" aria-label="New terminal" title="New terminal" onClick={() => add()}>
          +
        </button>
        {current !== undefined && (current.status === "stopped" || current.status === "failed") && (
          <button type="button" className="button button-small" onClick={() => restart(current.key)}>
            Start a new shell
          </button>
        )}
      </div>
      <div className="terminal-body">
        {terminals.map((item) => (
          <TerminalView key={item.key} projectId={projectId} record={item} visible={visible && item.key === active} onChange={change} />
        ))}
      </div>
    </div>
  );
});
