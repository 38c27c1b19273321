import { memo, useEffect, useLayoutEffect, useRef, type ReactNode } from "react";
import { Markdown } from "../../lib/markdown/Markdown";
import { formatTime } from "../../lib/format";
import type { ChatMessage } from "../../state/types";
import type { PendingMessage } from "./chatState";

interface CommandMetadata {
  kind?: unknown;
  command?: unknown;
  exitCode?: unknown;
  phase?: unknown;
}

function metadataOf(message: ChatMessage): CommandMetadata {
  return typeof message.metadata === "object" && message.metadata !== null ? (message.metadata as CommandMetadata) : {};
}

const senderLabel: Record<ChatMessage["sender"], string> = { user: "You", assistant: "Master", system: "System" };

const MessageItem = memo(function MessageItem({ message }: { message: ChatMessage }) {
  const metadata = metadataOf(message);
  if (message.sender === "system" && metadata.kind === "command") {
    const newline = message.content.indexOf("\n");
    const output = newline >= 0 ? message.content.slice(newline + 1) : "";
    const command = typeof metadata.command === "string" ? metadata.command : message.content.slice(0, newline >= 0 ? newline : undefined);
    const exit = typeof metadata.exitCode === "number" ? metadata.exitCode : null;
    return (
      <li className="message message-command">
        <details>
          <summary>
            <code>$ {command}</code>
            {exit !== null && <span className={exit === 0 ? "badge badge-ok" : "badge badge-error"}>exit {exit}</span>}
            {message.agentId !== undefined && <span className="message-agent">{message.agentId}</span>}
          </summary>
          <pre className="command-output">{output || "(no output)"}</pre>
        </details>
      </li>
    );
  }
  const failed = message.sender === "system" && metadata.kind === "action_failed";
  return (
    <li className={`message message-${message.sender}${failed ? " message-failed" : ""}`}>
      <div className="message-meta">
        <span className="message-sender">{failed ? `${message.agentId ?? "An agent"} — failed` : senderLabel[message.sender]}</span>
        <time dateTime={message.timestamp}>{formatTime(message.timestamp)}</time>
      </div>
      <div className="message-body">
        <Markdown text={message.content} />
      </div>
    </li>
  );
});

export const MessageList = memo(function MessageList({ messages, pending, liveText, olderCursor, onLoadOlder, empty }: {
  messages: ChatMessage[];
  pending: PendingMessage[];
  /** The master's words as they stream in. */
  liveText: string | null;
  olderCursor: string | null;
  onLoadOlder: () => void;
  empty: ReactNode;
}) {
  const list = useRef<HTMLDivElement>(null);
  const pinned = useRef(true);

  // Follow the newest message unless the person scrolled up to read.
  useLayoutEffect(() => {
    const element = list.current;
    if (element !== null && pinned.current) element.scrollTop = element.scrollHeight;
  }, [messages, pending, liveText]);
  useEffect(() => {
    const element = list.current;
    if (element === null) return;
    const onScroll = () => {
      pinned.current = element.scrollHeight - element.scrollTop - element.clientHeight < 48;
    };
    element.addEventListener("scroll", onScroll, { passive: true });
    return () => element.removeEventListener("scroll", onScroll);
  }, []);

  const nothing = messages.length === 0 && pending.length === 0 && liveText === null;
  return (
    <div ref={list} className="message-scroll" tabIndex={0} aria-label="Conversation">
      {olderCursor !== null && (
        <button type="button" className="link-button load-older" onClick={onLoadOlder}>
          Load older messages
        </button>
      )}
      {nothing ? (
        empty
      ) : (
        <ol className="messages" aria-live="polite" aria-relevant="additions">
          {messages.map((message) => (
            <MessageItem key={message.id} message={message} />
          ))}
          {pending.map((item) => (
            <li key={item.localId} className={`message message-user message-pending${item.error !== null ? " message-failed" : ""}`}>
              <div className="message-meta">
                <span className="message-sender">You</span>
                <span>{item.error !== null ? `not sent: ${item.error}` : item.queued ? "queued — sent when the connection is back" : "sending…"}</span>
              </div>
              <div className="message-body">
                <Markdown text={item.content} />
              </div>
            </li>
          ))}
          {liveText !== null && (
            <li className="message message-assistant message-live" aria-busy="true">
              <div className="message-meta">
                <span className="message-sender">Master</span>
                <span className="typing">thinking…</span>
              </div>
              <div className="message-body">
                <pre className="live-text">{liveText}</pre>
              </div>
            </li>
          )}
        </ol>
      )}
    </div>
  );
});
