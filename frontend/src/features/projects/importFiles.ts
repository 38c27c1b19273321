import type { ImportProjectRequest } from "../../protocol";
import { normalizePath } from "../../lib/paths";

type ImportFile = NonNullable<ImportProjectRequest["files"]>[number];

/** Folders that are rebuilt, not imported. */
const skipped = new Set([".git", "node_modules", ".venv", "venv", "__pycache__", ".build", ".DS_Store", ".idea", ".gradle", "target", "dist", "build"]);

/** The gateway closes a socket whose frame exceeds 4 MiB; stay well below with the JSON around. */
export const maxImportBytes = 3.5 * 1024 * 1024;

export function isSkipped(path: string): boolean {
  return normalizePath(path).split("/").some((part) => skipped.has(part));
}

/** Text files as text, anything that is not UTF-8 as base64. Pure. */
export function encodeFile(path: string, bytes: Uint8Array): ImportFile {
  try {
    const text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    if (!text.includes("\u0000")) return { path: normalizePath(path), content: text, encoding: "text" };
  } catch {
    /* binary */
  }
  return { path: normalizePath(path), content: toBase64(bytes), encoding: "base64" };
}

export function toBase64(bytes: Uint8Array): string {
  let binary = "";
  const chunk = 0x8000;
  for (let i = 0; i < bytes.length; i += chunk) {
    binary += String.fromCharCode(...bytes.subarray(i, i + chunk));
  }
  return btoa(binary);
}

/** Drops a common top folder ("myapp/src/x" → "src/x") when every file shares it, as a dropped folder does. */
export function stripCommonRoot(files: ImportFile[]): ImportFile[] {
  const first = files[0]?.path.split("/")[0];
  if (first === undefined || files.some((file) => !file.path.startsWith(first + "/"))) return files;
  return files.map((file) => ({ ...file, path: file.path.slice(first.length + 1) }));
}

/** The request's size on the wire, roughly (UTF-8 of its JSON). */
export function requestBytes(request: ImportProjectRequest): number {
  return new TextEncoder().encode(JSON.stringify(request)).length;
}

/** Files the browser gives for a folder drop: walks directory entries. */
export async function filesFromDrop(items: DataTransferItemList): Promise<{ path: string; file: File }[]> {
  const out: { path: string; file: File }[] = [];
  const entries: FileSystemEntry[] = [];
  for (const item of Array.from(items)) {
    const entry = item.webkitGetAsEntry?.();
    if (entry !== null && entry !== undefined) entries.push(entry);
  }
  const walk = async (entry: FileSystemEntry, prefix: string): Promise<void> => {
    const path = prefix === "" ? entry.name : `${prefix}/${entry.name}`;
    if (isSkipped(path)) return;
    if (entry.isFile) {
      const file = await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject));
      out.push({ path, file });
    } else if (entry.isDirectory) {
      const reader = (entry as FileSystemDirectoryEntry).createReader();
      for (;;) {
        const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
        if (batch.length === 0) break;
        for (const child of batch) await walk(child, path);
      }
    }
  };
  for (const entry of entries) await walk(entry, "");
  return out;
}
