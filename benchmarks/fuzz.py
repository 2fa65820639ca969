"""Every parser of model output and user files fuzzed with a long budget (the suite's tests/test_fuzz.py runs the
same targets briefly): prints, per parser, how many inputs it read, refused with its own error, or crashed on.

    .venv/bin/python benchmarks/fuzz.py [--examples 10000] [--only "trace reader"]

Exits 1 on the first crash, with hypothesis's shrunk example.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.test_fuzz import TARGETS, fuzz  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--examples", type=int, default=10_000)
    parser.add_argument("--only", action="append", choices=list(TARGETS))
    args = parser.parse_args()
    print(f"{'parser':<18} {'examples':>9} {'read':>7} {'refused':>8} {'crashes':>8} {'seconds':>8}  outcomes")
    for name in args.only or TARGETS:
        seen, started = Counter(), time.perf_counter()
        try:
            fuzz(name, args.examples, seen)
        except BaseException:
            print(f"{name:<18} crashed after {sum(seen.values())} examples:")
            raise
        print(f"{name:<18} {sum(seen.values()):>9} {seen['read']:>7} {seen['refused']:>8} {0:>8} "
              f"{time.perf_counter() - started:>8.1f}  {dict(seen)}")


if __name__ == "__main__":
    main()
