import { memo, useEffect, useRef } from "react";
import { useServices } from "../app/services";
import type { Notice } from "../state/types";

const infoLifetimeMs = 6000;

/** Errors and confirmations, newest last; info notices go away by themselves. */
export const Notices = memo(function Notices({ notices }: { notices: Notice[] }) {
  const { dispatch } = useServices();
  const scheduled = useRef(new Set<number>());
  useEffect(() => {
    for (const notice of notices) {
      if (notice.level !== "info" || scheduled.current.has(notice.id)) continue;
      scheduled.current.add(notice.id);
      window.setTimeout(() => {
        scheduled.current.delete(notice.id);
        dispatch({ kind: "notice/dismiss", id: notice.id });
      }, infoLifetimeMs);
    }
  }, [notices, dispatch]);
  if (notices.length === 0) return null;
  return (
    <div className="notices" role="log" aria-live="polite" aria-label="Notifications">
      {notices.map((notice) => (
        <div key={notice.id} className={`notice notice-${notice.level}`} role={notice.level === "error" ? "alert" : "status"}>
          <span>{notice.text}</span>
          <button type="button" className="icon-button" aria-label="Dismiss" onClick={() => dispatch({ kind: "notice/dismiss", id: notice.id })}>
            ×
          </button>
        </div>
      ))}
    </div>
  );
});
