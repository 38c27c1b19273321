import assert from "node:assert/strict";
import { test } from "node:test";
import type { ServerEvent } from "../../src/protocol";
import { backoffDelay, defaultBackoff } from "../../src/lib/connection/backoff";
import { Connection } from "../../src/lib/connection/Connection";
import { RequestFailure, type ConnectionSnapshot } from "../../src/lib/connection/types";
import { FakeSocket, FakeTimers, flush } from "./fakes";

function setup() {
  const sockets: FakeSocket[] = [];
  const timers = new FakeTimers();
  const connection = new Connection("ws://gateway/ws", {
    createSocket: (url) => {
      const socket = new FakeSocket(url);
      sockets.push(socket);
      return socket;
    },
    timers,
    random: () => 0.5,
  });
  const events: ServerEvent[] = [];
  const statuses: ConnectionSnapshot[] = [];
  connection.onEvent((event) => events.push(event));
  connection.onStatus((snapshot) => statuses.push(snapshot));
  connection.start();
  const socket = () => {
    const last = sockets[sockets.length - 1];
    if (last === undefined) throw new Error("no socket");
    return last;
  };
  return { connection, sockets, socket, timers, events, statuses };
}

test("hello goes first; the welcome makes the connection online", () => {
  const { connection, socket } = setup();
  socket().open();
  assert.equal(socket().sent.length, 1);
  assert.equal(socket().sent[0]?.type, "hello");
  assert.equal(connection.snapshot.status, "connecting");
  socket().welcome();
  assert.equal(connection.snapshot.status, "online");
  assert.equal(connection.welcome?.userName, "dev");
});

test("a request is settled by the frame that names its id; an error rejects it", async () => {
  const { connection, socket } = setup();
  socket().open();
  socket().welcome();
  const read = connection.ask("file_read", { projectId: "p", filePath: "a.py" }, "file_read_result");
  const missing = connection.request("file_read", { projectId: "p", filePath: "b.py" });
  const [first, second] = socket().sent.filter((frame) => frame.type === "file_read");
  assert.ok(first?.id !== undefined && second?.id !== undefined && first.id !== second.id);
  socket().deliver({ type: "error", replyTo: second.id, payload: { code: "not_found", message: "no b.py" } });
  socket().deliver({ type: "file_read_result", replyTo: first.id, payload: { projectId: "p", filePath: "a.py", content: "x", encoding: "text" } });
  const result = await read;
  assert.equal(result.content, "x");
  await assert.rejects(missing, (error: unknown) => error instanceof RequestFailure && error.code === "not_found");
});

test("an answer of another type than asked fails the ask", async () => {
  const { connection, socket } = setup();
  socket().open();
  socket().welcome();
  const asked = connection.ask("git_status", { projectId: "p" }, "git_status");
  socket().deliver({ type: "ok", replyTo: socket().last("git_status")?.id, payload: {} });
  await assert.rejects(asked, (error: unknown) => error instanceof RequestFailure && error.code === "unexpected_answer");
});

test("requests made offline wait, in order, and go out after the welcome", async () => {
  const { connection, socket } = setup();
  const first = connection.request("list_projects", {});
  const second = connection.request("load_chat_history", { limit: 5 });
  assert.equal(connection.snapshot.queued, 2);
  socket().open();
  assert.deepEqual(socket().sent.map((frame) => frame.type), ["hello"]);
  socket().welcome();
  assert.deepEqual(socket().sent.map((frame) => frame.type), ["hello", "list_projects", "load_chat_history"]);
  socket().deliver({ type: "project_list", replyTo: socket().last("list_projects")?.id, payload: { projects: [] } });
  socket().deliver({ type: "chat_history_response", replyTo: socket().last("load_chat_history")?.id, payload: { sessions: [] } });
  assert.equal((await first).type, "project_list");
  assert.equal((await second).type, "chat_history_response");
  assert.equal(connection.snapshot.queued, 0);
});

test("a request without queueing fails at once while offline", async () => {
  const { connection } = setup();
  await assert.rejects(connection.request("leave_session", { sessionId: "s" }, { queue: false }), (error: unknown) => error instanceof RequestFailure && error.code === "disconnected");
});

test("a drop fails what was in flight, reconnects with backoff, and resumes the followed session", async () => {
  const { connection, socket, sockets, timers, events } = setup();
  socket().open();
  socket().welcome();
  connection.follow("s1", { resume: true });
  const resume = socket().last("resume");
  assert.deepEqual(resume?.payload, { sessionId: "s1", lastSeq: 0 });
  socket().deliver({ type: "agent_hierarchy", replyTo: resume?.id, payload: { rootAgentId: "master", agents: [] } });
  for (const seq of [1, 2, 3]) {
    socket().deliver({ type: "llm_stream", seq, payload: { agentId: "master", delta: `t${seq}`, done: false } });
  }
  assert.equal(connection.lastSeq, 3);
  const inFlight = connection.request("git_status", { projectId: "p" });
  socket().drop();
  await assert.rejects(inFlight, (error: unknown) => error instanceof RequestFailure && error.code === "disconnected");
  assert.equal(connection.snapshot.status, "reconnecting");
  const delay = backoffDelay(1, defaultBackoff, () => 0.5);
  timers.advance(delay - 1);
  assert.equal(sockets.length, 1);
  timers.advance(1);
  assert.equal(sockets.length, 2);
  socket().open();
  socket().welcome();
  assert.deepEqual(socket().last("resume")?.payload, { sessionId: "s1", lastSeq: 3 });
  socket().deliver({ type: "agent_hierarchy", replyTo: socket().last("resume")?.id, payload: { rootAgentId: "master", agents: [] } });
  // An event seen before is not shown twice.
  const before = events.length;
  socket().deliver({ type: "llm_stream", seq: 3, payload: { agentId: "master", delta: "t3", done: false } });
  socket().deliver({ type: "llm_stream", seq: 4, payload: { agentId: "master", delta: "t4", done: false } });
  assert.equal(events.length, before + 1);
  assert.equal(connection.lastSeq, 4);
  await flush();
});

test("resync_required sets the numbering the session continues from", () => {
  const { connection, socket } = setup();
  socket().open();
  socket().welcome();
  connection.follow("s1", { lastSeq: 900 });
  socket().deliver({ type: "resync_required", payload: { sessionId: "s1", seq: 5, reason: "restart", agents: [] } });
  assert.equal(connection.lastSeq, 5);
  socket().deliver({ type: "message", seq: 6, payload: { id: "m", sessionId: "s1", content: "hi", sender: "assistant", timestamp: "t" } });
  assert.equal(connection.lastSeq, 6);
});

test("numbered events of a session the tab left are dropped until the resume's answer", () => {
  const { connection, socket, events } = setup();
  socket().open();
  socket().welcome();
  connection.follow("old", { resume: true });
  socket().deliver({ type: "agent_hierarchy", replyTo: socket().last("resume")?.id, payload: { rootAgentId: "master", agents: [] } });
  socket().deliver({ type: "llm_stream", seq: 40, payload: { agentId: "master", delta: "old", done: false } });
  connection.follow("new", { resume: true });
  // Still in flight from the old session when the switch happened.
  socket().deliver({ type: "llm_stream", seq: 41, payload: { agentId: "master", delta: "old", done: false } });
  socket().deliver({ type: "agent_hierarchy", replyTo: socket().last("resume")?.id, payload: { rootAgentId: "master", agents: [] } });
  socket().deliver({ type: "llm_stream", seq: 1, payload: { agentId: "master", delta: "new", done: false } });
  const deltas = events.filter((event) => event.type === "llm_stream").map((event) => (event.type === "llm_stream" ? event.payload.delta : ""));
  assert.deepEqual(deltas, ["old", "new"]);
  assert.equal(connection.lastSeq, 1);
  connection.follow(null);
  socket().deliver({ type: "llm_stream", seq: 2, payload: { agentId: "master", delta: "left", done: false } });
  assert.equal(events.filter((event) => event.type === "llm_stream").length, 2);
});

test("backoff grows to its limit and spreads by jitter", () => {
  const policy = { initialMs: 100, maxMs: 1000, factor: 2, jitter: 0.2 };
  assert.equal(backoffDelay(1, policy, () => 0.5), 100);
  assert.equal(backoffDelay(2, policy, () => 0.5), 200);
  assert.equal(backoffDelay(3, policy, () => 0.5), 400);
  assert.equal(backoffDelay(10, policy, () => 0.5), 1000);
  assert.equal(backoffDelay(1, policy, () => 0), 80);
  assert.ok(backoffDelay(10, policy, () => 0.999) <= 1000);
});

test("an unauthorized hello stops retrying", () => {
  const { connection, socket, sockets, timers } = setup();
  socket().open();
  socket().deliver({ type: "error", replyTo: socket().last("hello")?.id, payload: { code: "unauthorized", message: "not yours" } });
  socket().drop(1000, "refused");
  timers.advance(60_000);
  assert.equal(connection.snapshot.status, "refused");
  assert.equal(sockets.length, 1);
});

test("notify sends without an id and only while online", () => {
  const { connection, socket } = setup();
  assert.equal(connection.notify("send_terminal_data", { sessionId: "t", data: "ls\r" }), false);
  socket().open();
  socket().welcome();
  assert.equal(connection.notify("send_terminal_data", { sessionId: "t", data: "ls\r" }), true);
  const sent = socket().last("send_terminal_data");
  assert.equal(sent?.id, undefined);
  assert.deepEqual(sent?.payload, { sessionId: "t", data: "ls\r" });
});
