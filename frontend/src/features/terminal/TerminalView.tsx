import { useEffect, useRef } from "react";
import { useServices } from "../../app/services";
import { KeystrokeBatcher } from "./keystrokes";

export interface TerminalRecord {
  key: number;
  title: string;
  /** The gateway's terminal id, once the shell runs. */
  sessionId: string | null;
  status: "starting" | "running" | "stopped" | "failed";
  exitCode: number | null;
  /** Grows to ask for a fresh shell in the same view. */
  generation: number;
  /** A shell that is already running (found by `list_terminals` after a reload): attached, not created. */
  attachTo: string | null;
}

/**
 * One xterm.js terminal attached to a shell in the project's sandbox:
 * output from `terminal_data`, keystrokes batched into `send_terminal_data`,
 * and the size following the pane (fit addon → `resize_terminal`).
 */
export function TerminalView({ projectId, record, visible, onChange }: {
  projectId: string;
  record: TerminalRecord;
  visible: boolean;
  onChange: (key: number, change: Partial<TerminalRecord>) => void;
}) {
  const { connection } = useServices();
  const host = useRef<HTMLDivElement>(null);
  const terminal = useRef<XtermTerminal | null>(null);
  const fit = useRef<XtermFitAddon | null>(null);
  const sessionId = useRef<string | null>(null);
  const visibleRef = useRef(visible);
  visibleRef.current = visible;

  // The xterm instance lives as long as the view.
  useEffect(() => {
    const Terminal = window.Terminal;
    const FitAddon = window.FitAddon?.FitAddon;
    if (host.current === null || Terminal === undefined || FitAddon === undefined) {
      onChange(record.key, { status: "failed" });
      return;
    }
    const term = new Terminal({
      cursorBlink: true,
      fontSize: 13,
      fontFamily: "ui-monospace, SFMono-Regular, Menlo, Consolas, monospace",
      scrollback: 5000,
      // The DOM renderer keeps the text in the page (screen readers, find, tests).
      rendererType: "dom",
      theme: { background: "#11151c", foreground: "#d8dee9" },
    });
    const addon = new FitAddon();
    term.loadAddon(addon);
    term.open(host.current);
    terminal.current = term;
    fit.current = addon;
    const batcher = new KeystrokeBatcher(
      (data) => {
        const id = sessionId.current;
        if (id !== null) connection.notify("send_terminal_data", { sessionId: id, data });
      },
      (callback, ms) => window.setTimeout(callback, ms),
    );
    const input = term.onData((data) => batcher.push(data));
    const resized = term.onResize(({ cols, rows }) => {
      const id = sessionId.current;
      if (id !== null) connection.notify("resize_terminal", { sessionId: id, cols: Math.max(2, cols), rows: Math.max(2, rows) });
    });
    const observer = new ResizeObserver(() => {
      if (visibleRef.current && host.current !== null && host.current.clientWidth > 0) addon.fit();
    });
    observer.observe(host.current);
    return () => {
      observer.disconnect();
      input.dispose();
      resized.dispose();
      batcher.drain();
      const id = sessionId.current;
      if (id !== null) connection.request("close_terminal", { sessionId: id }, { queue: false }).catch(() => undefined);
      term.dispose();
      terminal.current = null;
      fit.current = null;
    };
    // The record's key names this view for its whole life.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [connection]);

  // A shell per generation: the first, and each restart.
  useEffect(() => {
    const term = terminal.current;
    if (term === null) return;
    let cancelled = false;
    const early: { sessionId: string; data: string }[] = [];
    sessionId.current = null;
    const unsubscribe = connection.onEvent((event) => {
      if (event.type === "terminal_data") {
        if (event.payload.sessionId === sessionId.current) term.write(event.payload.data);
        else if (sessionId.current === null) early.push(event.payload); // output can overtake the answer
      } else if (event.type === "terminal_session" && event.payload.sessionId === sessionId.current && event.payload.status === "detached") {
        term.write("\r\n\x1b[2m[this shell is now shown in another tab]\x1b[0m\r\n");
        sessionId.current = null;
        onChange(record.key, { status: "stopped", sessionId: null });
      } else if (event.type === "terminal_session" && event.payload.sessionId === sessionId.current && event.payload.status === "stopped") {
        const code = event.payload.exitCode ?? null;
        term.write(`\r\n\x1b[2m[the shell ended${code !== null ? ` with exit code ${code}` : ""}]\x1b[0m\r\n`);
        sessionId.current = null;
        onChange(record.key, { status: "stopped", exitCode: code, sessionId: null });
      }
    });
    // The shell outlives the socket (docs/protocol.md, "Terminals"): after
    // a drop, attach again; the gateway replays its recent output, so the
    // screen is cleared and redrawn from it.
    let lost: string | null = null;
    const attach = (id: string, redraw: boolean) => {
      sessionId.current = null; // output waits in `early` until the answer
      connection.ask("attach_terminal", { sessionId: id }, "terminal_session").then(
        () => {
          if (cancelled) return;
          if (redraw) term.reset();
          started(id);
        },
        () => {
          if (cancelled) return;
          early.length = 0;
          term.write("\r\n\x1b[2m[this shell ended while the connection was away]\x1b[0m\r\n");
          onChange(record.key, { status: "stopped", sessionId: null });
        },
      );
    };
    const unwatch = connection.onStatus((snapshot) => {
      if (snapshot.status === "reconnecting" && sessionId.current !== null) {
        lost = sessionId.current;
        sessionId.current = null;
        term.write("\r\n\x1b[33m[connection lost: the shell keeps running; reattaching…]\x1b[0m\r\n");
      } else if (snapshot.status === "online" && lost !== null) {
        const id = lost;
        lost = null;
        attach(id, true);
      }
    });
    const started = (id: string) => {
      sessionId.current = id;
      for (const item of early) if (item.sessionId === id) term.write(item.data);
      early.length = 0;
      onChange(record.key, { status: "running", sessionId: id, exitCode: null });
      if (visibleRef.current) term.focus();
    };
    if (visibleRef.current && host.current !== null && host.current.clientWidth > 0) fit.current?.fit();
    const cols = Math.min(1000, Math.max(2, term.cols));
    const rows = Math.min(1000, Math.max(2, term.rows));
    onChange(record.key, { status: "starting" });
    if (record.attachTo !== null && record.generation === 0) {
      attach(record.attachTo, false);
      connection.notify("resize_terminal", { sessionId: record.attachTo, cols, rows });
    } else {
      connection.ask("create_terminal_session", { projectId, cols, rows }, "terminal_session").then(
        (session) => {
          if (cancelled) {
            connection.request("close_terminal", { sessionId: session.sessionId }, { queue: false }).catch(() => undefined);
            return;
          }
          started(session.sessionId);
          if (term.cols !== cols || term.rows !== rows) {
            connection.notify("resize_terminal", { sessionId: session.sessionId, cols: Math.max(2, term.cols), rows: Math.max(2, term.rows) });
          }
        },
        (error: unknown) => {
          if (cancelled) return;
          term.write(`\r\n\x1b[31m[cannot open a shell: ${error instanceof Error ? error.message : String(error)}]\x1b[0m\r\n`);
          onChange(record.key, { status: "failed" });
        },
      );
    }
    return () => {
      cancelled = true;
      unsubscribe();
      unwatch();
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [record.generation, projectId, connection]);

  useEffect(() => {
    if (visible && host.current !== null && host.current.clientWidth > 0) {
      fit.current?.fit();
      terminal.current?.focus();
    }
  }, [visible]);

  return <div ref={host} className="xterm-host" hidden={!visible} aria-label={`Terminal ${record.title}`} role="region" />;
}
