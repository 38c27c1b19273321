import assert from "node:assert/strict";
import { test } from "node:test";
import { parseInline, parseMarkdown, safeHref } from "../../src/lib/markdown/parse";

test("blocks: headings, paragraphs, fenced code, rules, quotes", () => {
  const blocks = parseMarkdown("# Plan\n\nFirst line\nsecond line\n\n```python\nprint('<b>')\n```\n---\n> quoted");
  assert.deepEqual(blocks.map((block) => block.kind), ["heading", "paragraph", "code", "rule", "quote"]);
  const code = blocks[2];
  assert.ok(code?.kind === "code");
  assert.equal(code.language, "python");
  assert.equal(code.text, "print('<b>')");
  const paragraph = blocks[1];
  assert.ok(paragraph?.kind === "paragraph");
  assert.deepEqual(paragraph.children, [{ kind: "text", text: "First line" }, { kind: "break" }, { kind: "text", text: "second line" }]);
});

test("lists, ordered and nested", () => {
  const blocks = parseMarkdown("1. one\n2. two\n   - inner\n\n- a\n- b");
  assert.equal(blocks.length, 2);
  const ordered = blocks[0];
  assert.ok(ordered?.kind === "list" && ordered.ordered);
  assert.equal(ordered.items.length, 2);
  assert.equal(ordered.items[1]?.[1]?.kind, "list");
  const unordered = blocks[1];
  assert.ok(unordered?.kind === "list" && !unordered.ordered);
  assert.equal(unordered.items.length, 2);
});

test("inline: code, strong, em, links; snake_case stays text", () => {
  assert.deepEqual(parseInline("use `x*y` and **bold** and *it*"), [
    { kind: "text", text: "use " },
    { kind: "code", text: "x*y" },
    { kind: "text", text: " and " },
    { kind: "strong", children: [{ kind: "text", text: "bold" }] },
    { kind: "text", text: " and " },
    { kind: "em", children: [{ kind: "text", text: "it" }] },
  ]);
  assert.deepEqual(parseInline("call my_long_name()"), [{ kind: "text", text: "call my_long_name()" }]);
  assert.deepEqual(parseInline("[docs](https://example.org/a)"), [
    { kind: "link", href: "https://example.org/a", children: [{ kind: "text", text: "docs" }] },
  ]);
  assert.deepEqual(parseInline("see https://example.org/x."), [
    { kind: "text", text: "see " },
    { kind: "link", href: "https://example.org/x", children: [{ kind: "text", text: "https://example.org/x" }] },
    { kind: "text", text: "." },
  ]);
});

test("unsafe links become text; HTML stays text", () => {
  const nodes = parseInline("[click](javascript:alert(1))");
  assert.ok(nodes.every((node) => node.kind !== "link"));
  assert.match(nodes.map((node) => (node.kind === "text" ? node.text : "")).join(""), /^click/);
  assert.equal(safeHref("data:text/html,hi"), null);
  assert.equal(safeHref("mailto:a@b.c"), "mailto:a@b.c");
  const html = parseMarkdown("<script>alert(1)</script>");
  assert.deepEqual(html, [{ kind: "paragraph", children: [{ kind: "text", text: "<script>alert(1)</script>" }] }]);
});

test("unclosed markers are literal text", () => {
  assert.deepEqual(parseInline("2 * 3 = 6 and `open"), [{ kind: "text", text: "2 * 3 = 6 and `open" }]);
  assert.deepEqual(parseInline("\\*not em\\*"), [{ kind: "text", text: "*not em*" }]);
});
