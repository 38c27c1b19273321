import { memo, useEffect, useState } from "react";
import type { ConnectionSnapshot } from "../lib/connection/types";
import { useServices } from "../app/services";

/** While the gateway is out of reach: what happens next, and a way to retry now. */
export const ConnectionBanner = memo(function ConnectionBanner({ connection }: { connection: ConnectionSnapshot }) {
  const { connection: socket } = useServices();
  const [now, setNow] = useState(() => Date.now());
  const waiting = connection.status === "reconnecting";
  useEffect(() => {
    if (!waiting) return;
    const timer = window.setInterval(() => setNow(Date.now()), 500);
    return () => window.clearInterval(timer);
  }, [waiting]);
  if (connection.status === "online" || connection.status === "connecting" || connection.status === "stopped") return null;
  if (connection.status === "refused") {
    return (
      <div className="banner banner-error" role="alert">
        The gateway refused this tab: {connection.lastClose ?? "the sign-in belongs to someone else"}. Open the sign-in link again.
      </div>
    );
  }
  const seconds = connection.retryAt !== undefined ? Math.max(0, Math.ceil((connection.retryAt - now) / 1000)) : 0;
  const neverConnected = connection.failures >= 3;
  return (
    <div className="banner banner-warning" role="status" aria-live="polite">
      <strong>Disconnected from the gateway.</strong>{" "}
      {seconds > 0 ? `Reconnecting in ${seconds} s` : "Reconnecting…"}
      {connection.queued > 0 && ` · ${connection.queued} request${connection.queued === 1 ? "" : "s"} will be sent when it is back`}
      {neverConnected && (
        <span className="banner-hint">
          {" "}
          If this persists, check that <code>hma dev</code> is running, and open the sign-in link it printed (the session cookie may be missing).
        </span>
      )}{" "}
      <button type="button" className="link-button" onClick={() => socket.reconnectNow()}>
        Retry now
      </button>
    </div>
  );
});
