"""Wall time of an exact replay of a 20-step trace against the same 20 actions scripted in Playwright.

Two baselines: the bare actions (no look at the page), and the actions with one screenshot per step
(the least a replay that checks the page before each step must do).

    .venv/bin/python benchmarks/replay_speed.py [--steps 20] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from molmo_agent.browser import find_chromium
from molmo_agent.browser.launch import LAUNCH_FLAGS
from molmo_agent.replay import replay
from molmo_agent.run import PointerSettings, RunSettings, run_task
from molmo_agent.sites import serve_site
from molmo_agent.tasks import Task
from molmo_agent.trace import read_trace

PAGES = Path(__file__).resolve().parents[1] / "tests" / "pages"
TARGETS = ["Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot"]


def scripted(url: str, points: list[tuple[float, float]], screenshots: bool) -> float:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=find_chromium(None, None), args=LAUNCH_FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        start = time.perf_counter()
        page.goto(url)
        for x, y in points:
            if screenshots:
                page.screenshot()
            page.mouse.click(x, y)
        elapsed = time.perf_counter() - start
        browser.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with serve_site(PAGES) as base, tempfile.TemporaryDirectory() as out:
        url = base + "clicks.html"
        settings = RunSettings(pointer=PointerSettings(name="dom"), out=Path(out), max_steps=args.steps + 1)
        plan = ", ".join(f'click "{TARGETS[i % len(TARGETS)]}"' for i in range(args.steps))
        recorded = run_task(Task(id="replay-bench", goal=plan, url=url), settings)
        trace = read_trace(recorded.run_dir)
        points = [(s.action.x, s.action.y) for s in trace.steps if s.action.name == "click"]
        replays, bare, shots = [], [], []
        for _ in range(args.repeats):
            replayed, divergences = replay(recorded.run_dir, settings)
            assert replayed.status == "success" and not divergences
            # The replay's own clock: from the start URL to the end record, the browser start excluded.
            replays.append(replayed.end.seconds)
            bare.append(scripted(url, points, screenshots=False))
            shots.append(scripted(url, points, screenshots=True))
    r, b, s = (statistics.median(v) for v in (replays, bare, shots))
    print(f"steps:                                  {len(points)}")
    print(f"exact replay (checks every step):       {r:.2f} s")
    print(f"Playwright script, actions only:        {b:.2f} s   ratio {r / b:.2f}x")
    print(f"Playwright script, screenshot per step: {s:.2f} s   ratio {r / s:.2f}x")


if __name__ == "__main__":
    main()
