"""Episodes per minute of `eval` on MiniWoB++ click tasks: threads with 1 and 2 workers, or Ray.

    .venv/bin/python benchmarks/eval_throughput.py [--pointer dom] [--episodes 5] [--executor local|ray]

Episodes of one task follow each other, so a worker starts each on the page the previous one left (as
MiniWoB++'s own environment does); --cold gives every episode a new context and page load instead.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from molmo_agent import miniwob
from molmo_agent.evaluate import evaluate
from molmo_agent.run import PointerSettings, RunSettings

CLICK_TASKS = ["click-button", "click-link", "click-dialog", "click-dialog-2", "click-tab", "click-test",
               "click-test-2", "click-option"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pointer", default="dom")
    parser.add_argument("--episodes", type=int, default=5, help="episodes per task")
    parser.add_argument("--workers", default="1,2", help="thread counts to try (local)")
    parser.add_argument("--executor", default="local", choices=["local", "ray"],
                        help="ray: a local cluster with one worker per core")
    parser.add_argument("--cold", action="store_true", help="a new context and page load for every episode")
    args = parser.parse_args()
    episodes = miniwob.episodes(CLICK_TASKS, count=args.episodes)
    for episode in episodes:
        episode.task.restart_in_place = not args.cold
    print(f"{len(episodes)} episodes of {len(CLICK_TASKS)} MiniWoB++ click tasks, pointer {args.pointer}, "
          f"{args.executor}{', cold' if args.cold else ''}")
    for workers in (int(w) for w in args.workers.split(",")) if args.executor == "local" else ["cores"]:
        with tempfile.TemporaryDirectory() as out:
            settings = RunSettings(pointer=PointerSettings(name=args.pointer), out=Path(out))
            start = time.perf_counter()
            if args.executor == "ray":
                from molmo_agent.evaluate_ray import evaluate_on_ray

                results = evaluate_on_ray(episodes, settings, Path(out))
            else:
                results = evaluate(episodes, settings, Path(out), workers=workers)
            minutes = (time.perf_counter() - start) / 60
        wins = sum(r.success for r in results)
        print(f"workers {workers}: {len(results) / minutes:6.1f} episodes/min "
              f"({minutes * 60:.1f} s, success {wins}/{len(results)})")


if __name__ == "__main__":
    main()
