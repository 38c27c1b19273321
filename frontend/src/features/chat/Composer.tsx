import { useEffect, useRef, useState, type FormEvent, type KeyboardEvent } from "react";
import { localStore, storageKeys } from "../../lib/storage";

export const languages = [
  ["auto", "Let the agents choose"],
  ["python", "Python"],
  ["javascript", "JavaScript"],
  ["typescript", "TypeScript"],
  ["go", "Go"],
  ["rust", "Rust"],
  ["swift", "Swift"],
  ["java", "Java"],
  ["c", "C"],
] as const;

/**
 * The message box: Enter sends, Shift+Enter is a newline. While the run
 * works, the button stops it. What is typed survives a reload (kept per
 * session until sent).
 */
export function Composer({ sessionId, working, startsProject, offline, onSend, onStop }: {
  sessionId: string | null;
  working: boolean;
  /** The message starts a new project (no session yet): the language can be chosen. */
  startsProject: boolean;
  offline: boolean;
  onSend: (text: string, language: string) => void;
  onStop: () => void;
}) {
  const [text, setText] = useState(() => localStore.get(storageKeys.draft(sessionId), ""));
  const [language, setLanguage] = useState("auto");
  const box = useRef<HTMLTextAreaElement>(null);

  useEffect(() => {
    setText(localStore.get(storageKeys.draft(sessionId), ""));
  }, [sessionId]);
  useEffect(() => {
    if (text === "") localStore.remove(storageKeys.draft(sessionId));
    else localStore.set(storageKeys.draft(sessionId), text);
  }, [text, sessionId]);
  useEffect(() => {
    // Grow with the text, up to a limit.
    const element = box.current;
    if (element === null) return;
    element.style.height = "auto";
    element.style.height = `${Math.min(element.scrollHeight, 240)}px`;
  }, [text]);

  const send = () => {
    const message = text.trim();
    if (message === "") return;
    onSend(message, language);
    setText("");
  };
  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      send();
    }
  };
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    if (working && text.trim() === "") onStop();
    else send();
  };
  const placeholder = startsProject
    ? "Describe the software to build…"
    : working
      ? "The agents are working — type to add a message"
      : "Answer the master, or ask for a change…";
  return (
    <form className="composer" onSubmit={onSubmit}>
      {startsProject && (
        <label className="composer-language">
          Language{" "}
          <select value={language} onChange={(event) => setLanguage(event.target.value)}>
            {languages.map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </label>
      )}
      <div className="composer-row">
        <label htmlFor="composer-input" className="visually-hidden">
          Message
        </label>
        <textarea
          id="composer-input"
          ref={box}
          rows={2}
          value={text}
          placeholder={placeholder}
          onChange={(event) => setText(event.target.value)}
          onKeyDown={onKeyDown}
          aria-describedby="composer-hint"
        />
        {working && text.trim() === "" ? (
          <button type="submit" className="button button-danger" aria-label="Stop the run">
            Stop
          </button>
        ) : (
          <button type="submit" className="button button-primary" disabled={text.trim() === ""}>
            Send
          </button>
        )}
      </div>
      <div id="composer-hint" className="composer-hint">
        Enter sends · Shift+Enter for a new line{offline ? " · offline: messages wait and are sent when the connection is back" : ""}
      </div>
    </form>
  );
}
