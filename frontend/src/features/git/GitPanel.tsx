import { memo, useCallback, useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import type { GitBranchesResultEvent, GitCommitsResultEvent, GitDiffEvent, GitStatusEvent } from "../../protocol";
import { reportFailure, useServices } from "../../app/services";
import { RequestFailure } from "../../lib/connection/types";
import { formatAge } from "../../lib/format";
import { localStore, storageKeys } from "../../lib/storage";
import { changeLetter, classifyDiff, groupChanges, type GitFile } from "./gitStatus";

type Branch = GitBranchesResultEvent["branches"][number];
type Commit = GitCommitsResultEvent["commits"][number];

interface Author {
  name: string;
  email: string;
}

/** The project's git: changes to stage and commit, per-file diffs, history, branches and remotes. */
export const GitPanel = memo(function GitPanel({ projectId, visible }: { projectId: string | null; visible: boolean }) {
  const { connection, dispatch } = useServices();
  const [status, setStatus] = useState<GitStatusEvent | null>(null);
  const [notRepository, setNotRepository] = useState(false);
  const [branches, setBranches] = useState<Branch[]>([]);
  const [commits, setCommits] = useState<Commit[]>([]);
  const [diff, setDiff] = useState<(GitDiffEvent & { staged: boolean }) | null>(null);
  const [message, setMessage] = useState("");
  const [author, setAuthor] = useState<Author>(() => localStore.get(storageKeys.gitAuthor, { name: "", email: "" }));
  const [busy, setBusy] = useState(false);
  const [tab, setTab] = useState<"changes" | "history" | "branches" | "remote">("changes");

  const refresh = useCallback(async () => {
    if (projectId === null) return;
    try {
      const next = await connection.ask("git_status", { projectId }, "git_status");
      setStatus(next);
      setNotRepository(false);
      const [branchList, log] = await Promise.all([
        connection.ask("git_branches", { projectId }, "git_branches_result"),
        connection.ask("git_commits", { projectId, maxCount: 50 }, "git_commits_result").catch(() => ({ commits: [] })),
      ]);
      setBranches(branchList.branches);
      setCommits(log.commits);
    } catch (error) {
      if (error instanceof RequestFailure && error.code === "git") {
        setNotRepository(true);
        setStatus(null);
      } else {
        reportFailure(dispatch, error, "Reading git status");
      }
    }
  }, [connection, dispatch, projectId]);

  useEffect(() => {
    setStatus(null);
    setDiff(null);
    setNotRepository(false);
    setBranches([]);
    setCommits([]);
  }, [projectId]);

  useEffect(() => {
    if (visible) void refresh();
  }, [visible, refresh]);

  // Files change under the panel (agents, the editor, the terminal): refresh, at most once a second.
  const timer = useRef<number | null>(null);
  useEffect(() => {
    if (!visible) return;
    const unsubscribe = connection.onEvent((event) => {
      if (event.type !== "file_tree_update" || timer.current !== null) return;
      timer.current = window.setTimeout(() => {
        timer.current = null;
        void refresh();
      }, 1000);
    });
    return () => {
      unsubscribe();
      if (timer.current !== null) window.clearTimeout(timer.current);
      timer.current = null;
    };
  }, [visible, connection, refresh]);

  const run = async (what: string, action: () => Promise<unknown>) => {
    setBusy(true);
    try {
      await action();
    } catch (error) {
      reportFailure(dispatch, error, what);
    } finally {
      setBusy(false);
      await refresh();
    }
  };

  const changes = useMemo(() => groupChanges(status?.files ?? []), [status]);
  if (projectId === null) return <p className="muted panel-empty">Git is available once there is a project.</p>;
  if (notRepository) {
    return (
      <div className="git panel-empty">
        <p>This project is not a git repository yet.</p>
        <button
          type="button"
          className="button button-primary"
          disabled={busy}
          onClick={() => void run("Creating the repository", () => connection.ask("git_init", { projectId }, "git_init_result"))}
        >
          Initialize repository
        </button>
      </div>
    );
  }

  const showDiff = async (file: GitFile, staged: boolean) => {
    try {
      const result = await connection.ask("git_diff", { projectId, filePath: file.path, staged }, "git_diff");
      setDiff({ ...result, staged });
    } catch (error) {
      reportFailure(dispatch, error, `Diff of ${file.path}`);
    }
  };
  const stage = (file: GitFile | null) =>
    run("Staging", () => connection.ask("git_stage", file === null ? { projectId, all: true } : { projectId, filePath: file.path }, "git_stage_result"));
  const unstage = (file: GitFile | null) =>
    run("Unstaging", () =>
      connection.ask("git_unstage", file === null ? { projectId, all: true } : { projectId, filePath: file.path }, "git_unstage_result"),
    );
  const commit = () =>
    run("Committing", async () => {
      localStore.set(storageKeys.gitAuthor, author);
      const payload: { projectId: string; message: string; authorName?: string; authorEmail?: string } = { projectId, message: message.trim() };
      if (author.name.trim() !== "") payload.authorName = author.name.trim();
      if (author.email.trim() !== "") payload.authorEmail = author.email.trim();
      const result = await connection.ask("git_commit", payload, "git_commit_result");
      setMessage("");
      dispatch({ kind: "notice/add", level: "info", text: `Committed ${result.commitHash.slice(0, 8)}.` });
    });

  const fileRow = (file: GitFile, kind: "staged" | "unstaged" | "untracked") => (
    <li key={`${kind}-${file.path}`} className="git-file">
      <span className={`git-letter git-${kind}`} title={kind === "staged" ? file.staged : kind === "unstaged" ? file.unstaged : "untracked"}>
        {kind === "untracked" ? "U" : changeLetter(kind === "staged" ? file.staged : file.unstaged)}
      </span>
      <button type="button" className="link-button git-path" onClick={() => void showDiff(file, kind === "staged")} title="Show the diff">
        {file.path}
      </button>
      {kind === "staged" ? (
        <button type="button" className="button button-small" disabled={busy} onClick={() => void unstage(file)} aria-label={`Unstage ${file.path}`}>
          Unstage
        </button>
      ) : (
        <button type="button" className="button button-small" disabled={busy} onClick={() => void stage(file)} aria-label={`Stage ${file.path}`}>
          Stage
        </button>
      )}
    </li>
  );

  return (
    <div className="git">
      <div className="git-bar">
        <span className="git-branch" title="Current branch">
          ⎇ {status?.branch ?? "…"}
          {status !== null && (status.ahead > 0 || status.behind > 0) && ` ↑${status.ahead} ↓${status.behind}`}
        </span>
        <div className="segmented" role="tablist" aria-label="Git views">
          {(["changes", "history", "branches", "remote"] as const).map((name) => (
            <button key={name} type="button" role="tab" aria-selected={tab === name} className={tab === name ? "active" : ""} onClick={() => setTab(name)}>
              {name[0]?.toUpperCase() + name.slice(1)}
            </button>
          ))}
        </div>
        <button type="button" className="icon-button" aria-label="Refresh git status" title="Refresh" onClick={() => void refresh()}>
          ⟳
        </button>
      </div>
      <div className="git-content">
        {tab === "changes" && (
          <div className="git-changes">
            <div className="git-lists">
              <GitSection title="Staged" count={changes.staged.length} action={changes.staged.length > 0 ? ["Unstage all", () => void unstage(null)] : null} busy={busy}>
                {changes.staged.map((file) => fileRow(file, "staged"))}
              </GitSection>
              <GitSection
                title="Changes"
                count={changes.unstaged.length + changes.untracked.length}
                action={changes.unstaged.length + changes.untracked.length > 0 ? ["Stage all", () => void stage(null)] : null}
                busy={busy}
              >
                {changes.unstaged.map((file) => fileRow(file, "unstaged"))}
                {changes.untracked.map((file) => fileRow(file, "untracked"))}
              </GitSection>
              <form
                className="git-commit"
                onSubmit={(event) => {
                  event.preventDefault();
                  if (message.trim() !== "" && changes.staged.length > 0) void commit();
                }}
              >
                <label htmlFor="commit-message">Commit message</label>
                <textarea id="commit-message" rows={2} value={message} onChange={(event) => setMessage(event.target.value)} />
                <div className="git-author">
                  <label>
                    Author <input value={author.name} placeholder="your name" onChange={(event) => setAuthor({ ...author, name: event.target.value })} />
                  </label>
                  <label>
                    Email{" "}
                    <input type="email" value={author.email} placeholder="you@example.org" onChange={(event) => setAuthor({ ...author, email: event.target.value })} />
                  </label>
                </div>
                <button type="submit" className="button button-primary" disabled={busy || message.trim() === "" || changes.staged.length === 0}>
                  Commit {changes.staged.length > 0 ? `${changes.staged.length} file${changes.staged.length === 1 ? "" : "s"}` : ""}
                </button>
              </form>
            </div>
            {diff !== null && (
              <div className="git-diff" aria-label={`Diff of ${diff.filePath}`}>
                <div className="git-diff-header">
                  <strong>{diff.filePath}</strong> {diff.staged ? "(staged)" : "(working tree)"}{" "}
                  <span className="diff-add">+{diff.addedLines}</span> <span className="diff-remove">−{diff.removedLines}</span>
                  <button type="button" className="icon-button" aria-label="Close the diff" onClick={() => setDiff(null)}>
                    ×
                  </button>
                </div>
                {diff.isBinary ? (
                  <p className="muted">A binary file.</p>
                ) : (
                  <pre className="diff">
                    {classifyDiff(diff.diff).map((line, index) => (
                      <div key={index} className={`diff-line diff-${line.kind}`}>
                        {line.text || " "}
                      </div>
                    ))}
                  </pre>
                )}
              </div>
            )}
          </div>
        )}
        {tab === "history" && (
          <ol className="git-history">
            {commits.length === 0 && <li className="muted">No commits yet.</li>}
            {commits.map((item) => (
              <li key={item.hash}>
                <code title={item.hash}>{item.hash.slice(0, 8)}</code> <span className="commit-message">{item.message.split("\n")[0]}</span>{" "}
                <span className="muted">
                  {item.author} · {formatAge(item.date)}
                </span>
              </li>
            ))}
          </ol>
        )}
        {tab === "branches" && <Branches projectId={projectId} branches={branches} busy={busy} run={run} />}
        {tab === "remote" && <Remote projectId={projectId} busy={busy} run={run} />}
      </div>
    </div>
  );
});

function GitSection({ title, count, action, busy, children }: {
  title: string;
  count: number;
  action: [string, () => void] | null;
  busy: boolean;
  children: ReactNode;
}) {
  return (
    <section className="git-section" aria-label={title}>
      <h3>
        {title} <span className="muted">{count}</span>
        {action !== null && (
          <button type="button" className="button button-small" disabled={busy} onClick={action[1]}>
            {action[0]}
          </button>
        )}
      </h3>
      {count === 0 ? <p className="muted">Nothing.</p> : <ul>{children}</ul>}
    </section>
  );
}

function Branches({ projectId, branches, busy, run }: {
  projectId: string;
  branches: Branch[];
  busy: boolean;
  run: (what: string, action: () => Promise<unknown>) => Promise<void>;
}) {
  const { connection, dispatch } = useServices();
  const [name, setName] = useState("");
  const merge = (branch: string) =>
    run(`Merging ${branch}`, async () => {
      const result = await connection.ask("git_merge", { projectId, branchName: branch }, "git_merge_result");
      const text =
        result.result === "conflicts"
          ? `Merging ${branch} stopped on conflicts${result.message !== undefined ? `: ${result.message}` : ""}. Resolve them, stage and commit.`
          : result.result === "up_to_date"
            ? `Already up to date with ${branch}.`
            : `Merged ${branch} (${result.result.replace("_", " ")}).`;
      dispatch({ kind: "notice/add", level: result.result === "conflicts" ? "error" : "info", text });
    });
  return (
    <div className="git-branches">
      <ul>
        {branches.map((branch) => (
          <li key={branch.name} className={branch.current ? "current" : ""}>
            <span>{branch.current ? "● " : ""}{branch.name}</span>
            {!branch.current && (
              <>
                <button type="button" className="button button-small" disabled={busy} onClick={() => void run(`Switching to ${branch.name}`, () => connection.ask("git_checkout", { projectId, branchName: branch.name }, "git_checkout_result"))}>
                  Checkout
                </button>
                <button type="button" className="button button-small" disabled={busy} onClick={() => void merge(branch.name)}>
                  Merge into current
                </button>
                <button
                  type="button"
                  className="button button-small button-danger"
                  disabled={busy}
                  onClick={() => {
                    if (window.confirm(`Delete the branch ${branch.name}?`)) {
                      void run(`Deleting ${branch.name}`, () => connection.ask("git_delete_branch", { projectId, branchName: branch.name }, "git_delete_branch_result"));
                    }
                  }}
                >
                  Delete
                </button>
              </>
            )}
          </li>
        ))}
      </ul>
      <form
        className="inline-form"
        onSubmit={(event) => {
          event.preventDefault();
          const branch = name.trim();
          if (branch === "") return;
          setName("");
          void run(`Creating ${branch}`, () => connection.ask("git_create_branch", { projectId, branchName: branch }, "git_create_branch_result"));
        }}
      >
        <label htmlFor="new-branch">New branch</label>
        <input id="new-branch" value={name} onChange={(event) => setName(event.target.value)} placeholder="feature/name" />
        <button type="submit" className="button button-small" disabled={busy || name.trim() === ""}>
          Create
        </button>
      </form>
    </div>
  );
}

/** Push, pull and fetch; credentials typed here are sent with that one call and then forgotten. */
function Remote({ projectId, busy, run }: { projectId: string; busy: boolean; run: (what: string, action: () => Promise<unknown>) => Promise<void> }) {
  const { connection, dispatch } = useServices();
  const [remote, setRemote] = useState("origin");
  const [url, setUrl] = useState("");
  const [branch, setBranch] = useState("");
  const [username, setUsername] = useState("");
  const [secret, setSecret] = useState("");
  const call = (type: "git_push" | "git_pull" | "git_fetch") =>
    run(type.replace("git_", "").replace(/^./, (c) => c.toUpperCase()), async () => {
      const payload: {
        projectId: string;
        remoteName: string;
        remoteUrl?: string;
        branchName?: string;
        credentials?: { username: string; password?: string };
      } = { projectId, remoteName: remote.trim() || "origin" };
      if (url.trim() !== "") payload.remoteUrl = url.trim();
      if (branch.trim() !== "") payload.branchName = branch.trim();
      if (username.trim() !== "") payload.credentials = { username: username.trim(), password: secret };
      setSecret("");
      const answer =
        type === "git_push"
          ? await connection.ask(type, payload, "git_push_result")
          : type === "git_pull"
            ? await connection.ask(type, payload, "git_pull_result")
            : await connection.ask(type, payload, "git_fetch_result");
      dispatch({ kind: "notice/add", level: "info", text: `${type.replace("git_", "")}: ${answer.message ?? "done"}` });
    });
  return (
    <form className="git-remote" onSubmit={(event) => event.preventDefault()}>
      <label>
        Remote <input value={remote} onChange={(event) => setRemote(event.target.value)} />
      </label>
      <label>
        URL (optional) <input value={url} placeholder="https://…" onChange={(event) => setUrl(event.target.value)} />
      </label>
      <label>
        Branch (optional) <input value={branch} onChange={(event) => setBranch(event.target.value)} />
      </label>
      <fieldset>
        <legend>Credentials for this call only</legend>
        <label>
          Username <input value={username} autoComplete="off" onChange={(event) => setUsername(event.target.value)} />
        </label>
        <label>
          Password or token <input type="password" value={secret} autoComplete="new-password" onChange={(event) => setSecret(event.target.value)} />
        </label>
      </fieldset>
      <div className="button-row">
        <button type="button" className="button" disabled={busy} onClick={() => void call("git_fetch")}>
          Fetch
        </button>
        <button type="button" className="button" disabled={busy} onClick={() => void call("git_pull")}>
          Pull
        </button>
        <button type="button" className="button button-primary" disabled={busy} onClick={() => void call("git_push")}>
          Push
        </button>
      </div>
    </form>
  );
}
