"""A real headless Chromium (Debian's) logs in through the form and sees JupyterLab load."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import pytest
from lab_browser import ARGS, CHROMIUM
from vre_testing import VRETestStack

pytestmark = pytest.mark.slow


def test_browser_login_spawn_jupyterlab(vre_stack: VRETestStack, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Debian's chromium is installed by `make install`"
    vre_stack.create_user("carla", "carla-pass-3")
    hosts: set[str] = set()
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        page.on("request", lambda req: hosts.add(urlparse(req.url).hostname or req.url))
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{vre_stack.url}/hub/login")
        page.fill("input[name=username]", "carla")
        page.fill("input[name=password]", "carla-pass-3")
        page.click("input[type=submit], button[type=submit]")
        page.wait_for_url("**/hub/spawn**", timeout=60_000)
        # the spawn page offers the profiles with the user's remaining quota
        assert page.locator(".odatis-quota").inner_text().startswith("Your quota")
        page.click("input[type=submit], button[type=submit]")
        page.wait_for_url("**/user/carla/lab**", timeout=180_000)
        page.wait_for_selector(".jp-Launcher, #jp-main-dock-panel", timeout=180_000)
        page.screenshot(path=str(tmp_path / "jupyterlab.png"))
        title = page.title()
        browser.close()
    assert "JupyterLab" in title
    assert hosts <= {"127.0.0.1"}, f"requests left the machine: {hosts}"
    assert not errors, errors
