"""Median time per step: the agent loop (dom pointer, trace on disk) against a bare Playwright loop.

Both take one screenshot and make one click per step on the same page, at the same points. The bare loop
runs twice a round: with `page.screenshot()`, as a Playwright user writes it, and with the CDP call the
agent makes (Chromium's fast PNG setting), the floor of the agent's own way. The loops run in interleaved
rounds, each first in turn, so that whatever else the machine does falls on all; the figures are the
medians of the per-round ratios, printed with their spread.

    .venv/bin/python benchmarks/step_overhead.py [--steps 60] [--rounds 6]
    .venv/bin/python benchmarks/step_overhead.py --profile     # where a step's time goes, phase by phase
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from playwright.sync_api import Mouse
from playwright.sync_api import Page as PlaywrightPage

from bare import CAPTURES, PAGE, PAGES, bare_loop, plan
from molmo_agent.browser import Browser, scripts, session
from molmo_agent.pointers.dom import DomPointer
from molmo_agent.run import PointerSettings, RunSettings, run_task
from molmo_agent.trace import TraceWriter
from molmo_agent.sites import serve_site
from molmo_agent.tasks import Task
from molmo_agent.trace import read_trace


def agent_loop(url: str, steps: int, out: Path) -> tuple[list[float], list[tuple[float, float]]]:
    """Each step's record on disk (perf_counter), and the points it clicked."""
    settings = RunSettings(pointer=PointerSettings(name="dom"), out=out, max_steps=steps + 1)
    finished: list[float] = []  # when each step's record reached the disk
    result = run_task(Task(id="overhead", goal=plan(steps), url=url), settings,
                      on_step=lambda _: finished.append(time.perf_counter()))
    assert result.status == "success", result.end.reason
    trace = read_trace(result.run_dir)
    return finished, [(s.action.x, s.action.y) for s in trace.steps[:steps]]


def between(stamps: list[float]) -> list[float]:
    return [b - a for a, b in zip(stamps, stamps[1:])]


SCRIPTS = {scripts.OBSERVE: "readying and page facts (a look with no action before it)",
           scripts.SETTLE: "settle after the action (its tasks, tabs, unload; readying)",
           scripts.FACTS: "page facts (title, DOM signature, elements)",
           scripts.ELEMENT_AT: "element-at-point script (what was acted on)"}


@contextlib.contextmanager
def timing_phases():
    """Time what the loop spends in each part, by wrapping the calls it makes: {phase: [(start, seconds)]}."""
    spent: dict[str, list[tuple[float, float]]] = defaultdict(list)
    wrapped = [(session, "_begin", lambda *a, **k: "screenshot asked for (it is taken while the loop goes on)"),
               (Browser, "_quick", lambda self, script, *a, **k: SCRIPTS.get(script, "other page scripts")),
               (PlaywrightPage, "evaluate", lambda self, script, *a, **k: SCRIPTS.get(script, "other page scripts")),
               (Mouse, "click", lambda *a, **k: "click (Chromium)"),
               (TraceWriter, "write", lambda *a, **k: "trace record written (its fsync runs beside the loop)"),
               (TraceWriter, "screenshot", lambda *a, **k: "screenshot file written"),
               (DomPointer, "locate", lambda *a, **k: "pointer (dom)")]
    originals = [(owner, name, getattr(owner, name)) for owner, name, _ in wrapped]

    def timed(original, phase):
        def call(*args, **kwargs):
            start = time.perf_counter()
            try:
                answer = original(*args, **kwargs)
            finally:
                spent[phase(*args, **kwargs)].append((start, time.perf_counter() - start))
            return timed(answer, lambda: "screenshot: what is left to wait for") if original is begin else answer
        return call

    begin = session._begin

    for (owner, name, phase), (_, _, original) in zip(wrapped, originals):
        setattr(owner, name, timed(original, phase))
    try:
        yield spent
    finally:
        for owner, name, original in originals:
            setattr(owner, name, original)


def profile(url: str, steps: int, out: Path, points: list[tuple[float, float]]) -> None:
    agent_loop(url, steps, out / "warm-up")
    with timing_phases() as spent:
        finished, _ = agent_loop(url, steps, out / "profiled")
    # From the first step's record to the last: the steps in between, whole.
    count, window = len(finished) - 1, (finished[0], finished[-1])
    total = (window[1] - window[0]) * 1000 / count
    bare = statistics.mean(bare_loop(url, points)[1]) * 1000
    print(f"where an agent step's {total:.1f} ms go (dom pointer, mean over {count} steps; ms a step):")
    accounted = 0.0
    for phase, calls in sorted(spent.items(), key=lambda kv: -sum(d for _, d in kv[1])):
        inside = [d for start, d in calls if window[0] <= start < window[1]]
        share = sum(inside) * 1000 / count
        accounted += share
        print(f"  {phase:<55} {share:6.1f}   ({len(inside) / count:.1f} calls a step)")
    print(f"  {'the rest (Python: records, checks, waits in between)':<55} {total - accounted:6.1f}")
    print(f"bare Playwright (one screenshot, one click), mean: {bare:.1f} ms a step")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--profile", action="store_true", help="print where a step's time goes instead")
    args = parser.parse_args()
    if args.profile:
        with serve_site(PAGES) as base, tempfile.TemporaryDirectory() as out:
            _, points = agent_loop(base + PAGE, args.steps, Path(out) / "points")
            profile(base + PAGE, args.steps, Path(out), points)
        return
    loops = ["agent", *CAPTURES]  # the agent, and the bare loop with each way of taking a screenshot
    timed: dict[str, list[float]] = {name: [] for name in loops}
    with serve_site(PAGES) as base, tempfile.TemporaryDirectory() as out:
        url = base + PAGE
        _, points = agent_loop(url, args.steps, Path(out) / "points")  # the points both loops click
        for number in range(args.rounds):
            for name in loops[number % len(loops):] + loops[:number % len(loops)]:  # each goes first in turn
                if name == "agent":
                    steps = between(agent_loop(url, args.steps, Path(out) / str(number))[0])
                else:
                    steps = bare_loop(url, points, capture=name)[1]
                timed[name].append(statistics.median(steps))
    ms = [f"{statistics.median(v) * 1000:.1f} ms/step [{min(v) * 1000:.1f} - {max(v) * 1000:.1f}]" for v in timed.values()]
    print(f"{args.steps} steps a loop, {args.rounds} interleaved rounds, median [min - max]:")
    print(f"  agent loop (dom pointer, trace on disk):  {ms[0]}")
    for (capture, how), figure in zip(CAPTURES.items(), ms[1:]):
        print(f"  bare loop, {how}:".ljust(44) + f" {figure}")
    for capture, how in CAPTURES.items():
        ratios = [a / b for a, b in zip(timed["agent"], timed[capture])]
        print(f"  ratio to the bare loop with {how}: {statistics.median(ratios):.2f}x "
              f"[{min(ratios):.2f} - {max(ratios):.2f}]")


if __name__ == "__main__":
    main()
