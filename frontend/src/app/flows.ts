import type { ImportProjectRequest } from "../protocol";
import { localStore, storageKeys } from "../lib/storage";
import type { SessionState } from "../state/sessionState";
import type { ChatMessage, RunStatus } from "../state/types";
import { loadCachedMessages } from "./cache";
import { reportFailure, type Services } from "./services";

/**
 * The app's multi-step intents: each sends requests and dispatches what
 * the reducers cannot learn from events alone. Components call these; the
 * events that follow flow through the reducers.
 */

export interface SessionTarget {
  id: string;
  projectId: string | null;
  title: string;
  run?: RunStatus;
}

const firstPage = 100;

let localIds = 0;
function localId(): string {
  localIds += 1;
  return `local-${Date.now().toString(36)}-${localIds}`;
}

/** Stops receiving the shown session's events (its socket may be gone already). */
function leave(services: Services, current: SessionState): void {
  if (current.id === null) return;
  services.connection.request("leave_session", { sessionId: current.id }, { queue: false }).catch(() => undefined);
}

/**
 * Shows a session: its stored messages (this browser's saved copy at once,
 * the server's when it answers), its agents and events (resume from the
 * start of what the gateway keeps), its files.
 */
export function openSession(services: Services, current: SessionState, target: SessionTarget): void {
  const { dispatch } = services;
  if (current.id !== null && current.id !== target.id) leave(services, current);
  const open: { kind: "session/open"; id: string; projectId: string | null; title: string; run?: RunStatus } = {
    kind: "session/open", id: target.id, projectId: target.projectId, title: target.title,
  };
  if (target.run !== undefined) open.run = target.run;
  dispatch(open);
  const cached = loadCachedMessages(target.id);
  if (cached !== null) dispatch({ kind: "chat/cached", sessionId: target.id, messages: cached });
  localStore.set(storageKeys.lastSession, target);
  resumeSession(services, target.id, target.projectId);
}

/** Follows a session already shown (e.g. from the saved copy while offline): its events from the start of what the gateway keeps, its messages and files. */
export function resumeSession(services: Services, sessionId: string, projectId: string | null): void {
  services.connection.follow(sessionId, { resume: true });
  reloadSession(services, sessionId, projectId);
}

/** The session shown before the page was reloaded, with this browser's copy of its messages (shown until the gateway answers). */
export function restoredSession(): { target: SessionTarget; messages: ChatMessage[] | null } | null {
  const last = localStore.get<SessionTarget | null>(storageKeys.lastSession, null);
  if (last === null || typeof last !== "object" || typeof last.id !== "string" || typeof last.title !== "string") return null;
  const target: SessionTarget = { id: last.id, projectId: typeof last.projectId === "string" ? last.projectId : null, title: last.title };
  if (last.run !== undefined) target.run = last.run;
  return { target, messages: loadCachedMessages(last.id) };
}

/** Loads what events cannot replay: stored messages and the file listing (also after resync_required). */
export function reloadSession(services: Services, sessionId: string, projectId: string | null, expanded: string[] = []): void {
  const { connection, dispatch } = services;
  connection
    .request("load_chat_messages", { sessionId, limit: firstPage })
    .catch((error) => reportFailure(dispatch, error, "Loading the conversation"));
  if (projectId !== null) {
    for (const folder of ["", ...expanded]) listFolder(services, projectId, folder);
    connection.request("list_projects", {}).catch(() => undefined);
  }
}

export function listFolder(services: Services, projectId: string, folder: string): void {
  services.dispatch({ kind: "files/loading", path: folder });
  services.connection
    .request("dir_list", { projectId, dirPath: folder })
    .catch((error) => reportFailure(services.dispatch, error, folder === "" ? "Listing the project's files" : `Listing ${folder}`));
}

export function loadOlderMessages(services: Services, sessionId: string, before: string): void {
  services.connection
    .request("load_chat_messages", { sessionId, limit: firstPage, before })
    .catch((error) => reportFailure(services.dispatch, error, "Loading older messages"));
}

/** An empty workspace for a new project; the next message starts it. */
export function newProject(services: Services, current: SessionState): void {
  leave(services, current);
  services.connection.follow(null);
  services.dispatch({ kind: "session/clear" });
  localStore.remove(storageKeys.lastSession);
}

/** Starts a project on the person's request (`start_project_init`); the session it makes becomes the shown one. */
export async function startProject(services: Services, current: SessionState, prompt: string, language: string): Promise<void> {
  const { connection, dispatch } = services;
  leave(services, current);
  // Numbered events are dropped until the answer names the new session.
  connection.follow(null);
  const pending = localId();
  dispatch({ kind: "chat/pending", localId: pending, content: prompt, queued: connection.snapshot.status !== "online" });
  dispatch({ kind: "run/set", status: "starting" });
  try {
    const answer = await connection.ask("start_project_init", { language, initialPrompt: prompt }, "chat_session");
    const session = answer.session;
    // The answer comes before the session's first event (numbered from 1).
    connection.follow(session.id, { lastSeq: 0 });
    dispatch({ kind: "session/started", id: session.id, projectId: session.projectId ?? null, title: session.title });
    localStore.set(storageKeys.lastSession, { id: session.id, projectId: session.projectId ?? null, title: session.title });
    dispatch({ kind: "chat/pendingDone", localId: pending });
    if (session.projectId !== undefined) connection.request("list_projects", {}).catch(() => undefined);
  } catch (error) {
    dispatch({ kind: "run/set", status: "idle" });
    dispatch({ kind: "chat/pendingFailed", localId: pending, error: errorText(error) });
    reportFailure(dispatch, error, "Starting the project");
  }
}

/** The person speaks in the shown session: an answer to the run, or a new request for the project. */
export async function sendPrompt(services: Services, session: SessionState, prompt: string): Promise<void> {
  const { connection, dispatch } = services;
  if (session.id === null) return;
  const pending = localId();
  dispatch({ kind: "chat/pending", localId: pending, content: prompt, queued: connection.snapshot.status !== "online" });
  try {
    await connection.ask("prompt", { sessionId: session.id, prompt }, "ok");
    dispatch({ kind: "chat/pendingDone", localId: pending });
    if (session.run !== "active") dispatch({ kind: "run/set", status: "active" });
  } catch (error) {
    dispatch({ kind: "chat/pendingFailed", localId: pending, error: errorText(error) });
    reportFailure(dispatch, error, "Sending the message");
  }
}

export async function answerPhase(services: Services, sessionId: string, phase: string, approve: boolean, feedback: string): Promise<void> {
  const { connection, dispatch } = services;
  const payload = feedback.trim() === "" ? { sessionId, phase } : { sessionId, phase, feedback: feedback.trim() };
  try {
    await connection.ask(approve ? "approve_phase" : "reject_phase", payload, "ok");
    dispatch({ kind: "run/set", status: "active" });
  } catch (error) {
    reportFailure(dispatch, error, approve ? "Approving the phase" : "Sending the phase back");
  }
}

export async function stopRun(services: Services, sessionId: string): Promise<void> {
  try {
    await services.connection.ask("stop", { sessionId }, "ok");
  } catch (error) {
    reportFailure(services.dispatch, error, "Stopping the run");
  }
}

/** Imports files, a zip or a git URL as a new project, then shows it. */
export async function importProject(services: Services, current: SessionState, request: ImportProjectRequest): Promise<boolean> {
  const { connection, dispatch } = services;
  leave(services, current);
  connection.follow(null);
  dispatch({ kind: "session/clear" });
  try {
    const result = await connection.ask("import_project", request, "import_result", { timeoutMs: 600_000 });
    const list = await connection.ask("list_projects", {}, "project_list");
    const project = list.projects.find((item) => item.id === result.projectId);
    if (project?.sessionId !== undefined) {
      openSession(services, { ...current, id: null }, { id: project.sessionId, projectId: project.id, title: project.name });
    }
    dispatch({ kind: "notice/add", level: "info", text: `Imported ${result.files} file${result.files === 1 ? "" : "s"}.` });
    return true;
  } catch (error) {
    reportFailure(dispatch, error, "Importing");
    return false;
  }
}

/** Asks for a signed link to the project's zip and lets the browser download it. */
export async function downloadProject(services: Services, projectId: string): Promise<void> {
  try {
    const ready = await services.connection.ask("download_project", { projectId }, "download_ready");
    const link = document.createElement("a");
    // The link is relative to the gateway (which may live under a path).
    link.href = ready.url.startsWith("/") ? services.endpoints.httpBase + ready.url : ready.url;
    link.download = "";
    link.rel = "noopener";
    document.body.appendChild(link);
    link.click();
    link.remove();
  } catch (error) {
    reportFailure(services.dispatch, error, "Preparing the download");
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
