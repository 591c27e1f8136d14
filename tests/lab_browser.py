"""Drive JupyterLab through the real hub in Debian's headless Chromium (Playwright): helpers for the tests.

A user logs in through the hub's form, lands in their JupyterLab (or, through a share, in someone
else's), opens a notebook that the test wrote into the home, runs it from JupyterLab's own menu and
waits for what the outputs should show. Every request must stay on 127.0.0.1.

Example
-------
>>> with chromium() as browser:                                                   # doctest: +SKIP
...     page = lab_login(browser, stack.url, "ann", "pw", "/user/ann/lab/tree/a.ipynb")
...     run_all(page)
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlparse

import nbformat

#: Debian's Chromium, never a browser Playwright would download, and the flags every test and benchmark
#: starts it with: no sandbox (root in CI), software rendering, and nothing that would reach beyond loopback
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = Path("/tmp")
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


@contextlib.contextmanager
def chromium(watch: Watch | None = None, name: str = "lab") -> Iterator[Any]:
    """Debian's Chromium under Playwright (never a browser Playwright would download).

    When the block fails, each page ``watch`` follows is saved as ``/tmp/odatis-lab-<name>-failed-<i>.png``.
    """
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Debian's chromium is installed by `make install`"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        except BaseException:
            for i, page in enumerate(watch.pages if watch else []):
                with contextlib.suppress(Exception):
                    page.screenshot(path=str(SHOTS / f"odatis-lab-{name}-failed-{i}.png"))
            raise
        finally:
            browser.close()


class Watch:
    """What a page asked for and what went wrong in it (every request must stay on this machine)."""

    def __init__(self) -> None:
        self.hosts: set[str] = set()
        self.errors: list[str] = []
        self.pages: list[Any] = []
        self.outside: list[str] = []

    def attach(self, page: Any) -> Any:
        self.pages.append(page)
        page.on("request", self._request)
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        return page

    def _request(self, req: Any) -> None:
        url = urlparse(req.url)
        if url.scheme not in ("data", "blob", "about"):  # made in the page itself: no network
            self.hosts.add(url.hostname or req.url)
            if url.hostname != "127.0.0.1":
                self.outside.append(f"{req.url} (from {req.frame.url})")

    def check(self) -> None:
        assert self.hosts <= {"127.0.0.1"}, f"requests left the machine: {self.hosts}: {self.outside[:10]}"


def write_notebook(home: Path, name: str, cells: list[str], uid: int, gid: int) -> Path:
    """A notebook of code ``cells`` in a user's home, owned by their account (as their server will write it)."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = KERNELSPEC
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    path = Path(home) / name
    nbformat.write(nb, path)
    os.chown(path, uid, gid)
    return path


def copy_notebook(src: Path, home: Path, uid: int, gid: int) -> Path:
    """Copy a tutorial notebook into a user's home, outputs cleared (the browser must make them)."""
    nb = nbformat.read(src, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nb.metadata["kernelspec"] = KERNELSPEC
    path = Path(home) / src.name
    nbformat.write(nb, path)
    os.chown(path, uid, gid)
    return path


def lab_login(context: Any, hub_url: str, user: str, password: str, next_path: str, watch: Watch) -> Any:
    """Log in through the hub's form and land on ``next_path`` (approving a share's consent page if shown)."""
    page = watch.attach(context.new_page())
    page.goto(f"{hub_url}/hub/login?next={quote(next_path)}")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", password)
    page.click("input[type=submit], button[type=submit]")
    page.wait_for_load_state()
    if "/oauth2/authorize" in page.url:  # someone else's server, opened through a share: the hub asks first
        page.click("input[type=submit], button[type=submit]")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=180_000)
    wait_kernel_idle(page)
    return page


def wait_kernel_idle(page: Any, timeout: float = 180_000) -> None:
    """Until the notebook's kernel is connected and idle (JupyterLab's kernel status in the toolbar)."""
    page.wait_for_function(
        """() => { const el = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator');
                   return el && el.getAttribute('data-status') === 'idle'; }""",
        timeout=timeout,
    )


def menu(page: Any, top: str, item: str) -> None:
    """Click ``top`` in JupyterLab's menu bar, then ``item`` in its menu."""
    page.locator(".lm-MenuBar-itemLabel", has_text=top).first.click()
    page.locator(".lm-Menu-itemLabel", has_text=item).first.click()


def run_all(page: Any, timeout: float = 300_000, attempts: int = 3) -> None:
    """Run every cell from the Run menu; wait until each code cell has run, or one failed and nothing runs.

    (JupyterLab stops a Run All at the first error: the cells after it are never numbered.) A Run All that
    JupyterLab takes while the notebook's kernel connection is still being made clears the prompts and sends
    nothing to the kernel: the menu is used again until a cell is queued (``[*]``) or numbered.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for _ in range(attempts):
        menu(page, "Run", "Run All Cells")
        try:
            page.wait_for_function(
                r"""() => Array.from(document.querySelectorAll('.jp-CodeCell .jp-InputPrompt'))
                         .some(e => /\[(\*|\d+)\]/.test(e.textContent))""",
                timeout=60_000,
            )
            break
        except PlaywrightTimeout:
            wait_kernel_idle(page)
    else:
        raise AssertionError(
            f"Run All Cells queued no cell in {attempts} attempts: is the notebook's kernel connected?"
        )
    page.wait_for_function(
        r"""() => { const p = Array.from(document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')).map(e => e.textContent);
                   if (p.length > 0 && p.every(t => /\[\d+\]/.test(t))) return true;
                   const failed = Array.from(document.querySelectorAll('.jp-OutputArea-output'))
                     .some(o => o.textContent.includes('Traceback'));
                   return failed && !p.some(t => t.includes('*')); }""",
        timeout=timeout,
    )
    wait_kernel_idle(page, timeout)


def error_outputs(page: Any) -> list[str]:
    """Tracebacks shown in the notebook's outputs (warnings on stderr are not errors)."""
    return [t for t in page.locator(".jp-OutputArea-output").all_inner_texts() if "Traceback" in t]


def painted(page: Any) -> None:
    """Wait until the browser has painted what the document holds (two animation frames), for screenshots."""
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
