import type { ProjectInitStatusEvent, ProjectStatusEvent } from "../protocol";
import type { Action, RunStatus } from "./types";

/** The session the tab shows and where its run is. */
export interface SessionState {
  id: string | null;
  projectId: string | null;
  title: string;
  run: RunStatus;
  /** What the last project_status said (the master's question while waiting, the summary at the end). */
  runMessage: string | null;
  /** The run's current phase. */
  phase: ProjectInitStatusEvent | null;
}

export const initialSession: SessionState = { id: null, projectId: null, title: "New project", run: "idle", runMessage: null, phase: null };

export function runStatusOf(status: ProjectStatusEvent["status"] | string): RunStatus {
  switch (status) {
    case "initializing":
    case "active":
      return "active";
    case "waiting":
      return "waiting";
    case "completed":
      return "completed";
    case "stopped":
      return "stopped";
    case "error":
      return "error";
    default:
      return "idle";
  }
}

/** Working: the person can stop it, not talk to it. */
export function isRunWorking(run: RunStatus): boolean {
  return run === "starting" || run === "active";
}

/** The approval bar's question: the phase waiting for a yes or no, if any. */
export function phaseAwaitingApproval(session: SessionState): ProjectInitStatusEvent | null {
  return session.run === "waiting" && session.phase !== null && session.phase.requiresApproval ? session.phase : null;
}

export function sessionReducer(state: SessionState, action: Action): SessionState {
  switch (action.kind) {
    case "session/open":
      return { ...initialSession, id: action.id, projectId: action.projectId, title: action.title, run: action.run ?? "idle" };
    case "session/started":
      return { ...state, id: action.id, projectId: action.projectId ?? state.projectId, title: action.title };
    case "session/clear":
      return initialSession;
    case "run/set":
      return { ...state, run: action.status };
    case "server":
      break;
    default:
      return state;
  }
  const event = action.event;
  switch (event.type) {
    case "project_status": {
      const payload = event.payload;
      if (payload.sessionId !== undefined && state.id !== null && payload.sessionId !== state.id) return state;
      if (payload.sessionId === undefined && state.projectId !== null && payload.projectId !== state.projectId) return state;
      return { ...state, projectId: payload.projectId, run: runStatusOf(payload.status), runMessage: payload.message ?? null };
    }
    case "project_init_status": {
      const payload = event.payload;
      if (payload.sessionId !== undefined && state.id !== null && payload.sessionId !== state.id) return state;
      const ended = state.run === "completed" || state.run === "stopped" || state.run === "error";
      return { ...state, phase: payload, run: ended ? state.run : "active" };
    }
    case "resync_required": {
      const payload = event.payload;
      if (payload.sessionId !== state.id) return state;
      const run = payload.projectStatus !== undefined ? runStatusOf(payload.projectStatus) : state.run;
      // The phase the run is in (the one waiting for approval, when it waits).
      const phaseName = payload.phase;
      const phase =
        phaseName !== undefined && phaseName !== "" && state.phase?.phase !== phaseName
          ? { phase: phaseName, phaseTitle: phaseName.charAt(0).toUpperCase() + phaseName.slice(1), status: "active", requiresApproval: run === "waiting", message: "", sessionId: payload.sessionId }
          : state.phase;
      return { ...state, projectId: payload.projectId ?? state.projectId, run, phase };
    }
    case "project_list": {
      // The project's stored status, for a session opened after its events are gone.
      const project = event.payload.projects.find((item) => item.id === state.projectId);
      if (project === undefined) return state;
      const title = state.title === initialSession.title ? project.name : state.title;
      return { ...state, title, run: state.run === "idle" ? idleStatusFromProject(project.status) : state.run };
    }
    default:
      return state;
  }
}

/** A stored project status when no run event says more. */
function idleStatusFromProject(status: string): RunStatus {
  const run = runStatusOf(status);
  // A stored "active" without a live run is a run that will resume or has gone; events will say.
  return run === "active" ? "idle" : run;
}
