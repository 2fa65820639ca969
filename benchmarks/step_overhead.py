"""Median time per step: the agent loop (dom pointer, trace on disk) against a bare Playwright loop.

Both take one screenshot and make one click per step on the same page, at the same points.

    .venv/bin/python benchmarks/step_overhead.py [--steps 60]
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
from molmo_agent.run import PointerSettings, RunSettings, run_task
from molmo_agent.sites import serve_site
from molmo_agent.tasks import Task
from molmo_agent.trace import read_trace

PAGES = Path(__file__).resolve().parents[1] / "tests" / "pages"
TARGETS = ["Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot"]


def agent_loop(url: str, steps: int, out: Path) -> tuple[list[float], list[tuple[float, float]]]:
    plan = ", ".join(f'click "{TARGETS[i % len(TARGETS)]}"' for i in range(steps))
    settings = RunSettings(pointer=PointerSettings(name="dom"), out=out, max_steps=steps + 1)
    finished: list[float] = []  # when each step's record reached the disk
    result = run_task(Task(id="overhead", goal=plan, url=url), settings,
                      on_step=lambda _: finished.append(time.perf_counter()))
    assert result.status == "success", result.end.reason
    trace = read_trace(result.run_dir)
    per_step = [b - a for a, b in zip(finished, finished[1:])]
    points = [(s.action.x, s.action.y) for s in trace.steps[:steps]]
    return per_step, points


def bare_loop(url: str, points: list[tuple[float, float]]) -> list[float]:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=find_chromium(None, None), args=LAUNCH_FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        page.goto(url)
        times = []
        for x, y in points:
            start = time.perf_counter()
            page.screenshot()
            page.mouse.click(x, y)
            times.append(time.perf_counter() - start)
        browser.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=60)
    args = parser.parse_args()
    with serve_site(PAGES) as base, tempfile.TemporaryDirectory() as out:
        url = base + "clicks.html"
        agent, points = agent_loop(url, args.steps, Path(out))
        bare = bare_loop(url, points)
    a, b = statistics.median(agent), statistics.median(bare)
    print(f"steps per loop:            {args.steps}")
    print(f"agent loop (dom pointer):  {a * 1000:.1f} ms/step median")
    print(f"bare Playwright loop:      {b * 1000:.1f} ms/step median")
    print(f"ratio:                     {a / b:.2f}x")


if __name__ == "__main__":
    main()
