"""Median time per step: the agent loop (dom pointer, trace on disk) against a bare Playwright loop.

Both take one screenshot and make one click per step on the same page, at the same points. The two run in
interleaved rounds (agent, bare, bare, agent, ...) so that whatever else the machine does falls on both;
the figure is the median of the per-round ratios, printed with their spread.

    .venv/bin/python benchmarks/step_overhead.py [--steps 60] [--rounds 6]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from bare import PAGE, PAGES, bare_loop, plan
from molmo_agent.run import PointerSettings, RunSettings, run_task
from molmo_agent.sites import serve_site
from molmo_agent.tasks import Task
from molmo_agent.trace import read_trace


def agent_loop(url: str, steps: int, out: Path) -> tuple[list[float], list[tuple[float, float]]]:
    settings = RunSettings(pointer=PointerSettings(name="dom"), out=out, max_steps=steps + 1)
    finished: list[float] = []  # when each step's record reached the disk
    result = run_task(Task(id="overhead", goal=plan(steps), url=url), settings,
                      on_step=lambda _: finished.append(time.perf_counter()))
    assert result.status == "success", result.end.reason
    trace = read_trace(result.run_dir)
    per_step = [b - a for a, b in zip(finished, finished[1:])]
    points = [(s.action.x, s.action.y) for s in trace.steps[:steps]]
    return per_step, points


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    agents, bares, ratios = [], [], []
    with serve_site(PAGES) as base, tempfile.TemporaryDirectory() as out:
        url = base + PAGE
        _, points = agent_loop(url, args.steps, Path(out) / "points")  # the points both loops click
        for number in range(args.rounds):
            first_agent = number % 2 == 0
            timed = {}
            for which in (("agent", "bare") if first_agent else ("bare", "agent")):
                if which == "agent":
                    timed[which] = statistics.median(agent_loop(url, args.steps, Path(out) / str(number))[0])
                else:
                    timed[which] = statistics.median(bare_loop(url, points)[1])
            agents.append(timed["agent"])
            bares.append(timed["bare"])
            ratios.append(timed["agent"] / timed["bare"])
    print(f"{args.steps} steps a loop, {args.rounds} interleaved rounds, median [min - max]:")
    print(f"  agent loop (dom pointer): {statistics.median(agents) * 1000:.1f} ms/step "
          f"[{min(agents) * 1000:.1f} - {max(agents) * 1000:.1f}]")
    print(f"  bare Playwright loop:     {statistics.median(bares) * 1000:.1f} ms/step "
          f"[{min(bares) * 1000:.1f} - {max(bares) * 1000:.1f}]")
    print(f"  ratio (median of the rounds' ratios): {statistics.median(ratios):.2f}x "
          f"[{min(ratios):.2f} - {max(ratios):.2f}]")


if __name__ == "__main__":
    main()
