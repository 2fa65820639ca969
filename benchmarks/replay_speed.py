"""Wall time of an exact replay of a 20-step trace against the same 20 actions scripted in Playwright.

Two baselines: the bare actions (no look at the page), and the actions with one screenshot per step
(the least a replay that checks the page before each step must do).

    .venv/bin/python benchmarks/replay_speed.py [--steps 20] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from bare import PAGE, PAGES, bare_loop, plan
from molmo_agent.replay import replay
from molmo_agent.run import PointerSettings, RunSettings, run_task
from molmo_agent.sites import serve_site
from molmo_agent.tasks import Task
from molmo_agent.trace import read_trace

def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with serve_site(PAGES) as base, tempfile.TemporaryDirectory() as out:
        url = base + PAGE
        settings = RunSettings(pointer=PointerSettings(name="dom"), out=Path(out), max_steps=args.steps + 1)
        recorded = run_task(Task(id="replay-bench", goal=plan(args.steps), url=url), settings)
        trace = read_trace(recorded.run_dir)
        points = [(s.action.x, s.action.y) for s in trace.steps if s.action.name == "click"]
        replays, bare, shots = [], [], []
        for _ in range(args.repeats):
            replayed, divergences = replay(recorded.run_dir, settings)
            assert replayed.status == "success" and not divergences
            # The replay's own clock: from the start URL to the end record, the browser start excluded.
            replays.append(replayed.end.seconds)
            bare.append(bare_loop(url, points, screenshots=False)[0])
            shots.append(bare_loop(url, points)[0])
    r, b, s = (statistics.median(v) for v in (replays, bare, shots))
    print(f"steps:                                  {len(points)}")
    print(f"exact replay (checks every step):       {r:.2f} s")
    print(f"Playwright script, actions only:        {b:.2f} s   ratio {r / b:.2f}x")
    print(f"Playwright script, screenshot per step: {s:.2f} s   ratio {r / s:.2f}x")


if __name__ == "__main__":
    main()
