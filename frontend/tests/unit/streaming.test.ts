import assert from "node:assert/strict";
import { test } from "node:test";
import type { ServerEvent } from "../../src/protocol";
import { appReducer, initialAppState, type AppState } from "../../src/state/appState";
import type { Action } from "../../src/state/types";

const server = (event: ServerEvent): Action => ({ kind: "server", event });
const run = (actions: Action[], from: AppState = initialAppState) => actions.reduce(appReducer, from);
const opened = run([{ kind: "session/open", id: "s1", projectId: "p1", title: "T" }]);
const token = (path: string, delta: string): Action =>
  server({ type: "llm_stream", payload: { agentId: `coder:${path}`, filePath: path, delta, done: false } });
const written = (path: string, content: string): Action =>
  server({ type: "code_stream", payload: { agentId: `coder:${path}`, filePath: path, content, isComplete: true, syntax: "javascript" } });

test("agents: a streamed token changes the live text, not the agent tree", () => {
  const coder = { agentId: "coder:a.py", role: "coder" as const, path: "a.py", status: "active" as const, node: "n1" };
  const before = run([server({ type: "agent_update", payload: coder })], opened);
  const after = run([token("a.py", "x = 1")], before);
  assert.equal(after.agents, before.agents, "the tree's state is the same object: it does not re-render");
  assert.equal(after.streams["coder:a.py"], "x = 1");
  const done = run([server({ type: "agent_update", payload: { ...coder, status: "completed" } })], after);
  assert.equal(done.streams["coder:a.py"], undefined, "an agent that stopped has no live text");
});

test("editor: while the file shown is being written, another coder's file opens without taking the view", () => {
  let state = run([token("a.js", "let a"), token("b.js", "let b")], opened);
  assert.deepEqual(state.editor.tabs, ["a.js", "b.js"]);
  assert.equal(state.editor.active, "a.js", "a.js is still being written: the view stays");
  assert.equal(state.editor.buffers["b.js"]?.live?.text, "let b", "b.js streams in its own tab");
  state = run([written("a.js", "let a = 1\n"), token("c.js", "let c")], state);
  assert.equal(state.editor.active, "c.js", "once the file shown is done, the next new file is shown");
});
