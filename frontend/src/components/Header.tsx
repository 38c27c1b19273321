import { memo } from "react";
import type { WelcomeEvent } from "../protocol";
import type { ConnectionSnapshot } from "../lib/connection/types";

const statusText: Record<ConnectionSnapshot["status"], string> = {
  connecting: "Connecting…",
  online: "Connected",
  reconnecting: "Reconnecting…",
  refused: "Refused",
  stopped: "Closed",
};

/** The project's title, the actions on it, and the connection's state. */
export const Header = memo(function Header({ title, hasProject, connection, welcome, onNew, onImport, onDownload, onCluster, onSettings }: {
  title: string;
  hasProject: boolean;
  connection: ConnectionSnapshot;
  welcome: WelcomeEvent | null;
  onNew: () => void;
  onImport: () => void;
  onDownload: () => void;
  onCluster: () => void;
  onSettings: () => void;
}) {
  return (
    <header className="app-header">
      <div className="brand" aria-hidden="true">
        HMA
      </div>
      <h1 className="project-title" title={title}>
        {title}
      </h1>
      <nav className="header-actions" aria-label="Project">
        <button type="button" className="button" onClick={onNew}>
          New project
        </button>
        <button type="button" className="button" onClick={onImport}>
          Import
        </button>
        <button type="button" className="button" onClick={onDownload} disabled={!hasProject}>
          Download
        </button>
        <button type="button" className="button" onClick={onCluster}>
          Cluster
        </button>
        <button type="button" className="button" onClick={onSettings}>
          Settings
        </button>
      </nav>
      {welcome?.demoModel === true && (
        <button type="button" className="demo-badge" onClick={onSettings} title="Runs use the demo model: it replays a recorded sample project. Open the settings to choose a provider.">
          Demo model
        </button>
      )}
      <div className={`connection-state connection-${connection.status}`} role="status" aria-live="polite" title={connection.lastClose ?? ""}>
        <span className="connection-dot" aria-hidden="true" />
        {statusText[connection.status]}
        {welcome !== null && connection.status === "online" && <span className="muted"> · {welcome.userName}</span>}
      </div>
    </header>
  );
});
