import { memo, useCallback, useMemo, useState } from "react";
import { answerPhase, loadOlderMessages, openSession, sendPrompt, startProject, stopRun } from "../../app/flows";
import { useServices } from "../../app/services";
import { isRunWorking, phaseAwaitingApproval, type SessionState } from "../../state/sessionState";
import type { ChatSessionSummary } from "../../state/types";
import { ApprovalBar } from "./ApprovalBar";
import { showsOfflineCopy, shownMessages, type ChatState } from "./chatState";
import { Composer } from "./Composer";
import { HistorySidebar } from "./HistorySidebar";
import { MessageList } from "./MessageList";
import type { HistoryState } from "./historyState";

const runLabels: Record<SessionState["run"], string> = {
  idle: "",
  starting: "Starting…",
  active: "The agents are working",
  waiting: "Waiting for you",
  completed: "Done",
  stopped: "Stopped",
  error: "The run failed",
};

/** The conversation with the master: messages, the approval bar, the message box, and the history sidebar. */
export const ChatPanel = memo(function ChatPanel({ session, chat, history, masterStream, online }: {
  session: SessionState;
  chat: ChatState;
  history: HistoryState;
  masterStream: string | null;
  online: boolean;
}) {
  const services = useServices();
  const [showHistory, setShowHistory] = useState(false);
  const working = isRunWorking(session.run);
  const approval = phaseAwaitingApproval(session);

  const onSend = useCallback(
    (text: string, language: string) => {
      if (session.id === null) void startProject(services, session, text, language);
      else void sendPrompt(services, session, text);
    },
    [services, session],
  );
  const onOpen = useCallback(
    (target: ChatSessionSummary) => {
      openSession(services, session, { id: target.id, projectId: target.projectId ?? null, title: target.title });
      setShowHistory(false);
    },
    [services, session],
  );

  return (
    <section className="chat panel" aria-label="Chat">
      <header className="panel-header">
        <button
          type="button"
          className="button button-small"
          aria-expanded={showHistory}
          aria-controls="chat-history"
          onClick={() => setShowHistory((value) => !value)}
        >
          {showHistory ? "Hide history" : "History"}
        </button>
        <h2 className="panel-title">Chat</h2>
        {session.run !== "idle" && (
          <span className={`run-status run-${session.run}`} role="status">
            {session.phase !== null && working ? `${session.phase.phaseTitle} · ` : ""}
            {runLabels[session.run]}
          </span>
        )}
        {session.run === "waiting" && session.id !== null && (
          // While the run waits the message box sends; stopping stays possible here.
          <button type="button" className="button button-small" onClick={() => void stopRun(services, session.id ?? "")}>
            Stop run
          </button>
        )}
      </header>
      <div className="chat-body">
        {showHistory && (
          <div id="chat-history" className="chat-history">
            <HistorySidebar history={history} activeId={session.id} onOpen={onOpen} />
          </div>
        )}
        <div className="chat-main">
          {showsOfflineCopy(chat) && !online && (
            <p className="offline-copy" role="status">
              This browser's saved copy of the conversation: the gateway is out of reach. It is replaced by the gateway's when the connection is back.
            </p>
          )}
          <MessageListContainer session={session} chat={chat} masterStream={masterStream} />
          {approval !== null && session.id !== null && (
            <ApprovalBar
              phase={approval}
              onAnswer={(approve, feedback) => answerPhase(services, session.id ?? "", approval.phase, approve, feedback)}
            />
          )}
          {session.run === "waiting" && approval === null && session.runMessage !== null && (
            <div className="question-bar" role="status">
              The master is waiting for your answer.
            </div>
          )}
          <Composer
            sessionId={session.id}
            working={working}
            startsProject={session.id === null}
            offline={!online}
            onSend={onSend}
            onStop={() => {
              if (session.id !== null) void stopRun(services, session.id);
            }}
          />
        </div>
      </div>
    </section>
  );
});

function MessageListContainer({ session, chat, masterStream }: { session: SessionState; chat: ChatState; masterStream: string | null }) {
  const services = useServices();
  const messages = useMemo(() => shownMessages(chat), [chat]);
  const empty = (
    <div className="chat-empty">
      <h3>What should the agents build?</h3>
      <p>
        Describe the software in a few sentences. The master agent plans it with you, phase by phase; managers and coders write the files you
        see on the right, and you can edit, run and commit them.
      </p>
    </div>
  );
  return (
    <MessageList
      messages={messages}
      pending={chat.pending}
      liveText={masterStream}
      olderCursor={chat.olderCursor}
      onLoadOlder={() => {
        if (session.id !== null && chat.olderCursor !== null) loadOlderMessages(services, session.id, chat.olderCursor);
      }}
      empty={session.id === null ? empty : <p className="muted chat-empty">No messages yet.</p>}
    />
  );
}
