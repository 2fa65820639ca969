"""The same pytest file run cold (the ocr pointer finds every target) and then from the point cache (read-only,
no pointer call), each a real pytest session on pytest-playwright's `page`: wall time of each, the ratio,
and the time spent in agent steps alone.

    .venv/bin/python benchmarks/cached_tests.py [--tests 4] [--rounds 3]

The test file signs in on a local form and books the demo flight's first page (several steps a test).
Each round empties the cache and runs cold, then warm; figures are medians over the rounds with their spread.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from molmo_agent.sites import DEMO_SITE, serve_site

TEST = '''
import pytest

@pytest.mark.parametrize("n", range({tests}))
def test_search(agent, page, n):
    page.goto("{url}")
    agent.run('click "Accept all", click "Round trip", type "SFO" into "From", type "JFK" into "To", '
              'select "Business" in "Cabin"')
    assert page.input_value("#from") == "SFO" and page.input_value("#cabin") == "Business"
'''
SUMMARY = re.compile(r"(\d+) steps in \d+ runs, ([\d.]+)s; point cache \((\w+)\): (\d+) hits, (\d+) misses, (\d+) healed; "
                     r"(\d+) pointer calls")


def session(folder: Path, cache: Path, mode: str) -> tuple[float, dict]:
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
    return seconds, {"agent_s": float(agent_s), "hits": int(hits), "misses": int(misses), "calls": int(calls)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tests", type=int, default=4, help="tests in the file (the same steps each)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    cold, warm, cold_agent, warm_agent = [], [], [], []
    with serve_site(DEMO_SITE) as base, tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "suite"
        folder.mkdir()
        (folder / "test_search.py").write_text(TEST.format(tests=args.tests, url=base))
        for number in range(args.rounds):
            cache = Path(tmp) / f"cache-{number}"
            seconds, stats = session(folder, cache, "rw")
            cold.append(seconds)
            cold_agent.append(stats["agent_s"])
            seconds, warm_stats = session(folder, cache, "ro")
            warm.append(seconds)
            warm_agent.append(warm_stats["agent_s"])
            assert warm_stats["calls"] == 0 and warm_stats["misses"] == 0, warm_stats
            print(f"round {number + 1}: cold {cold[-1]:.1f}s ({stats['calls']} pointer calls), "
                  f"cached {warm[-1]:.1f}s ({warm_stats['hits']} hits, 0 pointer calls)")

    def show(values: list[float]) -> str:
        return f"{statistics.median(values):.2f}s [{min(values):.2f} - {max(values):.2f}]"

    print(f"{args.tests} tests x 5 steps, {args.rounds} rounds, median [min - max]:")
    print(f"  whole pytest session: cold {show(cold)}, cached {show(warm)}, "
          f"{statistics.median(cold) / statistics.median(warm):.1f}x")
    print(f"  agent steps alone:    cold {show(cold_agent)}, cached {show(warm_agent)}, "
          f"{statistics.median(cold_agent) / statistics.median(warm_agent):.1f}x")


if __name__ == "__main__":
    main()
