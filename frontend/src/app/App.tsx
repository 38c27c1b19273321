import { useCallback, useEffect, useMemo, useReducer, useRef, useState } from "react";
import type { BackendEndpoints } from "../config";
import type { Connection } from "../lib/connection/Connection";
import { localStore, storageKeys } from "../lib/storage";
import type { ServerEvent } from "../protocol";
import { appReducer, initialAppState, type AppState } from "../state/appState";
import { initialSession } from "../state/sessionState";
import type { Action } from "../state/types";
import { BottomPanel } from "../components/BottomPanel";
import { ConnectionBanner } from "../components/ConnectionBanner";
import { Header } from "../components/Header";
import { Notices } from "../components/Notices";
import { SplitPane } from "../components/SplitPane";
import { AgentTree } from "../features/agents/AgentTree";
import { ChatPanel } from "../features/chat/ChatPanel";
import { initialChat } from "../features/chat/chatState";
import { ClusterDialog } from "../features/cluster/ClusterDialog";
import { EditorArea } from "../features/editor/EditorArea";
import { FileTree } from "../features/files/FileTree";
import { ImportDialog } from "../features/projects/ImportDialog";
import { SettingsDialog } from "../features/settings/SettingsDialog";
import { downloadProject, importProject, newProject, openSession, reloadSession, restoredSession, resumeSession, type SessionTarget } from "./flows";
import { ServicesProvider, type Services } from "./services";
import { loadCachedHistory, saveCachedHistory, saveCachedMessages } from "./cache";
import { EventQueue } from "./eventQueue";

/** The web IDE: state from server events through the reducers; panels render it and send intents. */
export function App({ connection, endpoints, initial }: { connection: Connection; endpoints: BackendEndpoints; initial: AppState }) {
  const [state, apply] = useReducer(appReducer, initial);
  // Server events reach the reducers once per animation frame; any other action delivers them first, so the order holds.
  const events = useMemo(
    () =>
      new EventQueue<ServerEvent>((waiting) => {
        for (const event of waiting) apply({ kind: "server", event });
      }),
    [],
  );
  const dispatch = useCallback(
    (action: Action) => {
      events.flush();
      apply(action);
    },
    [events],
  );
  const services = useMemo<Services>(() => ({ connection, dispatch, endpoints }), [connection, dispatch, endpoints]);
  const [dialog, setDialog] = useState<"settings" | "import" | "cluster" | null>(null);
  const [bottomCollapsed, setBottomCollapsed] = useState(() => localStore.get(storageKeys.layout("bottomCollapsed"), false));
  const latest = useRef(state);
  latest.current = state;

  // Every frame goes through the reducers.
  useEffect(() => {
    const stop = connection.onEvent((event) => events.push(event));
    return () => {
      stop();
      events.flush();
    };
  }, [connection, events]);
  useEffect(
    () =>
      connection.onStatus((snapshot) => {
        const action: { kind: "connection"; snapshot: typeof snapshot; welcome?: NonNullable<typeof connection.welcome> } = { kind: "connection", snapshot };
        if (connection.welcome !== undefined) action.welcome = connection.welcome;
        dispatch(action);
      }),
    [connection, dispatch],
  );

  // On each welcome: the history and the projects; on the first, the session shown before the reload
  // (already on screen from this browser's copy when startingState found one: it is followed now).
  const restored = useRef(false);
  const online = state.connection.status === "online";
  useEffect(() => {
    if (!online) return;
    connection.request("load_chat_history", { limit: 30 }).catch(() => undefined);
    connection.request("list_projects", {}).catch(() => undefined);
    if (!restored.current) {
      restored.current = true;
      const last = localStore.get<SessionTarget | null>(storageKeys.lastSession, null);
      const shown = latest.current.session;
      if (last !== null && typeof last.id === "string") {
        if (shown.id === last.id && connection.followedSession !== last.id) resumeSession(services, shown.id, shown.projectId);
        else if (shown.id === null) openSession(services, shown, last);
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

  // Local copies of the history and of the shown conversation's messages, for when the gateway is out of reach.
  useEffect(() => {
    if (state.history.loaded && !state.history.cached && online) saveCachedHistory(state.history);
  }, [state.history, online]);
  const shownSession = state.session.id;
  useEffect(() => {
    // Only the server's copy (its first page came); messages still being sent are not in `messages`.
    if (shownSession !== null && state.chat.loaded) saveCachedMessages(shownSession, state.chat.messages);
  }, [shownSession, state.chat.loaded, state.chat.messages]);

  const collapseBottom = useCallback((value: boolean) => {
    setBottomCollapsed(value);
    localStore.set(storageKeys.layout("bottomCollapsed"), value);
  }, []);

  const session = state.session;
  const masterStream = state.streams["master"] ?? null;
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

/**
 * The first state, from this browser: preferences, the saved copy of the
 * history, and the session shown before the reload with its saved messages
 * (so they show even when the gateway is out of reach; the server's copy
 * replaces them once connected).
 */
export function startingState(preferences: AppState["preferences"]): AppState {
  const state: AppState = { ...initialAppState, preferences, history: loadCachedHistory() ?? initialAppState.history };
  const restored = restoredSession();
  if (restored === null) return state;
  const { target, messages } = restored;
  return {
    ...state,
    session: { ...initialSession, id: target.id, projectId: target.projectId, title: target.title, run: target.run ?? "idle" },
    chat: { ...initialChat, offline: messages },
  };
}
