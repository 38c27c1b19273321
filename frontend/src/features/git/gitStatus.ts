import type { GitStatusEvent } from "../../protocol";

export type GitFile = GitStatusEvent["files"][number];

export interface GitChanges {
  staged: GitFile[];
  unstaged: GitFile[];
  untracked: GitFile[];
}

/** Splits `git_status` files into the three lists the panel shows; a file can be both staged and changed again. Pure. */
export function groupChanges(files: GitFile[]): GitChanges {
  const staged: GitFile[] = [];
  const unstaged: GitFile[] = [];
  const untracked: GitFile[] = [];
  for (const file of files) {
    if (file.untracked) {
      untracked.push(file);
      continue;
    }
    if (file.staged !== undefined && file.staged !== null) staged.push(file);
    if (file.unstaged !== undefined && file.unstaged !== null) unstaged.push(file);
  }
  const byPath = (a: GitFile, b: GitFile) => a.path.localeCompare(b.path);
  return { staged: staged.sort(byPath), unstaged: unstaged.sort(byPath), untracked: untracked.sort(byPath) };
}

/** One letter for a change kind ("modified" → "M"). */
export function changeLetter(kind: string | undefined | null): string {
  switch ((kind ?? "").toLowerCase()) {
    case "added":
    case "new":
      return "A";
    case "modified":
      return "M";
    case "deleted":
      return "D";
    case "renamed":
      return "R";
    case "typechanged":
      return "T";
    case "conflicted":
      return "U";
    default:
      return kind !== undefined && kind !== null && kind !== "" ? kind.charAt(0).toUpperCase() : "?";
  }
}

/** A diff's lines with how to show each. Pure. */
export function classifyDiff(diff: string): { text: string; kind: "add" | "remove" | "hunk" | "meta" | "context" }[] {
  return diff.split("\n").map((text) => {
    if (text.startsWith("+++") || text.startsWith("---") || text.startsWith("diff ") || text.startsWith("index ")) return { text, kind: "meta" };
    if (text.startsWith("@@")) return { text, kind: "hunk" };
    if (text.startsWith("+")) return { text, kind: "add" };
    if (text.startsWith("-")) return { text, kind: "remove" };
    return { text, kind: "context" };
  });
}
