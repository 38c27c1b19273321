import { useCallback, useEffect, useMemo, useReducer, useRef, useState } from "react";
import type { BackendEndpoints } from "../config";
import type { Connection } from "../lib/connection/Connection";
import { localStore, storageKeys } from "../lib/storage";
import { appReducer, initialAppState, type AppState } from "../state/appState";
import { BottomPanel } from "../components/BottomPanel";
import { ConnectionBanner } from "../components/ConnectionBanner";
import { Header } from "../components/Header";
import { Notices } from "../components/Notices";
import { SplitPane } from "../components/SplitPane";
import { AgentTree } from "../features/agents/AgentTree";
import { ChatPanel } from "../features/chat/ChatPanel";
import { ClusterDialog } from "../features/cluster/ClusterDialog";
import { EditorArea } from "../features/editor/EditorArea";
import { FileTree } from "../features/files/FileTree";
import { ImportDialog } from "../features/projects/ImportDialog";
import { SettingsDialog } from "../features/settings/SettingsDialog";
import { downloadProject, importProject, newProject, openSession, reloadSession, type SessionTarget } from "./flows";
import { ServicesProvider, type Services } from "./services";
import { loadCachedHistory, saveCachedHistory } from "./cache";

/** The web IDE: state from server events through the reducers; panels render it and send intents. */
export function App({ connection, endpoints, initial }: { connection: Connection; endpoints: BackendEndpoints; initial: AppState }) {
  const [state, dispatch] = useReducer(appReducer, initial);
  const services = useMemo<Services>(() => ({ connection, dispatch, endpoints }), [connection, endpoints]);
  const [dialog, setDialog] = useState<"settings" | "import" | "cluster" | null>(null);
  const [bottomCollapsed, setBottomCollapsed] = useState(() => localStore.get(storageKeys.layout("bottomCollapsed"), false));
  const latest = useRef(state);
  latest.current = state;

  // Every frame goes through the reducers.
  useEffect(() => connection.onEvent((event) => dispatch({ kind: "server", event })), [connection]);
  useEffect(
    () =>
      connection.onStatus((snapshot) => {
        const action: { kind: "connection"; snapshot: typeof snapshot; welcome?: NonNullable<typeof connection.welcome> } = { kind: "connection", snapshot };
        if (connection.welcome !== undefined) action.welcome = connection.welcome;
        dispatch(action);
      }),
    [connection],
  );

  // On each welcome: the history and the projects; on the first, the session shown before the reload.
  const restored = useRef(false);
  const online = state.connection.status === "online";
  useEffect(() => {
    if (!online) return;
    connection.request("load_chat_history", { limit: 30 }).catch(() => undefined);
    connection.request("list_projects", {}).catch(() => undefined);
    if (!restored.current) {
      restored.current = true;
      const last = localStore.get<SessionTarget | null>(storageKeys.lastSession, null);
      if (last !== null && typeof last.id === "string" && latest.current.session.id === null) {
        openSession(services, latest.current.session, last);
      }
    }
  }, [online, connection, services]);

  // Events that are gone: reload what the events would have told.
  useEffect(
    () =>
      connection.onEvent((event) => {
        const session = latest.current.session;
        if (event.type === "resync_required" && event.payload.sessionId === session.id) {
          reloadSession(services, event.payload.sessionId, event.payload.projectId ?? session.projectId, Object.keys(latest.current.files.expanded));
        }
        if (event.type === "error" && event.payload.code === "not_found" && session.id !== null && event.payload.message.includes(session.id)) {
          // The shown session was deleted elsewhere.
          newProject(services, session);
        }
      }),
    [connection, services],
  );

  // A local copy of the history for when the gateway is out of reach.
  useEffect(() => {
    if (state.history.loaded && online) saveCachedHistory(state.history);
  }, [state.history, online]);

  const collapseBottom = useCallback((value: boolean) => {
    setBottomCollapsed(value);
    localStore.set(storageKeys.layout("bottomCollapsed"), value);
  }, []);

  const session = state.session;
  const masterStream = state.agents.streams["master"] ?? null;
  const left = (
    <SplitPane
      name="left"
      direction="vertical"
      initial={0.68}
      min={0.25}
      max={0.92}
      label="Resize chat and agents"
      first={<ChatPanel session={session} chat={state.chat} history={state.history} masterStream={masterStream} online={online} />}
      second={<AgentTree agents={state.agents} />}
    />
  );
  const right = (
    <SplitPane
      name="right"
      direction="vertical"
      initial={0.66}
      min={0.2}
      max={0.9}
      collapsed={bottomCollapsed}
      label="Resize editor and terminal"
      first={
        <SplitPane
          name="files"
          direction="horizontal"
          initial={0.24}
          min={0.1}
          max={0.5}
          label="Resize files and editor"
          first={<FileTree files={state.files} projectId={session.projectId} activePath={state.editor.active} />}
          second={<EditorArea editor={state.editor} projectId={session.projectId} preferences={state.preferences} />}
        />
      }
      second={<BottomPanel projectId={session.projectId} collapsed={bottomCollapsed} onCollapse={collapseBottom} />}
    />
  );
  return (
    <ServicesProvider services={services}>
      <div className="app">
        <Header
          title={session.title}
          hasProject={session.projectId !== null}
          connection={state.connection}
          welcome={state.welcome}
          onNew={() => newProject(services, session)}
          onImport={() => setDialog("import")}
          onDownload={() => {
            if (session.projectId !== null) void downloadProject(services, session.projectId);
          }}
          onCluster={() => setDialog("cluster")}
          onSettings={() => setDialog("settings")}
        />
        <ConnectionBanner connection={state.connection} />
        <main className="workspace">
          <SplitPane name="main" direction="horizontal" initial={0.36} min={0.2} max={0.7} label="Resize chat and workspace" first={left} second={right} />
        </main>
        <Notices notices={state.notices} />
        <SettingsDialog
          open={dialog === "settings"}
          onClose={() => setDialog(null)}
          config={state.llmConfig}
          demoModel={state.welcome?.demoModel === true}
          preferences={state.preferences}
        />
        <ImportDialog open={dialog === "import"} onClose={() => setDialog(null)} onImport={(request) => importProject(services, session, request)} />
        <ClusterDialog open={dialog === "cluster"} onClose={() => setDialog(null)} />
      </div>
    </ServicesProvider>
  );
}

/** The first state: preferences and the saved history copy from this browser. */
export function startingState(preferences: AppState["preferences"]): AppState {
  return { ...initialAppState, preferences, history: loadCachedHistory() ?? initialAppState.history };
}
