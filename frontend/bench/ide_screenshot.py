#!/usr/bin/env python3
"""The README's picture of the web IDE: a finished demo run in headless
Chromium at 1440×900 — the chat, the agent tree with costs, the file tree,
a file open in Monaco and the sample's tests run in the terminal.

    scripts/test-frontend.sh screenshot [FILE.png]   # default docs/images/ide.png

It starts a real `hma dev` with the demo model the way the browser test does
(frontend/tests/e2e/ide_test.py), in a temporary data folder.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.dont_write_bytecode = True  # no __pycache__ next to the browser test
sys.path.insert(0, str(ROOT / "frontend" / "tests" / "e2e"))
from ide_test import CHROMIUM, DIST, HMA, REQUEST, Gateway  # noqa: E402

OPEN = "tempconv/convert.py"


def main() -> int:
    target = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "docs" / "images" / "ide.png")
    if not HMA.exists() or not (DIST / "index.html").exists():
        print(f"error: needs {HMA} (swift build --product hma) and frontend/dist (make frontend)", file=sys.stderr)
        return 2
    os.environ.setdefault("HMA_DEMO_PAUSE_MS", "1")
    gateway = Gateway()
    try:
        with sync_playwright() as playwright:
            args = ["--no-sandbox"] if os.geteuid() == 0 else []
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
            page = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
            page.set_default_timeout(60_000)
            page.goto(gateway.url)
            expect(page.locator(".connection-state.connection-online")).to_be_visible()
            box = page.get_by_label("Message")
            box.fill(REQUEST)
            box.press("Enter")
            status = page.locator(".run-status")
            approve = page.get_by_role("button", name="Approve")
            for _ in range(600):
                text = status.inner_text() if status.count() > 0 else ""
                if "Done" in text:
                    break
                if "failed" in text or "Stopped" in text:
                    raise SystemExit(f"the demo run ended: {text}")
                if approve.count() > 0 and approve.is_enabled():
                    approve.click()
                page.wait_for_timeout(250)
            else:
                raise SystemExit("the demo run did not finish")
            # The file the run wrote, alone in the editor.
            files = page.get_by_role("tree", name="Project files")
            files.locator(f"[data-path='{OPEN}']").click()
            others = page.locator(".editor .tab").filter(has_not_text=OPEN.split("/")[-1])
            while others.count() > 0:
                others.first.locator(".tab-close").click()
            expect(page.locator(".monaco-editor .view-lines")).to_contain_text("ABSOLUTE_ZERO")
            # The sample's tests, run in the terminal.
            page.get_by_role("tab", name="Terminal", exact=True).click()
            page.wait_for_timeout(500)
            page.locator(".xterm-host:visible").click()
            page.keyboard.type("python3 -m unittest -v 2>&1 | tail -4\n")
            expect(page.locator(".xterm-rows")).to_contain_text(re.compile(r"Ran \d+ tests"))
            page.locator(".monaco-editor .view-lines").click()  # the editor has the focus (no terminal cursor)
            page.keyboard.press("Control+Home")
            page.mouse.move(0, 0)
            page.wait_for_timeout(500)
            target.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(target))
            browser.close()
    finally:
        gateway.stop()
    print(f"{target}: {target.stat().st_size // 1024} KiB", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
