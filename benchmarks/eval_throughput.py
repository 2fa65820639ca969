"""Episodes per minute of `eval` on MiniWoB++ click tasks, with 1 and 2 workers.

    .venv/bin/python benchmarks/eval_throughput.py [--pointer dom] [--episodes 5]
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
    parser.add_argument("--workers", default="1,2")
    args = parser.parse_args()
    episodes = miniwob.episodes(CLICK_TASKS, count=args.episodes)
    print(f"{len(episodes)} episodes of {len(CLICK_TASKS)} MiniWoB++ click tasks, pointer {args.pointer}")
    for workers in (int(w) for w in args.workers.split(",")):
        with tempfile.TemporaryDirectory() as out:
            settings = RunSettings(pointer=PointerSettings(name=args.pointer), out=Path(out))
            start = time.perf_counter()
            results = evaluate(episodes, settings, Path(out), workers=workers)
            minutes = (time.perf_counter() - start) / 60
        wins = sum(r.success for r in results)
        print(f"workers {workers}: {len(results) / minutes:6.1f} episodes/min "
              f"({minutes * 60:.1f} s, success {wins}/{len(results)})")


if __name__ == "__main__":
    main()
