import { createContext, useContext, type Dispatch, type ReactNode } from "react";
import type { Connection } from "../lib/connection/Connection";
import { RequestFailure } from "../lib/connection/types";
import type { BackendEndpoints } from "../config";
import type { Action } from "../state/types";

/** What every feature may use besides the state it is given: the connection and the dispatcher. */
export interface Services {
  connection: Connection;
  dispatch: Dispatch<Action>;
  endpoints: BackendEndpoints;
}

const ServicesContext = createContext<Services | null>(null);

export function ServicesProvider({ services, children }: { services: Services; children: ReactNode }) {
  return <ServicesContext.Provider value={services}>{children}</ServicesContext.Provider>;
}

export function useServices(): Services {
  const services = useContext(ServicesContext);
  if (services === null) throw new Error("useServices outside ServicesProvider");
  return services;
}

/** A failed request as a sentence for a notice. */
export function describeFailure(error: unknown, what: string): string {
  if (error instanceof RequestFailure) {
    if (error.code === "disconnected") return `${what}: the connection dropped before the gateway answered; try again.`;
    return `${what}: ${error.message}`;
  }
  return `${what}: ${error instanceof Error ? error.message : String(error)}`;
}

/** Shows a failure as a notice. */
export function reportFailure(dispatch: Dispatch<Action>, error: unknown, what: string): void {
  if (error instanceof RequestFailure && error.code === "stopped") return;
  dispatch({ kind: "notice/add", level: "error", text: describeFailure(error, what) });
}
