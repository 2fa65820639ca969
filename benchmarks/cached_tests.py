"""The same pytest file run cold (cache off: the ocr pointer finds every target of every test) and from the
point cache (read-only, no pointer call), each a real pytest session on pytest-playwright's `page`: wall time
of each, the ratio, the time in agent steps alone, and in grounding alone (pointer or cache check). The floor
beside them: the same tests written with Playwright's own calls (selectors, no agent), whose session is
what pytest, Chromium's start and each test's page cost with no agent step at all.

    .venv/bin/python benchmarks/cached_tests.py [--tests 4] [--rounds 3]

The test file signs in on a local form and books the demo flight's first page (several steps a test).
Each round empties the cache and runs cold, then warm; figures are medians over the rounds with their spread.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from molmo_agent.sites import DEMO_SITE, serve_site
from molmo_agent.trace import read_trace

TEST = '''
import pytest

@pytest.mark.parametrize("n", range({tests}))
def test_search(agent, page, n):
    page.goto("{url}")
    agent.run('click "Accept all", click "Round trip", type "SFO" into "From", type "JFK" into "To", '
              'select "Business" in "Cabin"')
    assert page.input_value("#from") == "SFO" and page.input_value("#cabin") == "Business"
'''
BY_HAND = '''
import pytest

@pytest.mark.parametrize("n", range({tests}))
def test_search(page, n):
    page.goto("{url}")
    page.get_by_role("button", name="Accept all").click()
    page.get_by_label("Round trip").check()
    page.locator("#from").fill("SFO")
    page.locator("#to").fill("JFK")
    page.locator("#cabin").select_option("Business")
    assert page.input_value("#from") == "SFO" and page.input_value("#cabin") == "Business"
'''
SUMMARY = re.compile(r"(\d+) steps in \d+ runs, ([\d.]+)s; point cache \((\w+)\): (\d+) hits, (\d+) misses, (\d+) healed; "
                     r"(\d+) pointer calls")


def session(folder: Path, cache: Path, mode: str) -> tuple[float, dict]:
    shutil.rmtree(folder / "results", ignore_errors=True)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(folder),
                           "--agent-pointer", "ocr", "--agent-cache", str(cache), "--agent-cache-mode", mode,
                           "--output", str(folder / "results")],
                          capture_output=True, text=True, env={**os.environ, "CI": ""})
    seconds = time.perf_counter() - started
    found = SUMMARY.search(done.stdout)
    if done.returncode != 0 or not found:
        raise SystemExit(f"the {mode} session failed:\n{done.stdout[-3000:]}")
    steps, agent_s, _, hits, misses, healed, calls = found.groups()
    traces = [read_trace(t.parent) for t in (folder / "results").rglob("trace.jsonl")]
    ground = sum(s.timings.get("ground", 0.0) for t in traces for s in t.steps)
    acting = [s for t in traces for s in t.steps if "act" in s.timings and s.action.name != "done"]
    per_kind = {kind: statistics.mean(sum(s.timings.values()) for s in acting if s.action.name == kind)
                for kind in sorted({s.action.name for s in acting})}
    return seconds, {"agent_s": float(agent_s), "ground_s": ground, "hits": int(hits), "misses": int(misses),
                     "calls": int(calls), "step_s": statistics.mean(sum(s.timings.values()) for s in acting),
                     "per_kind": per_kind}


def by_hand(folder: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(folder)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"the Playwright-only session failed:\n{done.stdout[-3000:]}")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tests", type=int, default=4, help="tests in the file (the same steps each)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    figures: dict[str, list[float]] = {k: [] for k in ("cold", "warm", "cold_agent", "warm_agent", "cold_ground",
                                                         "warm_ground", "cold_step", "warm_step")}
    kinds: dict[str, list[float]] = {}  # a cached step's ms by its action
    with serve_site(DEMO_SITE) as base, tempfile.TemporaryDirectory() as tmp:
        folder, hand = Path(tmp) / "suite", Path(tmp) / "by-hand"
        folder.mkdir()
        hand.mkdir()
        (folder / "test_search.py").write_text(TEST.format(tests=args.tests, url=base))
        (hand / "test_search.py").write_text(BY_HAND.format(tests=args.tests, url=base))
        floor = []
        for number in range(args.rounds):
            floor.append(by_hand(hand))
            cache = Path(tmp) / f"cache-{number}"
            session(folder, cache, "refresh")  # fills the cache
            for name, mode in (("cold", "off"), ("warm", "ro")) if number % 2 == 0 else (("warm", "ro"), ("cold", "off")):
                seconds, stats = session(folder, cache, mode)
                if mode == "ro":
                    assert stats["calls"] == 0 and stats["misses"] == 0, stats
                figures[name].append(seconds)
                figures[f"{name}_agent"].append(stats["agent_s"])
                figures[f"{name}_ground"].append(stats["ground_s"])
                figures[f"{name}_step"].append(stats["step_s"])
                if mode == "ro":
                    for kind, seconds_a_step in stats["per_kind"].items():
                        kinds.setdefault(kind, []).append(seconds_a_step)
                print(f"round {number + 1}, {'cache off' if mode == 'off' else 'from the cache'}: {seconds:.1f}s, "
                      f"{stats['calls']} pointer calls, {stats['hits']} cache hits")

    def show(name: str) -> str:
        cold, warm = figures[name.replace("@", "cold")], figures[name.replace("@", "warm")]
        median = statistics.median
        return (f"cold {median(cold):.2f}s [{min(cold):.2f} - {max(cold):.2f}], "
                f"cached {median(warm):.2f}s [{min(warm):.2f} - {max(warm):.2f}], {median(cold) / median(warm):.1f}x")

    print(f"{args.tests} tests x 5 steps, {args.rounds} rounds (order alternating), median [min - max]:")
    print(f"  whole pytest session: {show('@')}")
    print(f"  the same tests in Playwright's own calls, no agent: {statistics.median(floor):.2f}s "
          f"[{min(floor):.2f} - {max(floor):.2f}]; cold / this: {statistics.median(figures['cold']) / statistics.median(floor):.1f}x, "
          f"the most a cache can give")
    print(f"  agent steps alone:    {show('@_agent')}")
    print(f"  grounding alone:      {show('@_ground')}")
    print(f"  an acting step (decide, ground, wait for its screenshot, act, look): {show('@_step')}")
    print("  a cached step by action, median ms: " + ", ".join(f"{kind} {statistics.median(v) * 1000:.0f}"
                                                           for kind, v in kinds.items()))


if __name__ == "__main__":
    main()
