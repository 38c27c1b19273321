/** Keyboard navigation of a tree's visible rows (WAI-ARIA tree pattern). Pure. */
export interface TreeRow {
  depth: number;
  expandable: boolean;
  expanded: boolean;
}

export type TreeMove =
  | { kind: "focus"; index: number }
  | { kind: "toggle"; index: number; expand: boolean }
  | { kind: "activate"; index: number }
  | { kind: "none" };

export function treeKey(rows: TreeRow[], index: number, key: string): TreeMove {
  const row = rows[index];
  if (row === undefined) return rows.length > 0 ? { kind: "focus", index: 0 } : { kind: "none" };
  switch (key) {
    case "ArrowDown":
      return index + 1 < rows.length ? { kind: "focus", index: index + 1 } : { kind: "none" };
    case "ArrowUp":
      return index > 0 ? { kind: "focus", index: index - 1 } : { kind: "none" };
    case "Home":
      return { kind: "focus", index: 0 };
    case "End":
      return { kind: "focus", index: rows.length - 1 };
    case "ArrowRight":
      if (row.expandable && !row.expanded) return { kind: "toggle", index, expand: true };
      if (row.expandable && row.expanded && (rows[index + 1]?.depth ?? -1) > row.depth) return { kind: "focus", index: index + 1 };
      return { kind: "none" };
    case "ArrowLeft": {
      if (row.expandable && row.expanded) return { kind: "toggle", index, expand: false };
      for (let i = index - 1; i >= 0; i -= 1) {
        if ((rows[i]?.depth ?? 0) < row.depth) return { kind: "focus", index: i };
      }
      return { kind: "none" };
    }
    case "Enter":
    case " ":
      return row.expandable ? { kind: "toggle", index, expand: !row.expanded } : { kind: "activate", index };
    default:
      return { kind: "none" };
  }
}
