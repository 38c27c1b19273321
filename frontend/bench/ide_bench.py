#!/usr/bin/env python3
"""`make bench-ide`: the web IDE in headless Chromium against a real `hma dev`.

Measures, on this machine:

(a) time to interactive of the first load, with a cold cache (a new browser
    context each time: empty HTTP cache, no localStorage) and a warm one (the
    same context loading the page again). TTI is the time from navigation
    start (performance.timeOrigin) to the first DOM state in which the message
    box is in the page and enabled and the header says "Connected" — which the
    app renders only after the WebSocket's `welcome` arrived (the time of that
    frame is recorded too). Median of LOADS loads each;
(b) the bundle the first load fetches, raw and gzip (level 6, as a server
    would compress it): index.html, config.js, the app's JS and CSS, xterm.js;
    and separately the Monaco files it loads (the editor is loaded at start);
(c) frame time while coders stream into the open editor: RUNS real demo
    runs in one page (the `javascript-todo` recording) with HMA_DEMO_PAUSE_MS
    chosen for about 200 tokens/s per coder, "Follow agents" on (each file a
    coder writes opens in Monaco and shows the text as it arrives), the agent
    tree updating. It records requestAnimationFrame deltas and
    PerformanceObserver('longtask') entries in the page, and the arrival time
    of every llm_stream/code_stream frame; the token rate is measured from
    those frames (4 characters a token, the demo model's own usage estimate).
    Frames count while a coder streams (from its first to its last llm_stream
    frame of a model reply, ± one 25 ms flush); the first run in the page is
    also reported apart (it loads Monaco's language support). An idle
    baseline (the same page, nothing arriving) is measured first. One more
    run is traced (Chrome's "toplevel" category) for the main thread's CPU
    time, apart from the time it waited for a CPU.

Prints a summary, writes its section of docs/benchmarks.md (between
`<!-- bench:ide:begin -->` and `<!-- bench:ide:end -->`), and ends with
`ide: first load N ms, bundle N KiB gzip, streaming frame p95 N.N ms`.

Run it with `scripts/test-frontend.sh bench` (which installs Playwright into
frontend/.cache) after `make frontend`; `make bench-ide` does both.
Environment: HMA_BIN, LOADS (default 7), RUNS (demo runs, default 3),
HMA_DEMO_PAUSE_MS (default 17), FRONTEND_DIST (another build of the
frontend to measure, e.g. the one before a change), BENCH_DOCS (default
docs/benchmarks.md; empty: do not write), BENCH_DUMP (a file for the raw
measurements, JSON), CHROMIUM.
"""

from __future__ import annotations

import datetime
import gzip
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.dont_write_bytecode = True  # no __pycache__ next to the browser test
sys.path.insert(0, str(ROOT / "frontend" / "tests" / "e2e"))
import ide_test  # noqa: E402
from ide_test import CHROMIUM, HMA, Gateway  # noqa: E402  (the e2e test's gateway, started the same way)

# Another build of the frontend (e.g. the one before a change, to compare); default frontend/dist.
DIST = Path(os.environ.get("FRONTEND_DIST") or ide_test.DIST).resolve()
ide_test.DIST = DIST  # what the gateway serves

LOADS = int(os.environ.get("LOADS", "7"))
RUNS = int(os.environ.get("RUNS", "3"))
PAUSE_MS = os.environ.get("HMA_DEMO_PAUSE_MS", "17")
DOCS = os.environ.get("BENCH_DOCS", str(ROOT / "docs" / "benchmarks.md"))
REQUEST = "Make a command-line todo app in JavaScript (Node.js) with node --test tests."
RUN_TIMEOUT_S = 300
CHARS_PER_TOKEN = 4
FLUSH_MS = 25.0  # the gateway coalesces tokens per agent every 25 ms (docs/protocol.md)
BURST_GAP_MS = 250.0  # a pause this long ends a model reply's stream

# Installed before the page's own scripts: clocks for the load, the socket's
# frames, animation frames and long tasks, all on performance.now().
INSTRUMENT = r"""
(() => {
  const bench = (window.__bench = { welcomeAt: null, readyAt: null, monacoAt: null, stream: [], frames: [], longTasks: [], recording: false });
  const Native = window.WebSocket;
  class Watched extends Native {
    constructor(url, protocols) {
      super(url, protocols);
      // Added before the app's onmessage: stamps the frame's arrival.
      this.addEventListener("message", (event) => {
        const at = performance.now();
        const data = typeof event.data === "string" ? event.data : "";
        if (bench.welcomeAt === null && data.includes('"welcome"')) {
          try { if (JSON.parse(data).type === "welcome") bench.welcomeAt = at; } catch (_) {}
        }
        if (bench.recording && (data.includes('"llm_stream"') || data.includes('"code_stream"'))) {
          try {
            const frame = JSON.parse(data);
            const p = frame.payload || {};
            if (frame.type === "llm_stream") bench.stream.push([at, p.agentId || "", p.filePath || "", (p.delta || "").length, p.done === true]);
            else if (frame.type === "code_stream") bench.stream.push([at, p.agentId || "", p.filePath || "", -1, true]);
          } catch (_) {}
        }
      });
    }
  }
  window.WebSocket = Watched;
  let monaco;
  Object.defineProperty(window, "monaco", {
    configurable: true,
    get() { return monaco; },
    set(value) { if (bench.monacoAt === null) bench.monacoAt = performance.now(); monaco = value; },
  });
  try {
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) bench.longTasks.push([entry.startTime, entry.duration]);
    }).observe({ type: "longtask", buffered: true });
  } catch (_) {}
  const ready = () => {
    if (bench.readyAt !== null) return true;
    const box = document.getElementById("composer-input");
    const online = document.querySelector(".connection-state.connection-online");
    if (box !== null && !box.disabled && online !== null) {
      bench.readyAt = performance.now();
      return true;
    }
    return false;
  };
  const observer = new MutationObserver(() => { if (ready()) observer.disconnect(); });
  observer.observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
  // One loop at a time: a stopped loop's pending callback does not run on into the next.
  let loop = 0;
  bench.startFrames = () => {
    loop += 1;
    const mine = loop;
    bench.frames = [];
    bench.recording = true;
    const tick = (now) => {
      if (mine !== loop) return;
      bench.frames.push(now);
      if (bench.recording) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  };
  bench.stopFrames = () => { bench.recording = false; loop += 1; };
})();
"""


def step(text: str) -> None:
    print(f"- {text}", flush=True)


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, int(round(fraction * len(ordered) + 0.5)) - 1))
    return ordered[index]


def load_average() -> str:
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "?"


class Bench:
    def __init__(self, browser: Browser, gateway: Gateway) -> None:
        self.browser = browser
        self.gateway = gateway
        parsed = urlparse(gateway.url)
        self.base = f"{parsed.scheme}://{parsed.netloc}/"
        self.cookies: list = []
        self.problems: list[str] = []
        self.cdp = None

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time used so far by the browser's processes, by type (renderer, gpu, browser, utility)."""
        if self.cdp is None:
            self.cdp = self.browser.new_browser_cdp_session()
        used: dict[str, float] = {}
        for process in self.cdp.send("SystemInfo.getProcessInfo")["processInfo"]:
            used[process["type"]] = used.get(process["type"], 0.0) + process["cpuTime"]
        return used

    def context(self) -> BrowserContext:
        context = self.browser.new_context(viewport={"width": 1440, "height": 900})
        context.add_init_script(INSTRUMENT)
        if self.cookies:
            context.add_cookies(self.cookies)
        return context

    def watch(self, page: Page) -> None:
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))

    def sign_in(self) -> None:
        """The one-time sign-in link sets the session cookie the other contexts reuse."""
        context = self.context()
        page = context.new_page()
        page.goto(self.gateway.url)
        expect(page.locator(".connection-state.connection-online")).to_be_visible(timeout=60_000)
        self.cookies = context.cookies()
        context.close()

    def load(self, context: BrowserContext) -> dict:
        """One load of the page: its clocks and the resources it fetched."""
        page = context.new_page()
        self.watch(page)
        page.goto(self.base)
        page.wait_for_function("() => window.__bench.readyAt !== null && window.__bench.monacoAt !== null", timeout=60_000)
        page.wait_for_timeout(300)  # the cache settles (Monaco's files are written to it)
        result = page.evaluate(
            """() => {
                const nav = performance.getEntriesByType("navigation")[0];
                return {
                    ready: window.__bench.readyAt, welcome: window.__bench.welcomeAt, monaco: window.__bench.monacoAt,
                    dcl: nav ? nav.domContentLoadedEventEnd : null, loaded: nav ? nav.loadEventEnd : null,
                    longTasks: window.__bench.longTasks,
                    resources: performance.getEntriesByType("resource").map((r) => [r.name, r.transferSize, r.initiatorType]),
                    document: location.href,
                };
            }"""
        )
        page.close()
        return result

    def loads(self) -> tuple[list[dict], list[dict]]:
        cold: list[dict] = []
        warm: list[dict] = []
        for index in range(LOADS):
            context = self.context()
            cold.append(self.load(context))
            warm.append(self.load(context))
            context.close()
            step(f"load {index + 1}/{LOADS}: cold {cold[-1]['ready']:.0f} ms, warm {warm[-1]['ready']:.0f} ms")
        return cold, warm

    def stream(self) -> dict:
        """Demo runs with the streaming files open; frames, long tasks and stream frames on one clock."""
        context = self.context()
        page = context.new_page()
        self.watch(page)
        page.goto(self.base)
        page.wait_for_function("() => window.__bench.readyAt !== null && window.__bench.monacoAt !== null", timeout=60_000)
        page.wait_for_timeout(1000)
        # The idle baseline: the same page with nothing arriving.
        page.evaluate("window.__bench.startFrames()")
        page.wait_for_timeout(3000)
        page.evaluate("window.__bench.stopFrames()")
        idle = page.evaluate("({ frames: window.__bench.frames, longTasks: window.__bench.longTasks })")
        idle_start, idle_end = idle["frames"][0], idle["frames"][-1]
        idle_long = [task for task in idle["longTasks"] if task[0] + task[1] > idle_start and task[0] < idle_end]
        runs = []
        traced: dict = {}
        # RUNS runs for the frames, then one more traced (Chrome's "toplevel" trace: every task's
        # wall and thread CPU time) for the page's own work, apart from waiting for a CPU.
        for number in range(1, RUNS + 2):
            tracing = number == RUNS + 1
            trace_file = Path(tempfile.mkdtemp(prefix="hma-bench-ide-")) / "trace.json"
            if tracing:
                self.browser.start_tracing(page=page, path=str(trace_file), categories=["toplevel", "blink.user_timing"])
            page.evaluate("window.__bench.stream = []; window.__bench.startFrames(); performance.mark('bench-run')")
            began = page.evaluate("performance.now()")
            cpu_before = self.cpu_seconds()
            if number > 1:
                page.get_by_role("button", name="New project").click()
                expect(page.get_by_role("heading", name="What should the agents build?")).to_be_visible()
            box = page.get_by_label("Message")
            box.fill(REQUEST)
            box.press("Enter")
            approve_until_done(page)
            page.wait_for_timeout(500)
            page.evaluate("window.__bench.stopFrames()")
            cpu_after = self.cpu_seconds()
            data = page.evaluate("({ frames: window.__bench.frames, stream: window.__bench.stream, longTasks: window.__bench.longTasks })")
            data["cpu"] = {kind: cpu_after[kind] - cpu_before.get(kind, 0.0) for kind in cpu_after}
            data["began"] = began
            data["ended"] = data["frames"][-1] if data["frames"] else began
            data["longTasks"] = [task for task in data["longTasks"] if task[0] + task[1] > began]
            cpu = ", ".join(f"{kind} {seconds:.1f} s" for kind, seconds in sorted(data["cpu"].items()) if seconds >= 0.05)
            if tracing:
                self.browser.stop_tracing()
                data["tasks"] = main_thread_tasks(trace_file, "bench-run")
                shutil.rmtree(trace_file.parent, ignore_errors=True)
                traced = data
                step(f"traced run: {len(data['tasks'])} main-thread tasks; browser CPU {cpu}")
            else:
                runs.append(data)
                step(f"run {number}/{RUNS}: {len(data['stream'])} stream frames, {len(data['frames'])} animation frames, "
                     f"{(data['ended'] - began) / 1000:.1f} s; browser CPU {cpu}")
        context.close()
        return {"idle": idle["frames"], "idleLong": idle_long, "runs": runs, "traced": traced}


def main_thread_tasks(trace_file: Path, mark: str) -> list[tuple[float, float, float]]:
    """The page's main-thread tasks in a Chrome trace: (start on the page's performance.now() clock, wall ms, thread CPU ms)."""
    loaded = json.loads(trace_file.read_text())
    events = loaded["traceEvents"] if isinstance(loaded, dict) else loaded
    anchor = next(event for event in events if event.get("name") == mark)
    pid, tid = anchor["pid"], anchor["tid"]
    offset = anchor["args"]["data"]["startTime"] - anchor["ts"] / 1000
    tasks = sorted(
        (event for event in events if event.get("pid") == pid and event.get("tid") == tid and event.get("ph") == "X" and "dur" in event),
        key=lambda event: (event["ts"], -event["dur"]),
    )
    result: list[tuple[float, float, float]] = []
    end = -1.0
    for event in tasks:
        if event["ts"] >= end:  # top level: not inside the previous task
            result.append((event["ts"] / 1000 + offset, event["dur"] / 1000, event.get("tdur", event["dur"]) / 1000))
            end = event["ts"] + event["dur"]
    return result


def approve_until_done(page: Page) -> None:
    """Approves each phase until the run is done (polling twice a second, to stay out of the frames' way)."""
    status = page.locator(".run-status")
    approve = page.get_by_role("button", name="Approve")
    deadline = time.time() + RUN_TIMEOUT_S
    while time.time() < deadline:
        text = status.inner_text() if status.count() > 0 else ""
        if "Done" in text:
            return
        if "failed" in text or "Stopped" in text:
            raise SystemExit(f"the demo run ended: {text}")
        if approve.count() > 0 and approve.is_enabled():
            approve.click()
        page.wait_for_timeout(500)
    raise SystemExit(f"the demo run did not finish within {RUN_TIMEOUT_S} s")


def bursts(stream: list) -> list[dict]:
    """Each coder's model replies as streamed: runs of llm_stream frames less than BURST_GAP_MS apart."""
    by_agent: dict[str, list] = {}
    for at, agent, path, length, done in stream:
        if agent.startswith("coder:") and length >= 0 and not done:
            by_agent.setdefault(agent, []).append((at, length, path))
    result = []
    for agent, frames in by_agent.items():
        current: list = []
        for frame in frames:
            if current and frame[0] - current[-1][0] > BURST_GAP_MS:
                result.append({"agent": agent, "frames": current})
                current = []
            current.append(frame)
        if current:
            result.append({"agent": agent, "frames": current})
    for burst in result:
        frames = burst["frames"]
        burst["start"] = frames[0][0] - FLUSH_MS
        burst["end"] = frames[-1][0] + FLUSH_MS
        burst["chars"] = sum(length for _, length, _ in frames)
        # The rate over the frames after the first (whose text had piled up for one flush).
        span = frames[-1][0] - frames[0][0]
        burst["rate"] = (sum(length for _, length, _ in frames[1:]) / CHARS_PER_TOKEN) / (span / 1000) if len(frames) >= 3 and span > 0 else None
    return result


def union(intervals: list[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[list[float]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(start, end) for start, end in merged]


def inside(at: float, windows: list[tuple[float, float]]) -> bool:
    return any(start <= at <= end for start, end in windows)


def overlaps(task: list, windows: list[tuple[float, float]]) -> bool:
    return any(task[0] < end and task[0] + task[1] > start for start, end in windows)


def deltas(frames: list[float]) -> list[tuple[float, float]]:
    """(end time, delta) of consecutive animation frames."""
    return [(frames[i], frames[i] - frames[i - 1]) for i in range(1, len(frames))]


def bundle(resources: list, document: str) -> dict:
    """Sizes of what the first load fetched, from the files in frontend/dist (the gateway does not compress)."""
    app: dict[str, tuple[int, int]] = {}
    monaco: dict[str, tuple[int, int]] = {}
    names = [document] + [name for name, _, kind in resources if kind != "xmlhttprequest" and not name.startswith("ws")]
    for name in names:
        path = urlparse(name).path
        relative = "index.html" if path in ("", "/") else path.lstrip("/")
        file = DIST / relative
        if not file.is_file():
            continue
        data = file.read_bytes()
        sizes = (len(data), len(gzip.compress(data, compresslevel=6)))
        (monaco if relative.startswith("vendor/monaco-") else app)[relative] = sizes
    total = lambda group: (sum(raw for raw, _ in group.values()), sum(packed for _, packed in group.values()))  # noqa: E731
    return {"app": app, "monaco": monaco, "appTotal": total(app), "monacoTotal": total(monaco)}


def kib(value: float) -> str:
    return f"{value / 1024:.0f}"


def report(cold: list[dict], warm: list[dict], streaming: dict, sizes: dict, started: str, loads_before: str) -> tuple[list[str], list[str], str]:
    cold_ready = [load["ready"] for load in cold]
    warm_ready = [load["ready"] for load in warm]
    median = statistics.median

    idle = [delta for _, delta in deltas(streaming["idle"])]
    windows: list[tuple[float, float]] = []
    frame_times: list[float] = []
    long_in: list[list] = []
    long_run: list[list] = []
    rates: list[float] = []
    coder_chars = 0
    coder_ms = 0.0
    all_chars = 0
    runs = streaming["runs"]
    per_run: list[list[float]] = []
    for run in runs:
        found = bursts(run["stream"])
        run_windows = union([(burst["start"], burst["end"]) for burst in found])
        windows += run_windows
        run_frames = [delta for at, delta in deltas(run["frames"]) if inside(at, run_windows)]
        frame_times += run_frames
        per_run.append(run_frames)
        long_in += [task for task in run["longTasks"] if overlaps(task, run_windows)]
        long_run += run["longTasks"]
        for burst in found:
            if burst["rate"] is not None:
                rates.append(burst["rate"])
                frames = burst["frames"]
                coder_chars += sum(length for _, length, _ in frames[1:])
                coder_ms += frames[-1][0] - frames[0][0]
        streamed = sum(length for _, _, _, length, _ in run["stream"] if length > 0)
        all_chars += streamed
    window_s = sum(end - start for start, end in windows) / 1000
    coder_rate = (coder_chars / CHARS_PER_TOKEN) / (coder_ms / 1000) if coder_ms > 0 else float("nan")
    run_s = sum((run["ended"] - run["began"]) for run in runs) / 1000
    page_rate = (all_chars / CHARS_PER_TOKEN) / run_s if run_s > 0 else float("nan")
    # While coders stream: every model's tokens arriving then, per second of streaming.
    window_chars = sum(
        length for run in runs for at, agent, _, length, _ in run["stream"] if length > 0 and inside(at, windows)
    )
    window_rate = (window_chars / CHARS_PER_TOKEN) / window_s if window_s > 0 else float("nan")
    p50, p95, p99 = percentile(frame_times, 0.5), percentile(frame_times, 0.95), percentile(frame_times, 0.99)
    idle_p50, idle_p95 = percentile(idle, 0.5), percentile(idle, 0.95)
    worst = max(frame_times) if frame_times else float("nan")
    long_over = [task for task in long_in if task[1] > 50]
    # The first run in the page also loads Monaco's language support (and starts its JavaScript worker).
    missed = lambda values: sum(1 for value in values if value > 1.5 * idle_p50)  # noqa: E731
    first_run = per_run[0] if per_run else []
    later_runs = [value for values in per_run[1:] for value in values]
    by_run = (
        f"first run in the page: {missed(first_run)} of {len(first_run)} frames missed, p95 {percentile(first_run, 0.95):.1f} ms; "
        f"later runs: {missed(later_runs)} of {len(later_runs)}, p95 {percentile(later_runs, 0.95):.1f} ms"
    )
    longest = max((task[1] for task in long_in), default=0.0)
    dropped = sum(1 for value in frame_times if value > 1.5 * idle_p50)
    # The traced run: the page's own main-thread work (thread CPU time), apart from waiting for a CPU.
    traced = streaming.get("traced") or {}
    traced_windows = union([(burst["start"], burst["end"]) for burst in bursts(traced.get("stream", []))])
    traced_s = sum(end - start for start, end in traced_windows) / 1000
    traced_tasks = [task for task in traced.get("tasks", []) if inside(task[0], traced_windows)]
    cpu_per_s = sum(cpu for _, _, cpu in traced_tasks) / traced_s if traced_s > 0 else float("nan")
    traced_long = [task for task in traced_tasks if task[1] > 50]
    traced_long_wall = sum(wall for _, wall, _ in traced_long)
    traced_long_cpu = sum(cpu for _, _, cpu in traced_long)
    # rAF intervals at 60 Hz are 16.7 ms when no frame is missed (never shorter): the issue's
    # "p95 frame ≤ 16 ms" is read as "no missed frame at p95", p95 within one frame plus 0.5 ms of jitter.
    budget = 1000 / 60
    frame_goal = p95 <= budget + 0.5
    app_raw, app_gz = sizes["appTotal"]
    monaco_raw, monaco_gz = sizes["monacoTotal"]
    first_load = median(cold_ready)

    summary = [
        f"first load (TTI) median: cold {first_load:.0f} ms, warm {median(warm_ready):.0f} ms ({LOADS} loads each)",
        f"bundle: app {kib(app_gz)} KiB gzip ({kib(app_raw)} KiB raw, {len(sizes['app'])} files); Monaco as loaded {kib(monaco_gz)} KiB gzip ({kib(monaco_raw)} KiB raw, {len(sizes['monaco'])} files)",
        f"streaming: coders at {coder_rate:.0f} tokens/s each while they stream (HMA_DEMO_PAUSE_MS={PAUSE_MS}; {median(rates) if rates else float('nan'):.0f} median over {len(rates)} replies), all agents {window_rate:.0f} tokens/s then; {window_s:.1f} s of streaming in {len(runs)} runs",
        f"frame p50 {p50:.1f} ms, p95 {p95:.1f} ms, p99 {p99:.1f} ms, max {worst:.1f} ms over {len(frame_times)} frames (idle baseline p50 {idle_p50:.1f}, p95 {idle_p95:.1f}); {dropped} frames over 1.5 × the idle p50",
        by_run,
        f"long tasks while streaming: {len(long_over)} over 50 ms (longest {longest:.0f} ms); during the whole runs {len([t for t in long_run if t[1] > 50])}",
        f"the page's main thread while coders stream (one more run, traced): {cpu_per_s:.0f} ms of CPU per second; "
        f"its {len(traced_long)} tasks over 50 ms took {traced_long_wall:.0f} ms, {traced_long_cpu:.0f} ms of it on a CPU",
        "goals: p95 frame ≤ 16 ms (one 60 Hz frame, 16.7 ms): "
        + (f"met ({p95:.1f} ms)" if frame_goal else f"NOT met ({p95:.1f} ms: {dropped / max(len(frame_times), 1):.0%} of the frames missed; the idle page's p95 {idle_p95:.1f} ms)")
        + "; no long task over 50 ms: "
        + ("met" if not long_over else f"NOT met ({len(long_over)}, longest {longest:.0f} ms)"),
    ]

    def row(name: str, values: list[float]) -> str:
        return f"| {name} | {median(values):.0f} | {min(values):.0f} | {max(values):.0f} |"

    table = [
        "| first load, ms after navigation start (median / min / max of " + str(LOADS) + ") | median | min | max |",
        "|---|---:|---:|---:|",
        row("cold cache: TTI (message box enabled, header Connected)", cold_ready),
        row("cold cache: WebSocket `welcome` received", [load["welcome"] for load in cold]),
        row("cold cache: DOMContentLoaded", [load["dcl"] for load in cold]),
        row("cold cache: Monaco loaded (window.monaco set)", [load["monaco"] for load in cold]),
        row("warm cache: TTI", warm_ready),
        row("warm cache: WebSocket `welcome` received", [load["welcome"] for load in warm]),
        row("warm cache: Monaco loaded", [load["monaco"] for load in warm]),
        "",
        "| bundle | files | raw KiB | gzip KiB |",
        "|---|---:|---:|---:|",
    ]
    for name, (raw, packed) in sorted(sizes["app"].items(), key=lambda item: -item[1][1]):
        table.append(f"| {re.sub(r'app-[A-Z0-9]+', 'app-[hash]', re.sub(r'-[0-9a-f]{8}', '', name))} | 1 | {raw / 1024:.1f} | {packed / 1024:.1f} |")
    table.append(f"| **the app (what TTI waits for)** | {len(sizes['app'])} | {app_raw / 1024:.1f} | {app_gz / 1024:.1f} |")
    table.append(f"| Monaco 0.33 as loaded ({', '.join(sorted(Path(name).name for name in sizes['monaco']))}) | {len(sizes['monaco'])} | {monaco_raw / 1024:.1f} | {monaco_gz / 1024:.1f} |")
    table += [
        "",
        "| while coders stream into the open editor | result |",
        "|---|---|",
        f"| token rate per coder while it streams (4 chars a token) | {coder_rate:.0f} tokens/s (median reply {median(rates) if rates else float('nan'):.0f}) |",
        f"| token rate of all agents then / over the whole runs | {window_rate:.0f} / {page_rate:.0f} tokens/s |",
        f"| frames measured (s of streaming, runs) | {len(frame_times)} ({window_s:.1f} s, {len(runs)}) |",
        f"| frame time p50 / p95 / p99 / max | {p50:.1f} / {p95:.1f} / {p99:.1f} / {worst:.1f} ms |",
        f"| idle page, same run: frame p50 / p95 | {idle_p50:.1f} / {idle_p95:.1f} ms |",
        f"| frames over 1.5 × the idle p50 (a missed frame) | {dropped} |",
        f"| the same, first run in the page / later runs | {missed(first_run)} of {len(first_run)} / {missed(later_runs)} of {len(later_runs)} |",
        f"| frame p95, first run / later runs | {percentile(first_run, 0.95):.1f} / {percentile(later_runs, 0.95):.1f} ms |",
        f"| long tasks over 50 ms while streaming (longest) | {len(long_over)} ({longest:.0f} ms) |",
        f"| traced run: main-thread CPU per second of streaming | {cpu_per_s:.0f} ms ({traced_s:.1f} s of streaming) |",
        f"| traced run: tasks over 50 ms, wall / on a CPU | {len(traced_long)}: {traced_long_wall:.0f} / {traced_long_cpu:.0f} ms |",
    ]
    header = (
        f"Command: `make bench-ide` ({started}; {os.cpu_count()} cores; Chromium {CHROMIUM_VERSION}, headless, 1440×900; "
        f"`hma dev` debug build, demo model; load average {loads_before} before the run, {load_average()} after)."
    )
    last = f"ide: first load {first_load:.0f} ms, bundle {kib(app_gz)} KiB gzip, streaming frame p95 {p95:.1f} ms"
    return [header, "", "```", *summary, "```", "", *table], summary, last


def write_docs(section: list[str]) -> None:
    if not DOCS:
        return
    path = Path(DOCS)
    text = path.read_text()
    block = "<!-- bench:ide:begin -->\n" + "\n".join(section) + "\n<!-- bench:ide:end -->"
    pattern = re.compile(r"<!-- bench:ide:begin -->.*?<!-- bench:ide:end -->", re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text)
    else:
        text = text.rstrip("\n") + "\n\n## IDE\n\n" + block + "\n"
    path.write_text(text)
    print(f"wrote {path}", flush=True)


CHROMIUM_VERSION = "?"


def main() -> int:
    global CHROMIUM_VERSION
    if not HMA.exists():
        print(f"error: {HMA} is missing; build it first (swift build --product hma) or set HMA_BIN", file=sys.stderr)
        return 2
    if not (DIST / "index.html").exists():
        print("error: frontend/dist is missing; run make frontend", file=sys.stderr)
        return 2
    os.environ["HMA_DEMO_PAUSE_MS"] = PAUSE_MS  # read by the gateway's start
    started = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    loads_before = load_average()
    step(f"starting {HMA} dev (HMA_DEMO_PAUSE_MS={PAUSE_MS})")
    gateway = Gateway()
    try:
        with sync_playwright() as playwright:
            args = ["--no-sandbox"] if os.geteuid() == 0 else []
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
            CHROMIUM_VERSION = browser.version.split(".")[0]
            try:
                bench = Bench(browser, gateway)
                bench.sign_in()
                step(f"loading the page {LOADS} times cold and warm")
                cold, warm = bench.loads()
                sizes = bundle(cold[0]["resources"], cold[0]["document"])
                step(f"{RUNS} demo runs with the streaming files open")
                streaming = bench.stream()
            finally:
                browser.close()
        if bench.problems:
            print("the browser reported:\n  " + "\n  ".join(bench.problems), file=sys.stderr)
            return 1
    finally:
        gateway.stop()
    if os.environ.get("BENCH_DUMP"):
        # The raw measurements, for a closer look.
        Path(os.environ["BENCH_DUMP"]).write_text(json.dumps({"cold": cold, "warm": warm, "streaming": streaming}))
    section, _, last = report(cold, warm, streaming, sizes, started, loads_before)
    print("\n".join(section), flush=True)
    write_docs(section)
    print(last, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
