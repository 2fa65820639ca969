"""How often each pointer grounds a step on the right element, and how long a grounding takes.

    .venv/bin/python benchmarks/pointer_accuracy.py [--scales 1,2] [--episodes 3] [--pointers ocr,dom]
                                                     [--families demo,forms,frameworks,miniwob]

Page families: the bundled demo (tasks/demo), the twelve ordinary forms (tasks/forms), the forms styled by CSS
frameworks (tasks/frameworks; `npm ci` in tasks/frameworks/site installs their stylesheets) and MiniWoB++'s
covered tasks (--episodes seeds each), at each device scale. Every episode runs once per pointer, one worker
(so grounding times are not shared with another episode). A step is grounded on the right element when its
point falls inside the box of the element the `dom` pointer chose for the same step of the same page, in a
`dom` episode that passed all its checks (the checks read every field's final value, so such an episode's
elements were the right ones); steps of pages without such an episode are counted as unjudged. Also printed:
episodes that passed their checks (and those that failed), and the median and 90th percentile of the seconds a
grounding takes (point-cache hits excluded; the first of an episode reads the whole page, the rest what changed).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from molmo_agent import miniwob
from molmo_agent.browser import BrowserConfig
from molmo_agent.evaluate import evaluate, load_suite
from molmo_agent.run import PointerSettings, RunSettings
from molmo_agent.trace import read_trace

TASKS = Path(__file__).resolve().parents[1] / "tasks"


def run(pointer: str, scale: float, suite: str, episodes: list, out: Path) -> dict:
    """Per episode key: (passed, [(target, css point or None, dom's box or None, seconds)] per grounding)."""
    settings = RunSettings(pointer=PointerSettings(name=pointer), out=out, browser=BrowserConfig(scale=scale))
    found = {}
    for result in evaluate(episodes, settings, out, workers=1):
        steps = []
        if result.trace:
            for step in read_trace(out / result.trace).steps:
                for g in step.grounding:
                    if g.cache != "hit":
                        steps.append((g.target, g.css[0] if g.css else None, g.box, g.seconds))
        found[f"{suite}:{result.key}"] = (result.success, steps)
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scales", default="1,2")
    parser.add_argument("--episodes", type=int, default=3, help="seeds per MiniWoB++ task")
    parser.add_argument("--pointers", default="ocr,dom")
    parser.add_argument("--families", default="demo,forms,frameworks,miniwob")
    args = parser.parse_args()
    pointers = args.pointers.split(",")
    families = args.families.split(",")
    if "frameworks" in families and not (TASKS / "frameworks" / "site" / "build" / "tailwind.css").is_file():
        parser.error("the framework pages' stylesheets are not installed: run `npm ci` in tasks/frameworks/site")
    suites = {family: miniwob.episodes(count=args.episodes) if family == "miniwob" else load_suite(TASKS / family)
              for family in families}
    print(", ".join(f"{family} {len(episodes)} episodes" for family, episodes in suites.items()),
          f"(MiniWoB++: {len(miniwob.COVERED)} covered tasks x {args.episodes} seeds)")
    for scale in (float(s) for s in args.scales.split(",")):
        for suite, episodes in suites.items():
            with tempfile.TemporaryDirectory() as tmp:
                runs = {p: run(p, scale, suite, episodes, Path(tmp) / p) for p in {*pointers, "dom"}}
            reference = {key: steps for key, (passed, steps) in runs["dom"].items() if passed}
            for pointer in pointers:
                passed = sum(ok for ok, _ in runs[pointer].values())
                right = judged = unjudged = 0
                for key, (_, steps) in runs[pointer].items():
                    truth = reference.get(key)
                    for index, (target, point, _, _) in enumerate(steps):
                        if truth is None or index >= len(truth) or truth[index][0] != target or truth[index][2] is None:
                            unjudged += 1
                            continue
                        judged += 1
                        right += point is not None and truth[index][2].contains(*point)
                seconds = sorted(s for _, steps in runs[pointer].values() for *_, s in steps)
                median = statistics.median(seconds) if seconds else float("nan")
                p90 = seconds[min(len(seconds) - 1, int(0.9 * len(seconds)))] if seconds else float("nan")
                share = f"{right / judged:.1%}" if judged else "n/a"
                print(f"scale {scale:g} {suite:10} {pointer:3}: episodes {passed}/{len(episodes)} "
                      f"({passed / len(episodes):.0%}); right element {right}/{judged} steps ({share}), "
                      f"{unjudged} unjudged; grounding median {median:.3f} s, p90 {p90:.3f} s")
                failed = sorted(key for key, (ok, _) in runs[pointer].items() if not ok)
                if failed:
                    print(f"  failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
