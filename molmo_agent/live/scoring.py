"""A judge's verdict on an episode, and the published scores: pass@1 over every task (an episode that is
missing or crashed counts as a failure) and pass@k (a task passes if any of its k episodes did), overall,
per site and per level."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from ..evaluate import EpisodeResult
from ..judges import Judge, save_judgment
from ..judges.records import PERSON, Judgment
from ..trace import read_trace


def judged(result: EpisodeResult, out: Path, judge: Judge) -> EpisodeResult:
    """The result with the judge's verdict as its success; the judgment is saved in the episode's folder."""
    if result.trace is None:  # the episode never ran: nothing to judge
        return _with_verdict(result, "unknown", None)
    run_dir = out / result.trace
    try:
        judgment = judge.judge(read_trace(run_dir))
    except Exception as exc:  # noqa: BLE001 - a judge that breaks leaves the episode unknown, the batch goes on
        verdict, by = "unknown", f"{judge.method} judge {judge.client.model} (failed: {type(exc).__name__}: {exc})"
    else:
        save_judgment(run_dir, judgment)
        verdict, by = judgment.verdict, judgment.by
    return _with_verdict(result, verdict, by)


def _with_verdict(result: EpisodeResult, verdict: str, by: str | None) -> EpisodeResult:
    """The verdict as the result's success; what the run itself concluded is kept beside it."""
    agent = result.agent_success if result.agent_success is not None else result.success
    success = verdict == "success"
    return result.model_copy(update={"verdict": verdict, "judged_by": by, "agent_success": agent,
                                     "success": success, "reward": float(success)})


def finisher(out: Path, benchmark: str | None, judge: Judge | None, warn: Callable[[str], None]):
    """What happens to each live episode once it ends: the judge's verdict, and the layouts the benchmarks' own
    judges read (MolmoWeb's for every benchmark, Online-Mind2Web's too for `eval mind2web`). A layout that
    cannot be written is a warning: the episode's result stands."""
    from ..errors import MolmoAgentError
    from . import mind2web, molmoweb

    def finish(result: EpisodeResult) -> EpisodeResult:
        if judge is not None:
            result = judged(result, out, judge)
        if benchmark is not None and result.trace:
            try:
                trace = read_trace(out / result.trace)
                molmoweb.write_results(trace, result.task, molmoweb.layout_folder(out, result.seed))
                if benchmark == "mind2web":
                    mind2web.write_layout(trace, result.task, mind2web.layout_folder(out, result.seed))
            except (MolmoAgentError, OSError) as exc:
                warn(f"{result.key}: the benchmark's results layout was not written: {exc}")
        return result

    return finish


def overruled(result: EpisodeResult, out: Path, verdict: str, why: str) -> EpisodeResult:
    """The result with a person's verdict as its success, saved beside the judges' in the episode's folder."""
    judgment = Judgment(method=PERSON, model="", endpoint="", verdict=verdict, reason=why)
    if result.trace is not None:
        save_judgment(out / result.trace, judgment)
    return _with_verdict(result, verdict, judgment.by)


def official_scores(results: list[EpisodeResult], expected: dict[str, list[str]], k: int) -> dict | None:
    """pass@1 / pass@k by the benchmark's own judge code, where it judged this eval (`judge --official`)."""
    officials = [r.official for r in results if r.official is not None]
    if not officials:
        return None
    by_them = [r.model_copy(update={"success": r.official is not None and r.official.verdict == "success"})
               for r in results]
    return {"judge": officials[0].judge, "scores": pass_at_k(by_them, expected, k),
            "verdicts": {v: sum(o.verdict == v for o in officials) for v in ("success", "failure", "unknown", "missing")},
            "agree": sum(r.official is not None and r.verdict in ("success", "failure")
                         and r.official.verdict == r.verdict for r in results),
            "both": sum(r.official is not None and r.verdict in ("success", "failure")
                        and r.official.verdict in ("success", "failure") for r in results)}


def pass_at_k(results: list[EpisodeResult], expected: dict[str, list[str]], k: int) -> dict:
    """`expected`: every task id the run was meant to cover, with its tags."""
    wins: dict[str, int] = defaultdict(int)
    ran: dict[str, int] = defaultdict(int)
    for r in results:
        if r.task in expected:
            ran[r.task] += 1
            wins[r.task] += r.success

    def score(ids: list[str]) -> dict:
        n = len(ids)
        return {"tasks": n, "episodes": sum(min(ran[t], k) for t in ids),
                "pass@1": round(sum(min(wins[t], k) for t in ids) / (n * k), 4) if n else 0.0,
                f"pass@{k}": round(sum(wins[t] > 0 for t in ids) / n, 4) if n else 0.0}

    groups: dict[str, dict[str, list[str]]] = {"site": defaultdict(list), "level": defaultdict(list)}
    for task_id, tags in expected.items():
        for tag in tags:
            prefix, _, value = tag.partition(":")
            if prefix in groups:
                groups[prefix][value].append(task_id)
    return {"k": k, "overall": score(list(expected)),
            **{f"by_{name}": {value: score(ids) for value, ids in sorted(found.items())}
               for name, found in groups.items() if found}}
