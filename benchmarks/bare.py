"""The floor the agent loop is held against: bare Playwright clicking the same points on the same page.

Shared by the benchmarks that compare with it (`step_overhead.py`, `replay_speed.py`).
"""

from __future__ import annotations

import time
from pathlib import Path

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright

from molmo_agent.browser import find_chromium
from molmo_agent.browser.launch import LAUNCH_FLAGS

PAGES = Path(__file__).resolve().parents[1] / "tests" / "pages"
PAGE = "clicks.html"
TARGETS = ["Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot"]


def plan(steps: int) -> str:
    """`steps` clicks on the page's buttons, in the step language."""
    return ", ".join(f'click "{TARGETS[i % len(TARGETS)]}"' for i in range(steps))


CAPTURES = {
    "playwright": "page.screenshot()",
    "cdp": "CDP Page.captureScreenshot, fast PNG (the agent's own call)",
}


def bare_loop(url: str, points: list[tuple[float, float]], *, screenshots: bool = True,
              capture: str = "playwright") -> tuple[float, list[float]]:
    """Open `url` and click each point, with a screenshot before each click if asked (`capture`: one of
    CAPTURES). Returns the seconds from the start of the page load to the last click, and each step's own."""
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=find_chromium(None, None), args=LAUNCH_FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        session = page.context.new_cdp_session(page)
        def cdp():
            try:
                session.send("Page.captureScreenshot", {"format": "png", "optimizeForSpeed": True})
            except PlaywrightError:  # "Unable to capture screenshot", seldom, on a busy machine: as the agent does
                page.screenshot()

        shoot = {"playwright": page.screenshot, "cdp": cdp}[capture]
        start = time.perf_counter()
        page.goto(url)
        steps = []
        for x, y in points:
            step = time.perf_counter()
            if screenshots:
                shoot()
            page.mouse.click(x, y)
            steps.append(time.perf_counter() - step)
        total = time.perf_counter() - start
        browser.close()
    return total, steps
