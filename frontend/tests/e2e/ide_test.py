#!/usr/bin/env python3
"""The web IDE end to end: a real `hma dev` with the demo model, driven
through headless Chromium (Playwright for Python, the system's Chromium).

It opens the sign-in URL `hma dev` prints, asks for a project in the chat,
reloads the page while the run waits (the run and its state come back),
approves the phases until the run is done, then checks the agent tree, the
file tree, the editor (open, edit, save), the terminal (`ls`, and the same
shell after a reload), the git panel
(stage, commit, history), the download, the history sidebar, and that the
browser reported no Content-Security-Policy violation or script error.
Screenshots of each screen go to HMA_E2E_OUTPUT (default: a new temporary
folder, printed at the end).

Run it with `scripts/test-frontend.sh e2e` (which installs Playwright into
frontend/.cache) after `make frontend`.
"""

import io
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path
from typing import Callable

from playwright.sync_api import Error as PlaywrightError, Page, expect, sync_playwright

ROOT = Path(__file__).resolve().parents[3]
DIST = ROOT / "frontend" / "dist"
HMA = Path(os.environ.get("HMA_BIN", ROOT / ".build" / "debug" / "hma"))
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
REQUEST = "Make a small Python package that converts temperatures between Celsius, Fahrenheit and Kelvin, with unittest tests."
RUN_TIMEOUT_S = 300


class Gateway:
    """A `hma dev` process in a temporary data folder."""

    def __init__(self) -> None:
        self.folder = tempfile.mkdtemp(prefix="hma-ide-e2e-data-")
        # The sandbox runs commands as each project's uid, which must be able
        # to pass through the data folder (hma dev refuses one it cannot).
        os.chmod(self.folder, 0o755)
        self.log: list[str] = []
        self.start("0")

    def start(self, port: str) -> None:
        env = dict(os.environ)
        # 10 ms between streamed pieces: a coder's file takes a few seconds
        # to arrive, long enough to be seen streaming into the editor.
        env.update({"HMA_DEMO_PAUSE_MS": os.environ.get("HMA_DEMO_PAUSE_MS", "10"), "HMA_HTTP_FRONTEND": str(DIST)})
        for key in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY", "OPENROUTER_API_KEY", "OLLAMA_HOST"):
            env[key] = ""  # the demo model, whatever the machine has configured
        self.process = subprocess.Popen(
            [str(HMA), "dev", "--data-dir", self.folder, "--port", port, "--mesh-port", "0"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT,
        )
        threading.Thread(target=self._drain, args=(self.process.stderr,), daemon=True).start()
        self.url = self._wait_for_url()
        threading.Thread(target=self._drain, args=(self.process.stdout,), daemon=True).start()

    def _drain(self, stream) -> None:
        for line in stream:
            self.log.append(line.rstrip())

    def _wait_for_url(self) -> str:
        deadline = time.time() + 120
        assert self.process.stdout is not None
        while time.time() < deadline:
            line = self.process.stdout.readline()
            if line == "":
                raise SystemExit(f"hma dev exited early ({self.process.poll()}):\n" + "\n".join(self.log[-40:]))
            self.log.append(line.rstrip())
            match = re.search(r"(http://\S+)", line)
            if "is running" in line and match:
                return match.group(1)
        raise SystemExit("hma dev did not print its URL within 120 s")

    def terminate(self) -> None:
        if self.process.poll() is None:
            began = time.time()
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                print("  hma dev did not stop within 30 s of SIGTERM; killing it. Its last log lines:", flush=True)
                for line in self.log[-25:]:
                    print("    " + line.rstrip()[:300], flush=True)
                if os.environ.get("HMA_E2E_STACKS") and shutil.which("gdb"):
                    subprocess.run(["gdb", "-p", str(self.process.pid), "-batch", "-ex", "thread apply all bt 12"], timeout=60)
                self.process.kill()
                self.process.wait()
            if time.time() - began > 5:
                print(f"  hma dev took {time.time() - began:.1f} s to stop", flush=True)

    def restart(self) -> None:
        """Stops the gateway and starts it again on the same port and data."""
        port = re.search(r":(\d+)/", self.url).group(1)  # type: ignore[union-attr]
        self.terminate()
        self.start(port)

    def stop(self) -> None:
        self.terminate()
        shutil.rmtree(self.folder, ignore_errors=True)


class Run:
    """Collects what the page reports that a test must not ignore."""

    def __init__(self, page: Page, shots: Path) -> None:
        self.page = page
        self.shots = shots
        self.problems: list[str] = []
        self.count = 0
        page.on("console", self._console)
        if os.environ.get("HMA_E2E_VERBOSE"):
            # Every protocol frame, for debugging a failure.
            def frames(socket) -> None:
                socket.on("framesent", lambda payload: print(f"  → {str(payload)[:160]}", flush=True))
                socket.on("framereceived", lambda payload: print(f"  ← {str(payload)[:160]}", flush=True))
            page.on("websocket", frames)
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))

    def _console(self, message) -> None:
        text = message.text
        if os.environ.get("HMA_E2E_VERBOSE"):
            print(f"  console {message.type}: {text}", flush=True)
        if message.type == "error" or "Content Security Policy" in text or "Content-Security-Policy" in text:
            # The socket failing while the gateway restarts (or the page reloads) is expected; nothing else is.
            if text.startswith("WebSocket connection to"):
                return
            self.problems.append(f"console {message.type}: {text}")

    def shot(self, name: str) -> None:
        self.count += 1
        path = self.shots / f"{self.count:02d}-{name}.png"
        self.page.screenshot(path=str(path))
        print(f"  screenshot {path.name}", flush=True)


STARTED = time.time()


def step(text: str) -> None:
    print(f"- [{time.time() - STARTED:5.1f} s] {text}", flush=True)


def approve_until_done(page: Page, run: Run, reload_once: bool, after_reload: Callable[[], None] = lambda: None) -> None:
    """Approves each phase the run asks about until it says it is done."""
    status = page.locator(".run-status")
    approve = page.get_by_role("button", name="Approve")
    deadline = time.time() + RUN_TIMEOUT_S
    approvals = 0
    reloaded = not reload_once
    while time.time() < deadline:
        text = status.inner_text() if status.count() > 0 else ""
        if "Done" in text:
            return
        if "failed" in text or "Stopped" in text:
            raise AssertionError(f"the run ended: {text}")
        if approve.count() > 0 and approve.is_enabled():
            if approvals == 0:
                run.shot("phase-approval")
            if not reloaded:
                # The page goes away mid-run; the state comes back from the gateway.
                step("reloading the page while the run waits for approval")
                page.reload()
                after_reload()
                expect(page.get_by_role("button", name="Approve")).to_be_visible(timeout=30_000)
                run.shot("after-reload")
                reloaded = True
                continue
            approve.click()
            approvals += 1
            step(f"approved phase {approvals}")
            page.wait_for_timeout(300)
            continue
        page.wait_for_timeout(250)
    raise AssertionError(f"the run did not finish within {RUN_TIMEOUT_S} s (status: {status.all_inner_texts()})")


def scenario(page: Page, run: Run, gateway: Gateway) -> None:
    """The screens a person goes through, in order."""
    step("opening the sign-in link")
    response = page.goto(gateway.url)
    assert response is not None and response.ok, f"GET {gateway.url}: {response.status if response else 'no answer'}"
    csp = response.headers.get("content-security-policy", "")
    assert "default-src 'self'" in csp, f"the page has no CSP: {csp!r}"
    expect(page.locator(".connection-state")).to_contain_text("Connected")
    expect(page.get_by_role("heading", name="What should the agents build?")).to_be_visible()
    run.shot("empty")

    step("asking for a project")
    # Whether a coder's text ever streamed into the editor (read-only, live).
    live_probe = """() => { window.__hmaSawLive = false;
        new MutationObserver(() => { if (document.querySelector('.editor-live')) window.__hmaSawLive = true; })
            .observe(document.body, { subtree: true, childList: true }); }"""
    page.evaluate(live_probe)
    box = page.get_by_label("Message")
    box.fill(REQUEST)
    box.press("Enter")
    expect(page.locator(".message-user").first).to_contain_text("temperatures")
    approve_until_done(page, run, reload_once=True, after_reload=lambda: page.evaluate(live_probe))
    run.shot("run-done")
    assert page.evaluate("window.__hmaSawLive"), "no coder's text streamed into the editor during the run"

    step("checking the agent tree")
    agents = page.get_by_role("tree", name="Agent hierarchy").get_by_role("treeitem")
    assert agents.count() >= 2, f"agents shown: {agents.all_inner_texts()}"
    expect(page.locator(".agent-tree .role-coder").first).to_be_visible()
    expect(page.locator(".agents-footer")).to_contain_text("$")

    step("checking the file tree")
    files = page.get_by_role("tree", name="Project files")
    python_file = files.locator("[data-path$='.py']").first
    expect(python_file).to_be_visible()
    paths = files.locator("[data-path]").evaluate_all("(rows) => rows.map((row) => row.dataset.path)")
    step(f"files: {paths}")
    sources = [path for path in paths if path.endswith(".py") and "test" not in path.lower()]
    target = next((path for path in sources if not path.endswith("__init__.py")), sources[0])

    step(f"opening {target} in the editor")
    files.locator(f"[data-path='{target}']").click()
    lines = page.locator(".monaco-editor .view-lines")
    expect(lines).not_to_have_text("", timeout=30_000)
    expect(page.get_by_role("tab", name=re.compile(re.escape(target.split("/")[-1])))).to_be_visible()
    run.shot("editor")

    step("running ls in the terminal")
    page.get_by_role("tab", name="Terminal", exact=True).click()
    terminal = page.locator(".xterm-rows")
    expect(terminal).to_be_visible()
    page.wait_for_timeout(500)
    page.locator(".xterm-host:visible").click()
    page.keyboard.type("ls\n")
    expect(terminal).to_contain_text(target.split("/")[0], timeout=30_000)
    page.keyboard.type("python3 -m unittest 2>&1 | tail -3\n")  # the sample's own tests
    expect(terminal).to_contain_text(re.compile(r"Ran \d+ tests"), timeout=60_000)
    expect(terminal).to_contain_text("OK", timeout=60_000)
    run.shot("terminal")

    step("committing everything in the git panel")
    page.get_by_role("tab", name="Git", exact=True).click()
    init = page.get_by_role("button", name="Initialize repository")
    stage_all = page.get_by_role("button", name="Stage all")
    expect(init.or_(stage_all)).to_be_visible()
    if init.count() > 0 and init.is_visible():
        init.click()
    expect(stage_all).to_be_visible()
    stage_all.click()
    expect(page.get_by_role("button", name="Unstage all")).to_be_visible()
    page.get_by_label("Commit message").fill("The temperature package")
    page.get_by_role("button", name=re.compile(r"^Commit \d+ file")).click()
    expect(page.locator(".notice")).to_contain_text("Committed")

    step("editing the file and saving it with Ctrl+S")
    page.get_by_role("tab", name=re.compile(re.escape(target.split("/")[-1]))).click()
    page.locator(".monaco-editor .view-lines").click()
    page.keyboard.press("Control+End")
    page.keyboard.press("End")
    page.keyboard.press("Enter")
    page.keyboard.type("# saved from the browser test")
    page.keyboard.press("Escape")
    expect(page.locator(".dirty-dot")).to_be_visible()
    page.keyboard.press("Control+s")
    expect(page.locator(".dirty-dot")).to_have_count(0)

    step("the saved edit is on disk (terminal) and in git (diff, commit, history)")
    page.get_by_role("tab", name="Terminal", exact=True).click()
    page.locator(".xterm-host:visible").click()
    page.keyboard.type(f"grep -n 'saved from the browser' {target}\n")
    expect(terminal).to_contain_text("# saved from the browser test", timeout=30_000)

    step("reloading the page: the same shell comes back with its output")
    page.keyboard.type("export HMA_MARK=kept-$((6*7)); echo exported-$((2*3))\n")
    expect(terminal).to_contain_text("exported-6", timeout=30_000)  # run by the shell, not just typed
    page.reload()
    expect(page.locator(".connection-state")).to_contain_text("Connected", timeout=60_000)
    page.get_by_role("tab", name="Terminal", exact=True).click()
    expect(terminal).to_contain_text("# saved from the browser test", timeout=30_000)  # replayed by the gateway
    page.locator(".xterm-host:visible").click()
    page.keyboard.type("echo mark=$HMA_MARK\n")
    expect(terminal).to_contain_text("mark=kept-42", timeout=30_000)  # the same shell, not a new one
    page.get_by_role("tab", name="Git", exact=True).click()
    changed = page.locator(".git-file", has_text=target)
    expect(changed).to_be_visible()
    changed.locator(".git-path").click()
    expect(page.locator(".git-diff")).to_contain_text("+# saved from the browser test")
    run.shot("git-diff")
    page.get_by_role("button", name="Stage all").click()
    page.get_by_label("Commit message").fill("An edit from the browser")
    page.get_by_role("button", name=re.compile(r"^Commit \d+ file")).click()
    expect(page.locator(".git-file")).to_have_count(0)
    page.get_by_role("tab", name="History", exact=True).click()
    expect(page.locator(".git-history li")).to_have_count(2)
    expect(page.locator(".git-history")).to_contain_text("An edit from the browser")
    run.shot("git-history")

    step("downloading the project")
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download").click()
    download = download_info.value
    data = Path(download.path()).read_bytes()
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert target in names, f"the zip holds {names}"

    step("checking the history sidebar")
    page.get_by_role("button", name="History", exact=True).click()
    history = page.get_by_role("navigation", name="Conversation history")
    expect(history.locator(".history-item")).not_to_have_count(0)
    run.shot("history")
    page.get_by_role("button", name="Hide history").click()

    step("restarting the gateway: the tab reconnects and reloads the session")
    gateway.terminate()
    expect(page.locator(".banner")).to_contain_text("Disconnected", timeout=30_000)
    # What is typed while offline waits, and goes out once the gateway is back.
    later = "Also explain the Kelvin scale in the README."
    box.fill(later)
    box.press("Enter")
    expect(page.locator(".message-pending")).to_contain_text("queued")
    run.shot("disconnected")
    gateway.restart()
    expect(page.locator(".connection-state")).to_contain_text("Connected", timeout=60_000)
    expect(page.locator(".message-pending")).to_have_count(0, timeout=30_000)
    expect(page.locator(".message-user", has_text=later)).to_be_visible()
    # It started a new run on the project, which asks for approval again: send the phase back with feedback.
    expect(page.get_by_role("button", name="Approve")).to_be_visible(timeout=60_000)
    user_messages = page.locator(".message-user").count()
    page.get_by_role("button", name="Request changes").click()
    page.get_by_label("What should change?").fill("Use Kelvin only, please.")
    page.get_by_role("button", name="Send back").click()
    expect(page.locator(".message-user")).to_have_count(user_messages + 1)
    expect(page.locator(".message-user").last).to_contain_text("Use Kelvin only")
    # The master revises and asks again; stop the run while it waits.
    expect(page.get_by_role("button", name="Approve")).to_be_visible(timeout=60_000)
    page.get_by_role("button", name="Stop run").click()
    expect(page.locator(".run-status")).to_contain_text("Stopped", timeout=15_000)
    expect(page.locator(".message-assistant").first).to_be_visible()
    expect(files.locator(f"[data-path='{target}']")).to_be_visible()
    page.get_by_role("button", name="History", exact=True).click()
    expect(history.locator(".history-item")).not_to_have_count(0)
    page.get_by_role("button", name="Hide history").click()

    step("importing files as a new project")
    page.get_by_role("button", name="Import").click()
    dialog = page.get_by_role("dialog", name="Import a project")
    dialog.locator("input[type=file]").first.set_input_files([
        {"name": "hello.py", "mimeType": "text/x-python", "buffer": b"print('hello from an import')\n"},
        {"name": "notes.md", "mimeType": "text/markdown", "buffer": b"# Notes\n"},
    ])
    expect(dialog).to_contain_text("2 files chosen")
    dialog.get_by_label("Project name").fill("Imported in the browser")
    dialog.get_by_role("button", name="Import", exact=True).click()
    expect(page.locator(".project-title")).to_have_text("Imported in the browser", timeout=60_000)
    expect(files.locator("[data-path='hello.py']")).to_be_visible()
    files.locator("[data-path='hello.py']").click()
    expect(page.locator(".monaco-editor .view-lines")).to_contain_text("hello from an import")
    run.shot("imported")

    step("opening settings and the cluster view")
    page.get_by_role("button", name="Settings").click()
    settings = page.get_by_role("dialog", name="Settings")
    expect(settings).to_contain_text("demo model")
    settings.get_by_role("button", name="Check this model").click()
    expect(settings.locator(".check-result")).to_contain_text("Usable", timeout=30_000)
    run.shot("settings")
    page.keyboard.press("Escape")
    page.get_by_role("button", name="Cluster").click()
    expect(page.locator(".cluster-table tbody tr")).not_to_have_count(0)
    run.shot("cluster")
    page.keyboard.press("Escape")


def main() -> int:
    if not HMA.exists():
        print(f"error: {HMA} is missing; build it first (swift build --product hma) or set HMA_BIN", file=sys.stderr)
        return 2
    if not (DIST / "index.html").exists():
        print("error: frontend/dist is missing; run make frontend", file=sys.stderr)
        return 2
    shots = Path(os.environ.get("HMA_E2E_OUTPUT") or tempfile.mkdtemp(prefix="hma-ide-e2e-"))
    shots.mkdir(parents=True, exist_ok=True)
    step(f"starting {HMA} dev")
    gateway = Gateway()
    step(f"gateway at {gateway.url}")
    failed = True
    try:
        with sync_playwright() as playwright:
            args = ["--no-sandbox"] if os.geteuid() == 0 else []
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
            context = browser.new_context(viewport={"width": 1440, "height": 900}, accept_downloads=True)
            page = context.new_page()
            page.set_default_timeout(30_000)
            run = Run(page, shots)
            try:
                scenario(page, run, gateway)
                assert not run.problems, "the browser reported:\n  " + "\n  ".join(run.problems)
            except (AssertionError, PlaywrightError) as error:
                print(f"FAILED: {error}", file=sys.stderr)
                if run.problems:
                    print("the browser reported:\n  " + "\n  ".join(run.problems), file=sys.stderr)
                try:
                    page.screenshot(path=str(shots / "failure.png"))
                    print(f"  screenshot failure.png in {shots}", file=sys.stderr)
                except PlaywrightError:
                    pass
                return 1
            finally:
                browser.close()
        failed = False
        step(f"ok: the web IDE works end to end; screenshots in {shots}")
        return 0
    finally:
        gateway.stop()
        if failed:
            print("hma dev's last log lines:\n  " + "\n  ".join(gateway.log[-30:]), file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
