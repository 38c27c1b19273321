import { useState, type DragEvent } from "react";
import type { ImportProjectRequest } from "../../protocol";
import { Dialog } from "../../components/Dialog";
import { languages } from "../chat/Composer";
import { encodeFile, filesFromDrop, isSkipped, maxImportBytes, requestBytes, stripCommonRoot, toBase64 } from "./importFiles";

type Source = "files" | "zip" | "git";

/** A new project from files, a folder (picked or dropped), a zip, or a git URL. */
export function ImportDialog({ open, onClose, onImport }: {
  open: boolean;
  onClose: () => void;
  onImport: (request: ImportProjectRequest) => Promise<boolean>;
}) {
  const [source, setSource] = useState<Source>("files");
  const [name, setName] = useState("");
  const [language, setLanguage] = useState("auto");
  const [picked, setPicked] = useState<{ path: string; file: File }[]>([]);
  const [zip, setZip] = useState<File | null>(null);
  const [gitUrl, setGitUrl] = useState("");
  const [username, setUsername] = useState("");
  const [secret, setSecret] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [dragging, setDragging] = useState(false);

  const reset = () => {
    setPicked([]);
    setZip(null);
    setGitUrl("");
    setSecret("");
    setError(null);
  };
  const pick = (list: FileList | null) => {
    if (list === null) return;
    const files = Array.from(list)
      .map((file) => ({ path: file.webkitRelativePath !== "" ? file.webkitRelativePath : file.name, file }))
      .filter((item) => !isSkipped(item.path));
    const zipFile = files.length === 1 && files[0]?.file.name.toLowerCase().endsWith(".zip") ? files[0].file : null;
    if (zipFile !== null) {
      setSource("zip");
      setZip(zipFile);
    } else {
      setPicked(files);
    }
  };
  const onDrop = async (event: DragEvent<HTMLDivElement>) => {
    event.preventDefault();
    setDragging(false);
    const dropped = await filesFromDrop(event.dataTransfer.items);
    const zipFile = dropped.length === 1 && dropped[0]?.file.name.toLowerCase().endsWith(".zip") ? dropped[0].file : null;
    if (zipFile !== null) {
      setSource("zip");
      setZip(zipFile);
    } else {
      setSource("files");
      setPicked(dropped);
    }
  };

  const submit = async () => {
    setError(null);
    const request: ImportProjectRequest = {};
    if (name.trim() !== "") request.projectName = name.trim();
    if (language !== "auto") request.language = language;
    if (source === "files") {
      if (picked.length === 0) return setError("Choose files or a folder, or drop them here.");
      if (picked.length > 5000) return setError("At most 5,000 files can be imported at once.");
      const files = await Promise.all(picked.map(async (item) => encodeFile(item.path, new Uint8Array(await item.file.arrayBuffer()))));
      request.files = stripCommonRoot(files);
    } else if (source === "zip") {
      if (zip === null) return setError("Choose a zip file.");
      request.zip = toBase64(new Uint8Array(await zip.arrayBuffer()));
    } else {
      if (!/^(https?|ssh|git):\/\/|^git@/.test(gitUrl.trim())) return setError("Give the repository's URL (https://…, ssh://… or git@…).");
      request.gitUrl = gitUrl.trim();
      if (username.trim() !== "") request.credentials = { username: username.trim(), password: secret };
    }
    if (requestBytes(request) > maxImportBytes) {
      return setError(`That is ${(requestBytes(request) / 1048576).toFixed(1)} MiB; one import can carry about 3.5 MiB. Import a git URL, or fewer files.`);
    }
    setBusy(true);
    const ok = await onImport(request);
    setBusy(false);
    setSecret("");
    if (ok) {
      reset();
      onClose();
    }
  };

  return (
    <Dialog title="Import a project" open={open} onClose={onClose}>
      <div className="segmented" role="tablist" aria-label="Import from">
        {(
          [
            ["files", "Files or folder"],
            ["zip", "Zip"],
            ["git", "Git URL"],
          ] as const
        ).map(([value, label]) => (
          <button key={value} type="button" role="tab" aria-selected={source === value} className={source === value ? "active" : ""} onClick={() => setSource(value)}>
            {label}
          </button>
        ))}
      </div>
      <form
        className="settings-form"
        onSubmit={(event) => {
          event.preventDefault();
          void submit();
        }}
      >
        {source !== "git" && (
          <div
            className={dragging ? "drop-zone dragging" : "drop-zone"}
            onDragOver={(event) => {
              event.preventDefault();
              setDragging(true);
            }}
            onDragLeave={() => setDragging(false)}
            onDrop={(event) => void onDrop(event)}
          >
            <p>Drop files, a folder or a zip here, or choose:</p>
            {source === "files" ? (
              <div className="button-row">
                <label className="button">
                  Files… <input type="file" multiple className="visually-hidden" onChange={(event) => pick(event.target.files)} />
                </label>
                <label className="button">
                  Folder…{" "}
                  <input
                    type="file"
                    className="visually-hidden"
                    ref={(element) => element?.setAttribute("webkitdirectory", "")}
                    onChange={(event) => pick(event.target.files)}
                  />
                </label>
              </div>
            ) : (
              <label className="button">
                Zip file… <input type="file" accept=".zip,application/zip" className="visually-hidden" onChange={(event) => setZip(event.target.files?.[0] ?? null)} />
              </label>
            )}
            <p className="muted">
              {source === "files" && picked.length > 0 && `${picked.length} file${picked.length === 1 ? "" : "s"} chosen`}
              {source === "zip" && zip !== null && zip.name}
            </p>
          </div>
        )}
        {source === "git" && (
          <>
            <label>
              Repository URL <input value={gitUrl} onChange={(event) => setGitUrl(event.target.value)} placeholder="https://github.com/owner/repo.git" />
            </label>
            <fieldset>
              <legend>Credentials (for this import only; leave empty for public repositories)</legend>
              <label>
                Username <input value={username} autoComplete="off" onChange={(event) => setUsername(event.target.value)} />
              </label>
              <label>
                Password or token <input type="password" autoComplete="new-password" value={secret} onChange={(event) => setSecret(event.target.value)} />
              </label>
            </fieldset>
          </>
        )}
        <label>
          Project name <input value={name} onChange={(event) => setName(event.target.value)} placeholder="Imported project" />
        </label>
        <label>
          Language
          <select value={language} onChange={(event) => setLanguage(event.target.value)}>
            {languages.map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </label>
        {error !== null && (
          <p className="error-text" role="alert">
            {error}
          </p>
        )}
        <button type="submit" className="button button-primary" disabled={busy}>
          {busy ? "Importing…" : "Import"}
        </button>
      </form>
    </Dialog>
  );
}
