"""Runs of the demo task killed with SIGKILL at random moments (the agent, its driver and the browser at
once): every trace must read back whole up to its last recorded step.

    .venv/bin/python benchmarks/kill_soak.py [--runs 100] [--seed 0]

"Whole" means `read_trace` loads it, its steps are numbered 1..n without a gap, and every step's
screenshot is on disk. Prints how many were read whole, and how far the killed runs had got.
"""

from __future__ import annotations

import argparse
import collections
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from molmo_agent.sites import DEMO_SITE
from molmo_agent.trace import read_trace

CLI = [sys.executable, "-m", "molmo_agent.cli"]


def one_run(out: Path, kill_after: float) -> subprocess.Popen:
    process = subprocess.Popen([*CLI, "run", "--task", str(DEMO_SITE.parent / "task.yaml"), "--pointer", "dom",
                                "--out", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    time.sleep(kill_after)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(10)
    return process


def whole(run_dir: Path) -> tuple[bool, int, str]:
    try:
        trace = read_trace(run_dir)
    except Exception as exc:  # noqa: BLE001 - that is the finding
        return False, 0, f"{type(exc).__name__}: {exc}"
    numbered = [s.index for s in trace.steps] == list(range(1, len(trace.steps) + 1))
    shots = all(trace.screenshot_path(s.observation.screenshot).is_file() for s in trace.steps)
    return numbered and shots, len(trace.steps), trace.status


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        done = subprocess.run([*CLI, "run", "--task", str(DEMO_SITE.parent / "task.yaml"), "--pointer", "dom",
                               "--out", str(Path(tmp) / "full")], capture_output=True, text=True)
        full = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(f"the demo does not run here:\n{done.stdout}{done.stderr}")
        read, no_trace, steps, statuses, failures = 0, 0, [], collections.Counter(), []
        for number in range(args.runs):
            out = Path(tmp) / f"run-{number}"
            one_run(out, rng.uniform(0.2, full))
            run_dirs = [p.parent for p in out.glob("*/trace.jsonl")]
            if not run_dirs:
                no_trace += 1  # killed before the header was written: nothing recorded, nothing to lose
                continue
            ok, count, status = whole(run_dirs[0])
            read += ok
            steps.append(count)
            statuses[status] += 1
            if not ok:
                failures.append(f"run {number}: {status}")
    recorded = args.runs - no_trace
    print(f"{args.runs} runs of the demo killed with SIGKILL at random moments within one full run ({full:.1f}s)")
    print(f"  read whole: {read} of the {recorded} that had begun a trace ({no_trace} killed before the header)")
    if steps:
        print(f"  steps recorded when killed: min {min(steps)}, median {sorted(steps)[len(steps) // 2]}, max {max(steps)}")
    print(f"  statuses read: {dict(statuses)}")
    for failure in failures[:10]:
        print(f"  NOT WHOLE {failure}")


if __name__ == "__main__":
    main()
