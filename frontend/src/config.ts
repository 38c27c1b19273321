/**
 * Where the gateway is. Same origin unless configured:
 * 1. at run time, `window.HMA_CONFIG.backendUrl` (set in `config.js`, which
 *    index.html loads before the app; edit it in `dist/` after a build);
 * 2. at build time, `HMA_BACKEND_URL` (baked into the bundle);
 * 3. otherwise the page's own origin.
 */
export interface BackendEndpoints {
  /** Base for HTTP links such as downloads, without a trailing slash. */
  httpBase: string;
  /** The WebSocket URL of the protocol. */
  webSocketUrl: string;
}

/** Pure: the endpoints for a configured base URL and the page's location. */
export function resolveBackend(configured: string | undefined, page: { protocol: string; host: string }): BackendEndpoints {
  const base = (configured ?? "").trim().replace(/\/+$/, "");
  const httpBase = base === "" ? `${page.protocol}//${page.host}` : base;
  const url = new URL(httpBase);
  const wsProtocol = url.protocol === "https:" ? "wss:" : "ws:";
  const path = url.pathname.replace(/\/+$/, "");
  return { httpBase: `${url.protocol}//${url.host}${path}`, webSocketUrl: `${wsProtocol}//${url.host}${path}/ws` };
}

export function backendFromPage(): BackendEndpoints {
  const runtime = window.HMA_CONFIG?.backendUrl;
  const configured = runtime !== undefined && runtime !== "" ? runtime : __HMA_BACKEND_URL__;
  return resolveBackend(configured, window.location);
}
