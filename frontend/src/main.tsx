import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App, startingState } from "./app/App";
import { backendFromPage } from "./config";
import { Connection } from "./lib/connection/Connection";
import { loadPreferences } from "./features/settings/preferences";
import "./styles/app.css";

const endpoints = backendFromPage();
const connection = new Connection(endpoints.webSocketUrl, { clientVersion: "hma-web-ide" });
const container = document.getElementById("root");
if (container === null) throw new Error("index.html has no #root");
createRoot(container).render(
  <StrictMode>
    <App connection={connection} endpoints={endpoints} initial={startingState(loadPreferences())} />
  </StrictMode>,
);
connection.start();
// Back online, or back to the tab: no need to wait for the backoff.
window.addEventListener("online", () => connection.reconnectNow());
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") connection.reconnectNow();
});
