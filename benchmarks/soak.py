"""A long `eval`: episodes per minute, the tool's resident memory and open file handles over time, and the
Chromium processes left when it ends. Memory and handles must not grow; no Chromium may be left.

    .venv/bin/python benchmarks/soak.py [--episodes 1000] [--workers 4] [--pointer dom]

MiniWoB++ click tasks (seeded episodes) in this process, as `molmo-agent eval miniwob` runs them. Prints a line
every tenth of the run; growth is measured from the first tenth (warm-up: Chromium, fonts, caches) to the end.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from pathlib import Path

from molmo_agent import miniwob
from molmo_agent.evaluate import evaluate
from molmo_agent.run import PointerSettings, RunSettings

CLICK_TASKS = ["click-button", "click-link", "click-dialog", "click-dialog-2", "click-tab", "click-test",
               "click-test-2", "click-option"]


def resident_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def open_handles() -> int:
    return len(os.listdir("/proc/self/fd"))


def chromium() -> tuple[int, float]:
    """How many Chromium processes run, and their resident memory together (MB)."""
    count, kb = 0, 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].lower()
            if b"chrom" not in command and b"headless_shell" not in command:
                continue
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        count += 1
        kb += next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
    return count, kb / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--episodes", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--pointer", default="dom")
    args = parser.parse_args()
    per_task = max(1, args.episodes // len(CLICK_TASKS))
    episodes = miniwob.episodes(CLICK_TASKS, count=per_task)
    before = chromium()[0]
    print(f"{len(episodes)} MiniWoB++ episodes, {args.workers} workers, pointer {args.pointer}; "
          f"{before} Chromium processes before")
    print(f"{'done':>6} {'ep/min':>7} {'RSS MB':>7} {'handles':>8} {'chromium':>9} {'its MB':>7}")
    samples, lock, started = [], threading.Lock(), time.perf_counter()
    done = [0]

    def on_result(_result) -> None:
        with lock:
            done[0] += 1
            if done[0] % max(1, len(episodes) // 10) == 0 or done[0] == len(episodes):
                minutes = (time.perf_counter() - started) / 60
                samples.append((done[0], resident_mb(), open_handles()))
                processes, megabytes = chromium()
                samples[-1] += (processes, megabytes)
                print(f"{done[0]:>6} {done[0] / minutes:>7.1f} {samples[-1][1]:>7.0f} {samples[-1][2]:>8} "
                      f"{processes:>9} {megabytes:>7.0f}", flush=True)

    with tempfile.TemporaryDirectory() as out:
        settings = RunSettings(pointer=PointerSettings(name=args.pointer), out=Path(out))
        results = evaluate(episodes, settings, Path(out), workers=args.workers, on_result=on_result)
    minutes = (time.perf_counter() - started) / 60
    time.sleep(2)  # let Chromium's last processes exit
    left = chromium()[0] - before
    # The first tenth is warm-up; the last sample is taken as workers wind down, so growth is the peak after it.
    first, later = samples[0], samples[1:-1] or samples[-1:]
    peak = [max(s[i] for s in later) for i in range(1, 5)]
    print(f"\n{len(results)} episodes in {minutes:.1f} min: {len(results) / minutes:.1f} episodes/min, "
          f"{sum(r.success for r in results)} succeeded, {sum(bool(r.retried) for r in results)} retried")
    print(f"after the first tenth -> highest later: tool memory {first[1]:.0f} -> {peak[0]:.0f} MB, open handles "
          f"{first[2]} -> {peak[1]}, Chromium {first[3]} -> {peak[2]} processes, {first[4]:.0f} -> {peak[3]:.0f} MB")
    print(f"Chromium processes left at the end: {left}")


if __name__ == "__main__":
    main()
