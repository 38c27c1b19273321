import { useState } from "react";
import { GitPanel } from "../features/git/GitPanel";
import { TerminalPanel } from "../features/terminal/TerminalPanel";

/** Terminal and git under the editor; collapses to its header. */
export function BottomPanel({ projectId, collapsed, onCollapse }: { projectId: string | null; collapsed: boolean; onCollapse: (collapsed: boolean) => void }) {
  const [tab, setTab] = useState<"terminal" | "git">("terminal");
  const choose = (next: "terminal" | "git") => {
    setTab(next);
    onCollapse(false);
  };
  return (
    <section className="bottom panel" aria-label="Terminal and git">
      <header className="panel-header bottom-header">
        <div className="segmented" role="tablist" aria-label="Bottom panel">
          <button type="button" role="tab" aria-selected={!collapsed && tab === "terminal"} className={tab === "terminal" ? "active" : ""} onClick={() => choose("terminal")}>
            Terminal
          </button>
          <button type="button" role="tab" aria-selected={!collapsed && tab === "git"} className={tab === "git" ? "active" : ""} onClick={() => choose("git")}>
            Git
          </button>
        </div>
        <button
          type="button"
          className="icon-button"
          aria-label={collapsed ? "Show the panel" : "Hide the panel"}
          aria-expanded={!collapsed}
          title={collapsed ? "Show" : "Hide"}
          onClick={() => onCollapse(!collapsed)}
        >
          {collapsed ? "▴" : "▾"}
        </button>
      </header>
      <div className="bottom-body" hidden={collapsed}>
        <div className="bottom-view" hidden={tab !== "terminal"}>
          <TerminalPanel projectId={projectId} visible={!collapsed && tab === "terminal"} />
        </div>
        <div className="bottom-view" hidden={tab !== "git"}>
          <GitPanel projectId={projectId} visible={!collapsed && tab === "git"} />
        </div>
      </div>
    </section>
  );
}
