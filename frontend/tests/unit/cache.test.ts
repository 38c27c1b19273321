import assert from "node:assert/strict";
import { test } from "node:test";
import {
  cacheLimits,
  cachedSessionIds,
  forgetCachedMessages,
  loadCachedHistory,
  loadCachedMessages,
  saveCachedHistory,
  saveCachedMessages,
  shortenedNote,
  type CacheStore,
} from "../../src/app/cache";
import { shownMessages, showsOfflineCopy } from "../../src/features/chat/chatState";
import { storageKeys } from "../../src/lib/storage";
import type { ServerEvent } from "../../src/protocol";
import { appReducer, initialAppState, type AppState } from "../../src/state/appState";
import type { Action, ChatMessage } from "../../src/state/types";

/** localStorage as a map of JSON texts, with an optional quota in characters (keys and values, like the browser's). */
class FakeStore implements CacheStore {
  readonly texts = new Map<string, string>();
  constructor(private readonly quota = Infinity) {}
  get<T>(key: string, fallback: T): T {
    const text = this.texts.get(key);
    if (text === undefined) return fallback;
    try {
      return JSON.parse(text) as T;
    } catch {
      return fallback;
    }
  }
  trySet(key: string, value: unknown): boolean {
    const text = JSON.stringify(value);
    const others = [...this.texts].filter(([name]) => name !== key).reduce((sum, [name, stored]) => sum + name.length + stored.length, 0);
    if (others + key.length + text.length > this.quota) return false;
    this.texts.set(key, text);
    return true;
  }
  remove(key: string): void {
    this.texts.delete(key);
  }
  used(): number {
    return [...this.texts].reduce((sum, [name, stored]) => sum + name.length + stored.length, 0);
  }
}

const message = (sessionId: string, index: number, content = `message ${index}`): ChatMessage => ({
  id: `${sessionId}-m${index}`,
  sessionId,
  content,
  sender: index % 2 === 0 ? "user" : "assistant",
  timestamp: `2026-01-01T00:${String(Math.floor(index / 60)).padStart(2, "0")}:${String(index % 60).padStart(2, "0")}Z`,
});
const messages = (sessionId: string, count: number) => Array.from({ length: count }, (_, index) => message(sessionId, index));

test("cache: at most 20 conversations, the least recently saved go first", () => {
  const store = new FakeStore();
  for (let index = 0; index < 25; index += 1) saveCachedMessages(`s${index}`, messages(`s${index}`, 3), store, cacheLimits, 1000 + index);
  const kept = cachedSessionIds(store);
  assert.equal(kept.length, cacheLimits.sessions);
  assert.deepEqual(kept.slice(0, 2), ["s24", "s23"]);
  for (let index = 0; index < 5; index += 1) {
    assert.equal(loadCachedMessages(`s${index}`, store), null, `s${index} was evicted`);
    assert.ok(!store.texts.has(storageKeys.messagesCache(`s${index}`)), "an evicted conversation's key is removed");
  }
  assert.equal(loadCachedMessages("s5", store)?.length, 3);
  // Opening (saving) an old one makes it the most recent: the next eviction takes another.
  saveCachedMessages("s5", messages("s5", 4), store, cacheLimits, 2000);
  saveCachedMessages("s99", messages("s99", 1), store, cacheLimits, 2001);
  assert.deepEqual(cachedSessionIds(store).slice(0, 2), ["s99", "s5"]);
  assert.equal(loadCachedMessages("s5", store)?.length, 4);
  assert.equal(loadCachedMessages("s6", store), null, "s6 was now the least recent");
  assert.equal(store.texts.size, cacheLimits.sessions + 1, "20 conversations and the index");
});

test("cache: the newest 200 messages per conversation, long ones shortened", () => {
  const store = new FakeStore();
  const many = messages("s1", 250);
  many[249] = message("s1", 249, "x".repeat(cacheLimits.charactersPerMessage + 500));
  saveCachedMessages("s1", many, store);
  const kept = loadCachedMessages("s1", store);
  assert.equal(kept?.length, cacheLimits.messagesPerSession);
  assert.equal(kept?.[0]?.id, "s1-m50", "the oldest 50 are left out");
  assert.equal(kept?.[199]?.content, "x".repeat(cacheLimits.charactersPerMessage) + shortenedNote);
  assert.equal(many[249]?.content.length, cacheLimits.charactersPerMessage + 500, "the state's copy is not changed");
});

test("cache: the total size is bounded, and a full quota evicts the oldest until the newest fits", () => {
  const small = { ...cacheLimits, totalCharacters: 3000 };
  const store = new FakeStore();
  for (let index = 0; index < 10; index += 1) saveCachedMessages(`s${index}`, messages(`s${index}`, 8), store, small, index);
  assert.ok(store.used() < small.totalCharacters + 1000, `bounded: ${store.used()}`);
  assert.ok(cachedSessionIds(store).length < 10);
  assert.equal(cachedSessionIds(store)[0], "s9");

  const full = new FakeStore(4000);
  for (let index = 0; index < 10; index += 1) saveCachedMessages(`s${index}`, messages(`s${index}`, 8), full, cacheLimits, index);
  assert.equal(cachedSessionIds(full)[0], "s9", "the newest is always kept");
  assert.equal(loadCachedMessages("s9", full)?.length, 8);
  assert.ok(full.used() <= 4000);
  assert.equal(loadCachedMessages("s0", full), null);

  // One conversation too big for the bound alone is not kept (and does not evict the others for nothing).
  saveCachedMessages("huge", [message("huge", 0, "y".repeat(5000))], store, small, 100);
  assert.equal(loadCachedMessages("huge", store), null);
  assert.equal(cachedSessionIds(store)[0], "s9");
});

test("cache: damaged or foreign entries are ignored; a deleted conversation's copy goes", () => {
  const store = new FakeStore();
  store.texts.set(storageKeys.messagesCache("bad"), "{not json");
  store.texts.set(storageKeys.messagesCache("odd"), JSON.stringify({ sessionId: "odd", messages: [{ id: 1 }, message("other", 1)] }));
  store.texts.set(storageKeys.messagesCacheIndex, JSON.stringify([{ id: 3 }, "x"]));
  assert.equal(loadCachedMessages("bad", store), null);
  assert.equal(loadCachedMessages("odd", store), null, "neither a malformed message nor another session's");
  assert.deepEqual(cachedSessionIds(store), []);
  saveCachedMessages("s1", messages("s1", 2), store);
  saveCachedMessages("s2", messages("s2", 2), store);
  forgetCachedMessages("s1", store);
  assert.equal(loadCachedMessages("s1", store), null);
  assert.deepEqual(cachedSessionIds(store), ["s2"]);
});

const server = (event: ServerEvent): Action => ({ kind: "server", event });
const run = (actions: Action[], from: AppState = initialAppState) => actions.reduce(appReducer, from);

test("sync-back: the saved copy shows until the server's first page replaces it, and the server's copy is saved back", () => {
  const store = new FakeStore();
  // Saved earlier: three messages, one of which the server no longer has.
  const saved = [message("s1", 0), message("s1", 1), { ...message("s1", 2), id: "gone" }];
  saveCachedMessages("s1", saved, store);
  let state = run([{ kind: "session/open", id: "s1", projectId: "p1", title: "T" }]);
  const cached = loadCachedMessages("s1", store);
  assert.ok(cached !== null);
  state = run([{ kind: "chat/cached", sessionId: "s1", messages: cached }], state);
  assert.ok(showsOfflineCopy(state.chat));
  assert.deepEqual(shownMessages(state.chat).map((item) => item.id), ["s1-m0", "s1-m1", "gone"]);
  // A live event while waiting shows with the copy.
  state = run([server({ type: "message", payload: message("s1", 3) })], state);
  assert.deepEqual(shownMessages(state.chat).map((item) => item.id), ["s1-m0", "s1-m1", "gone", "s1-m3"]);
  // Another conversation's copy is not applied.
  assert.equal(run([{ kind: "chat/cached", sessionId: "other", messages: cached }], state).chat, state.chat);
  // The gateway answers: its page (newest first) replaces the copy.
  const page = [message("s1", 3), message("s1", 2), message("s1", 1), message("s1", 0)];
  state = run([server({ type: "chat_messages_response", payload: { sessionId: "s1", messages: page } })], state);
  assert.ok(!showsOfflineCopy(state.chat));
  assert.equal(state.chat.offline, null);
  assert.deepEqual(shownMessages(state.chat).map((item) => item.id), ["s1-m0", "s1-m1", "s1-m2", "s1-m3"]);
  // A late copy never covers the server's.
  assert.equal(run([{ kind: "chat/cached", sessionId: "s1", messages: cached }], state).chat, state.chat);
  // What App saves now is the server's copy.
  saveCachedMessages("s1", shownMessages(state.chat), store);
  assert.deepEqual(loadCachedMessages("s1", store)?.map((item) => item.id), ["s1-m0", "s1-m1", "s1-m2", "s1-m3"]);
});

test("sync-back: the history's saved copy is replaced by the server's first answer", () => {
  const store = new FakeStore();
  const session = (id: string, lastModified: string) => ({ id, title: id, createdAt: lastModified, lastModified });
  saveCachedHistory({ sessions: [session("old", "2026-01-01"), session("deleted", "2026-01-02")], nextCursor: null, loaded: true, cached: false }, store);
  const cached = loadCachedHistory(store);
  assert.equal(cached?.cached, true);
  let state: AppState = { ...initialAppState, history: cached ?? initialAppState.history };
  state = run([server({ type: "chat_history_response", payload: { sessions: [session("new", "2026-01-03"), session("old", "2026-01-01")] } })], state);
  assert.deepEqual(state.history.sessions.map((item) => item.id), ["new", "old"]);
  assert.equal(state.history.cached, false);
  saveCachedHistory(state.history, store);
  assert.deepEqual(loadCachedHistory(store)?.sessions.map((item) => item.id), ["new", "old"]);
});

test("cache: a conversation this tab started is whole from its start, so it is saved without a page from the server", () => {
  const state = run([{ kind: "session/started", id: "s9", projectId: "p9", title: "New" }, server({ type: "message", payload: message("s9", 0) })]);
  assert.equal(state.chat.loaded, true);
  assert.deepEqual(shownMessages(state.chat).map((item) => item.id), ["s9-m0"]);
});
