/**
 * A small Markdown reader for chat messages: headings, paragraphs, fenced
 * code, lists, quotes, rules, and inline code, bold, italic and links.
 * It produces a tree that the renderer turns into React elements, so no
 * text from a message is ever treated as HTML. Pure; no DOM.
 */

export type Inline =
  | { kind: "text"; text: string }
  | { kind: "code"; text: string }
  | { kind: "strong"; children: Inline[] }
  | { kind: "em"; children: Inline[] }
  | { kind: "link"; href: string; children: Inline[] }
  | { kind: "break" };

export type Block =
  | { kind: "heading"; level: number; children: Inline[] }
  | { kind: "paragraph"; children: Inline[] }
  | { kind: "code"; language: string; text: string }
  | { kind: "list"; ordered: boolean; start: number; items: Block[][] }
  | { kind: "quote"; children: Block[] }
  | { kind: "rule" };

const fence = /^ {0,3}(`{3,}|~{3,})\s*([^`\s]*)\s*$/;
const heading = /^ {0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$/;
const rule = /^ {0,3}([-*_])(?:\s*\1){2,}\s*$/;
const quote = /^ {0,3}> ?(.*)$/;
const listItem = /^( {0,3})([-*+]|\d{1,9}[.)])\s+(.*)$/;

/** Parses a message into blocks. */
export function parseMarkdown(source: string): Block[] {
  return parseBlocks(source.replace(/\r\n?/g, "\n").split("\n"), 0);
}

function parseBlocks(lines: string[], depth: number): Block[] {
  const blocks: Block[] = [];
  let index = 0;
  while (index < lines.length) {
    const line = lines[index] ?? "";
    if (line.trim() === "") {
      index += 1;
      continue;
    }
    const fenceMatch = fence.exec(line);
    if (fenceMatch !== null) {
      const marker = fenceMatch[1] ?? "```";
      const body: string[] = [];
      index += 1;
      while (index < lines.length) {
        const inner = lines[index] ?? "";
        if (inner.trim().startsWith(marker) && inner.trim().replace(new RegExp(`^\\${marker[0]}+`), "") === "") {
          index += 1;
          break;
        }
        body.push(inner);
        index += 1;
      }
      blocks.push({ kind: "code", language: fenceMatch[2] ?? "", text: body.join("\n") });
      continue;
    }
    const headingMatch = heading.exec(line);
    if (headingMatch !== null) {
      blocks.push({ kind: "heading", level: (headingMatch[1] ?? "#").length, children: parseInline(headingMatch[2] ?? "") });
      index += 1;
      continue;
    }
    if (rule.test(line)) {
      blocks.push({ kind: "rule" });
      index += 1;
      continue;
    }
    if (quote.test(line) && depth < 8) {
      const body: string[] = [];
      while (index < lines.length) {
        const match = quote.exec(lines[index] ?? "");
        if (match === null) break;
        body.push(match[1] ?? "");
        index += 1;
      }
      blocks.push({ kind: "quote", children: parseBlocks(body, depth + 1) });
      continue;
    }
    const itemMatch = listItem.exec(line);
    if (itemMatch !== null && depth < 8) {
      const consumed = parseList(lines, index, depth);
      blocks.push(consumed.block);
      index = consumed.next;
      continue;
    }
    // A paragraph: lines up to a blank line or the start of another block.
    const body: string[] = [];
    while (index < lines.length) {
      const current = lines[index] ?? "";
      if (current.trim() === "") break;
      if (body.length > 0 && (fence.test(current) || heading.test(current) || rule.test(current) || quote.test(current) || listItem.test(current))) break;
      body.push(current.trim());
      index += 1;
    }
    blocks.push({ kind: "paragraph", children: parseInline(body.join("\n")) });
  }
  return blocks;
}

function parseList(lines: string[], startIndex: number, depth: number): { block: Block; next: number } {
  const first = listItem.exec(lines[startIndex] ?? "");
  const marker = first?.[2] ?? "-";
  const ordered = /\d/.test(marker);
  const start = ordered ? parseInt(marker, 10) : 1;
  const items: string[][] = [];
  let index = startIndex;
  let blankRun = 0;
  while (index < lines.length) {
    const line = lines[index] ?? "";
    const match = listItem.exec(line);
    if (match !== null && /\d/.test(match[2] ?? "") === ordered) {
      items.push([match[3] ?? ""]);
      blankRun = 0;
      index += 1;
      continue;
    }
    if (line.trim() === "") {
      blankRun += 1;
      if (blankRun > 1) break;
      index += 1;
      continue;
    }
    const indented = /^( {2,}|\t)/.test(line);
    const current = items[items.length - 1];
    if (current === undefined) break;
    if (indented) {
      if (blankRun > 0) current.push("");
      current.push(line.replace(/^( {2,4}|\t)/, ""));
    } else if (blankRun === 0 && match === null && !fence.test(line) && !heading.test(line) && !quote.test(line)) {
      current.push(line.trim()); // a lazy continuation of the item's paragraph
    } else {
      break;
    }
    blankRun = 0;
    index += 1;
  }
  // A trailing blank line belongs to whatever follows.
  while (index > startIndex && (lines[index - 1] ?? "").trim() === "") index -= 1;
  return { block: { kind: "list", ordered, start, items: items.map((item) => parseBlocks(item, depth + 1)) }, next: index };
}

/** Parses inline markup: `code`, **strong**, *em* / _em_, [links](https://…), bare URLs, hard breaks. */
export function parseInline(source: string): Inline[] {
  return mergeText(readInline(source, 0));
}

const escapable = /[\\`*_{}[\]()#+\-.!>~|]/;
const bareUrl = /^https?:\/\/[^\s<>"'`]+[^\s<>"'`.,;:!?)\]]/;

function readInline(source: string, depth: number): Inline[] {
  const out: Inline[] = [];
  let text = "";
  const flush = () => {
    if (text !== "") out.push({ kind: "text", text });
    text = "";
  };
  let i = 0;
  while (i < source.length) {
    const char = source[i] ?? "";
    const rest = source.slice(i);
    if (char === "\\" && i + 1 < source.length && escapable.test(source[i + 1] ?? "")) {
      text += source[i + 1];
      i += 2;
      continue;
    }
    if (char === "\n") {
      flush();
      out.push({ kind: "break" });
      i += 1;
      continue;
    }
    if (char === "`") {
      const ticks = /^`+/.exec(rest)?.[0] ?? "`";
      const close = source.indexOf(ticks, i + ticks.length);
      if (close > 0) {
        flush();
        const code = source.slice(i + ticks.length, close);
        out.push({ kind: "code", text: code.length > 2 && code.startsWith(" ") && code.endsWith(" ") ? code.slice(1, -1) : code });
        i = close + ticks.length;
        continue;
      }
      text += ticks;
      i += ticks.length;
      continue;
    }
    if (depth < 6 && (rest.startsWith("**") || rest.startsWith("__"))) {
      const delimiter = rest.slice(0, 2);
      const close = findClosing(source, delimiter, i + 2);
      if (close > i + 2) {
        flush();
        out.push({ kind: "strong", children: readInline(source.slice(i + 2, close), depth + 1) });
        i = close + 2;
        continue;
      }
    }
    if (depth < 6 && (char === "*" || char === "_") && source[i + 1] !== char && source[i + 1] !== " " && source[i + 1] !== undefined) {
      // `_` only at a word's edge, so snake_case_names stay as they are.
      const opens = char === "*" || !/[\p{L}\p{N}]/u.test(source[i - 1] ?? "");
      const close = opens ? findClosing(source, char, i + 1) : -1;
      if (close > i + 1 && (char === "*" || !/[\p{L}\p{N}]/u.test(source[close + 1] ?? ""))) {
        flush();
        out.push({ kind: "em", children: readInline(source.slice(i + 1, close), depth + 1) });
        i = close + 1;
        continue;
      }
    }
    if (char === "[" && depth < 6) {
      const link = readLink(source, i);
      if (link !== null) {
        flush();
        const children = readInline(link.label, depth + 1);
        const href = safeHref(link.href);
        if (href === null) out.push(...children);
        else out.push({ kind: "link", href, children });
        i = link.end;
        continue;
      }
    }
    if ((char === "h" || char === "H") && !/[\p{L}\p{N}]/u.test(source[i - 1] ?? "")) {
      const url = bareUrl.exec(rest)?.[0];
      if (url !== undefined) {
        flush();
        out.push({ kind: "link", href: url, children: [{ kind: "text", text: url }] });
        i += url.length;
        continue;
      }
    }
    text += char;
    i += 1;
  }
  flush();
  return out;
}

/** The index of the delimiter that closes one opened before `from`, skipping code spans; -1 if none. */
function findClosing(source: string, delimiter: string, from: number): number {
  let i = from;
  while (i < source.length) {
    const char = source[i];
    if (char === "\\") {
      i += 2;
      continue;
    }
    if (char === "`") {
      const ticks = /^`+/.exec(source.slice(i))?.[0] ?? "`";
      const close = source.indexOf(ticks, i + ticks.length);
      i = close > 0 ? close + ticks.length : i + ticks.length;
      continue;
    }
    if (char === "\n" && source[i + 1] === "\n") return -1;
    if (source.startsWith(delimiter, i) && source[i - 1] !== " ") {
      if (delimiter.length === 1 && source[i + 1] === delimiter) {
        i += 2; // a strong delimiter inside an em span
        continue;
      }
      return i;
    }
    i += 1;
  }
  return -1;
}

function readLink(source: string, start: number): { label: string; href: string; end: number } | null {
  let depth = 0;
  let i = start;
  for (; i < source.length; i += 1) {
    const char = source[i];
    if (char === "\\") {
      i += 1;
      continue;
    }
    if (char === "[") depth += 1;
    if (char === "]") {
      depth -= 1;
      if (depth === 0) break;
    }
    if (char === "\n" && source[i + 1] === "\n") return null;
  }
  if (depth !== 0 || source[i + 1] !== "(") return null;
  const close = source.indexOf(")", i + 2);
  if (close < 0) return null;
  const target = source.slice(i + 2, close).trim();
  if (/\s/.test(target)) return null;
  return { label: source.slice(start + 1, i), href: target.replace(/^<|>$/g, ""), end: close + 1 };
}

/** Only web and mail links are followed; anything else (javascript:, data:, …) becomes plain text. */
export function safeHref(href: string): string | null {
  const trimmed = href.trim();
  return /^(https?:\/\/|mailto:)/i.test(trimmed) ? trimmed : null;
}

function mergeText(nodes: Inline[]): Inline[] {
  const out: Inline[] = [];
  for (const node of nodes) {
    const last = out[out.length - 1];
    if (node.kind === "text" && last !== undefined && last.kind === "text") {
      out[out.length - 1] = { kind: "text", text: last.text + node.text };
    } else if (node.kind === "strong" || node.kind === "em" || node.kind === "link") {
      out.push({ ...node, children: mergeText(node.children) });
    } else {
      out.push(node);
    }
  }
  return out;
}
