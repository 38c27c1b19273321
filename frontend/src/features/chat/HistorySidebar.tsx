import { memo, useState } from "react";
import { forgetCachedMessages } from "../../app/cache";
import { reportFailure, useServices } from "../../app/services";
import { formatAge } from "../../lib/format";
import type { ChatSessionSummary } from "../../state/types";
import type { HistoryState } from "./historyState";

/** The person's conversations, newest first: open, rename, delete, and older pages on demand. */
export const HistorySidebar = memo(function HistorySidebar({ history, activeId, onOpen }: {
  history: HistoryState;
  activeId: string | null;
  onOpen: (session: ChatSessionSummary) => void;
}) {
  const { connection, dispatch } = useServices();
  const [renaming, setRenaming] = useState<string | null>(null);
  const [title, setTitle] = useState("");

  const loadMore = () => {
    if (history.nextCursor === null) return;
    connection.request("load_chat_history", { limit: 30, before: history.nextCursor }).catch((error) => reportFailure(dispatch, error, "Loading history"));
  };
  const rename = async (session: ChatSessionSummary) => {
    const next = title.trim();
    setRenaming(null);
    if (next === "" || next === session.title) return;
    try {
      await connection.ask("save_chat_session", { session: { id: session.id, title: next } }, "chat_save_result");
      dispatch({ kind: "history/renamed", sessionId: session.id, title: next });
    } catch (error) {
      reportFailure(dispatch, error, "Renaming");
    }
  };
  const remove = async (session: ChatSessionSummary) => {
    if (!window.confirm(`Delete the conversation “${session.title}”? Its project stays.`)) return;
    try {
      await connection.ask("delete_chat_session", { sessionId: session.id }, "chat_delete_result");
      forgetCachedMessages(session.id);
    } catch (error) {
      reportFailure(dispatch, error, "Deleting");
    }
  };

  return (
    <nav className="history" aria-label="Conversation history">
      <h2 className="panel-title">History{history.cached ? " (saved copy)" : ""}</h2>
      {!history.loaded && <p className="muted">Loading…</p>}
      {history.loaded && history.sessions.length === 0 && <p className="muted">No conversations yet.</p>}
      <ul className="history-list">
        {history.sessions.map((session) => (
          <li key={session.id} className={session.id === activeId ? "history-item active" : "history-item"}>
            {renaming === session.id ? (
              <form
                onSubmit={(event) => {
                  event.preventDefault();
                  void rename(session);
                }}
              >
                <label className="visually-hidden" htmlFor={`rename-${session.id}`}>
                  New title
                </label>
                <input
                  id={`rename-${session.id}`}
                  value={title}
                  autoFocus
                  onChange={(event) => setTitle(event.target.value)}
                  onBlur={() => void rename(session)}
                  onKeyDown={(event) => {
                    if (event.key === "Escape") setRenaming(null);
                  }}
                />
              </form>
            ) : (
              <button
                type="button"
                className="history-open"
                aria-current={session.id === activeId ? "true" : undefined}
                onClick={() => onOpen(session)}
              >
                <span className="history-title">{session.title}</span>
                <span className="history-age">{formatAge(session.lastModified)}</span>
              </button>
            )}
            <div className="history-actions">
              <button
                type="button"
                className="icon-button"
                aria-label={`Rename ${session.title}`}
                title="Rename"
                onClick={() => {
                  setTitle(session.title);
                  setRenaming(session.id);
                }}
              >
                ✎
              </button>
              <button type="button" className="icon-button" aria-label={`Delete ${session.title}`} title="Delete" onClick={() => void remove(session)}>
                ×
              </button>
            </div>
          </li>
        ))}
      </ul>
      {history.nextCursor !== null && (
        <button type="button" className="link-button" onClick={loadMore}>
          Older conversations
        </button>
      )}
    </nav>
  );
});
