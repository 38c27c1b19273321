import assert from "node:assert/strict";
import { test } from "node:test";
import type { ServerEvent } from "../../src/protocol";
import { appReducer, initialAppState, type AppState } from "../../src/state/appState";
import { phaseAwaitingApproval } from "../../src/state/sessionState";
import type { Action } from "../../src/state/types";
import { buildAgentTree, totals } from "../../src/features/agents/agentsState";
import { visibleTree } from "../../src/features/files/filesState";

const server = (event: ServerEvent): Action => ({ kind: "server", event });
const run = (actions: Action[], from: AppState = initialAppState) => actions.reduce(appReducer, from);
const opened = run([{ kind: "session/open", id: "s1", projectId: "p1", title: "Temps" }]);

const message = (id: string, timestamp: string, content = id, sender: "user" | "assistant" | "system" = "assistant") =>
  server({ type: "message", seq: 1, payload: { id, sessionId: "s1", content, sender, timestamp } });

test("chat: messages keep one copy per id, in time order, across events and pages", () => {
  const state = run(
    [
      message("m2", "2026-01-01T00:00:02Z"),
      server({
        type: "chat_messages_response",
        payload: {
          sessionId: "s1",
          messages: [
            { id: "m2", sessionId: "s1", content: "m2", sender: "assistant", timestamp: "2026-01-01T00:00:02Z" },
            { id: "m1", sessionId: "s1", content: "m1", sender: "user", timestamp: "2026-01-01T00:00:01Z" },
          ],
          nextCursor: "older",
        },
      }),
      message("m3", "2026-01-01T00:00:03Z"),
    ],
    opened,
  );
  assert.deepEqual(state.chat.messages.map((item) => item.id), ["m1", "m2", "m3"]);
  assert.equal(state.chat.olderCursor, "older");
});

test("chat: another session's messages are not shown", () => {
  const state = run([server({ type: "message", payload: { id: "x", sessionId: "other", content: "x", sender: "user", timestamp: "t" } })], opened);
  assert.equal(state.chat.messages.length, 0);
});

test("chat: the gateway's copy of a sent message replaces the pending one", () => {
  const state = run(
    [{ kind: "chat/pending", localId: "l1", content: "Build it", queued: true }, message("m9", "2026-01-01T00:00:09Z", "Build it", "user")],
    opened,
  );
  assert.equal(state.chat.pending.length, 0);
  assert.equal(state.chat.messages.length, 1);
});

test("session: run status and the phase awaiting approval", () => {
  let state = run(
    [
      server({ type: "project_status", payload: { projectId: "p1", sessionId: "s1", status: "active" } }),
      server({ type: "project_init_status", payload: { phase: "understanding", phaseTitle: "Understanding", status: "active", requiresApproval: true, message: "", sessionId: "s1" } }),
    ],
    opened,
  );
  assert.equal(state.session.run, "active");
  assert.equal(phaseAwaitingApproval(state.session), null);
  state = run([server({ type: "project_status", payload: { projectId: "p1", sessionId: "s1", status: "waiting", message: "OK?" } })], state);
  assert.equal(phaseAwaitingApproval(state.session)?.phase, "understanding");
  state = run([server({ type: "project_status", payload: { projectId: "p1", sessionId: "other", status: "completed" } })], state);
  assert.equal(state.session.run, "waiting", "another session's status is ignored");
  state = run([server({ type: "project_status", payload: { projectId: "p1", sessionId: "s1", status: "completed", message: "Done" } })], state);
  assert.equal(state.session.run, "completed");
  assert.equal(phaseAwaitingApproval(state.session), null);
});

test("session: a resync snapshot sets the run's status and the phase waiting for approval", () => {
  const snapshot = { sessionId: "s1", seq: 3, reason: "restart", agents: [], projectId: "p1", projectStatus: "waiting", phase: "structure" };
  const state = run([server({ type: "resync_required", payload: snapshot })], opened);
  assert.equal(state.session.run, "waiting");
  assert.equal(phaseAwaitingApproval(state.session)?.phase, "structure");
});

const agent = (agentId: string, role: "master" | "manager" | "coder" | "tester", parentId?: string, status: "active" | "completed" = "active") => {
  const payload = { agentId, role, path: agentId.split(":")[1] ?? "", status, node: "n1" };
  return parentId === undefined ? payload : { ...payload, parentId };
};

test("agents: updates, usage and the tree by parent", () => {
  const state = run(
    [
      server({ type: "agent_hierarchy", payload: { rootAgentId: "master", agents: [agent("master", "master")] } }),
      server({ type: "agent_update", payload: agent("manager:", "manager", "master") }),
      server({ type: "agent_update", payload: { ...agent("coder:app.py", "coder", "manager:"), task: "write_file: app.py" } }),
      server({ type: "token_usage", payload: { agentId: "coder:app.py", inputTokens: 100, outputTokens: 20, costUsd: 0.01, projectTotalUsd: 0.01 } }),
      server({ type: "token_usage", payload: { agentId: "coder:app.py", inputTokens: 50, outputTokens: 10, costUsd: 0.005, projectTotalUsd: 0.015, budgetUsd: 1 } }),
      server({ type: "agent_update", payload: agent("coder:app.py", "coder", "manager:", "completed") }),
    ],
    opened,
  );
  const coder = state.agents.agents["coder:app.py"];
  assert.equal(coder?.inputTokens, 150);
  assert.equal(coder?.calls, 2);
  assert.equal(coder?.status, "completed");
  assert.equal(coder?.task, "write_file: app.py", "an update without a task keeps the last one");
  assert.equal(state.agents.budgetUsd, 1);
  assert.equal(totals(state.agents).outputTokens, 30);
  const tree = buildAgentTree(state.agents);
  assert.equal(tree.length, 1);
  assert.equal(tree[0]?.children[0]?.children[0]?.agent.agentId, "coder:app.py");
  // A new hierarchy (resume) keeps what the usage events told.
  const resumed = run([server({ type: "agent_hierarchy", payload: { rootAgentId: "master", agents: [agent("master", "master"), agent("coder:app.py", "coder", "manager:")] } })], state);
  assert.equal(resumed.agents.agents["coder:app.py"]?.inputTokens, 150);
  assert.equal(resumed.agents.agents["manager:"], undefined);
});

test("files: updates build folders, listings replace a folder's children, deletes remove subtrees", () => {
  let state = run(
    [
      server({ type: "file_tree_update", payload: { action: "update", filePath: "pkg/core.py", fileType: "file", content: "x = 1", projectId: "p1" } }),
      server({ type: "file_tree_update", payload: { action: "update", filePath: "README.md", fileType: "file", content: "# T", projectId: "p1" } }),
      server({ type: "file_tree_update", payload: { action: "update", filePath: "elsewhere.py", fileType: "file", projectId: "p2" } }),
    ],
    opened,
  );
  assert.deepEqual(visibleTree(state.files).map((row) => row.path), ["pkg", "pkg/core.py", "README.md"], "folders first; written folders open");
  state = run(
    [server({ type: "dir_list_result", payload: { projectId: "p1", dirPath: "", complete: true, items: [{ name: "pkg", type: "folder", size: 0 }, { name: "setup.py", type: "file", size: 10 }] } })],
    state,
  );
  assert.deepEqual(Object.keys(state.files.entries).sort(), ["pkg", "pkg/core.py", "setup.py"]);
  state = run([server({ type: "file_tree_update", payload: { action: "delete", filePath: "pkg", fileType: "folder", projectId: "p1" } })], state);
  assert.deepEqual(Object.keys(state.files.entries), ["setup.py"]);
  state = run([{ kind: "files/toggle", path: "docs", expanded: false }, server({ type: "file_tree_update", payload: { action: "create", filePath: "docs/a.md", fileType: "file" } })], state);
  assert.deepEqual(visibleTree(state.files).map((row) => row.path), ["docs", "setup.py"], "a folder the person closed stays closed");
});

test("editor: follows a coder's stream read-only, then shows the finished file", () => {
  let state = run(
    [
      server({ type: "llm_stream", seq: 1, payload: { agentId: "coder:app.py", filePath: "app.py", delta: "print(", done: false } }),
      server({ type: "llm_stream", seq: 2, payload: { agentId: "coder:app.py", filePath: "app.py", delta: "1)", done: false } }),
    ],
    opened,
  );
  assert.deepEqual(state.editor.tabs, ["app.py"]);
  assert.equal(state.editor.active, "app.py");
  assert.equal(state.editor.buffers["app.py"]?.live?.text, "print(1)");
  state = run([server({ type: "code_stream", payload: { agentId: "coder:app.py", filePath: "app.py", content: "print(1)\n", isComplete: true, syntax: "python" } })], state);
  const buffer = state.editor.buffers["app.py"];
  assert.equal(buffer?.live, null);
  assert.equal(buffer?.saved, "print(1)\n");
  assert.equal(buffer?.status, "ready");
});

test("editor: a file closed by the person is not reopened; edits are not overwritten", () => {
  let state = run([{ kind: "editor/open", path: "a.py" }, server({ type: "file_read_result", payload: { projectId: "p1", filePath: "a.py", content: "one", encoding: "text" } })], opened);
  const version = state.editor.buffers["a.py"]?.version ?? 0;
  state = run([{ kind: "editor/dirty", path: "a.py", dirty: true }, server({ type: "file_tree_update", payload: { action: "update", filePath: "a.py", fileType: "file", content: "two" } })], state);
  assert.equal(state.editor.buffers["a.py"]?.conflict, true);
  assert.equal(state.editor.buffers["a.py"]?.version, version, "a dirty buffer is not replaced");
  state = run([server({ type: "code_stream", payload: { agentId: "coder:b.py", filePath: "b.py", content: "b", isComplete: true, syntax: "python" } })], state);
  assert.equal(state.editor.active, "a.py", "following does not switch away from unsaved edits");
  state = run([{ kind: "editor/close", path: "b.py" }, server({ type: "code_stream", payload: { agentId: "coder:b.py", filePath: "b.py", content: "bb", isComplete: true, syntax: "python" } })], state);
  assert.ok(!state.editor.tabs.includes("b.py"));
});

test("editor: following reuses one preview tab once its file is done; opened files stay", () => {
  const written = (path: string) => server({ type: "code_stream", payload: { agentId: `coder:${path}`, filePath: path, content: path, isComplete: true, syntax: "python" } });
  let state = run([{ kind: "editor/open", path: "mine.py" }, written("a.py"), written("b.py"), written("c.py")], opened);
  assert.deepEqual(state.editor.tabs, ["mine.py", "c.py"]);
  assert.equal(state.editor.active, "c.py");
  state = run([{ kind: "editor/open", path: "c.py" }, written("d.py")], state);
  assert.deepEqual(state.editor.tabs, ["mine.py", "c.py", "d.py"], "a followed file opened by the person is kept");
  state = run([{ kind: "editor/activate", path: "mine.py" }, server({ type: "llm_stream", payload: { agentId: "coder:d.py", filePath: "d.py", delta: "x", done: false } })], state);
  assert.equal(state.editor.active, "mine.py", "a stream into an open file does not take the focus");
});

test("history: pages merge, new sessions come first, deletions go", () => {
  const session = (id: string, lastModified: string) => ({ id, title: id, createdAt: lastModified, lastModified });
  let state = run([server({ type: "chat_history_response", payload: { sessions: [session("a", "2026-01-02"), session("b", "2026-01-01")], nextCursor: "c" } })]);
  state = run([server({ type: "chat_session", payload: { session: session("n", "2026-01-03") } }), server({ type: "chat_delete_result", payload: { success: true, sessionId: "b" } })], state);
  assert.deepEqual(state.history.sessions.map((item) => item.id), ["n", "a"]);
  assert.equal(state.history.nextCursor, "c");
  state = run([{ kind: "history/renamed", sessionId: "a", title: "Renamed" }], state);
  assert.equal(state.history.sessions[1]?.title, "Renamed");
});

test("an unsolicited error becomes a notice; an answer error does not", () => {
  const state = run([
    server({ type: "error", payload: { code: "rate_limited", message: "slow down" } }),
    server({ type: "error", replyTo: "c-1", payload: { code: "not_found", message: "no" } }),
  ]);
  assert.deepEqual(state.notices.map((notice) => notice.text), ["slow down"]);
});

test("an event that changes nothing keeps the state object", () => {
  const state = run([server({ type: "git_init_result", payload: { success: true } })], opened);
  assert.equal(state, opened);
});
