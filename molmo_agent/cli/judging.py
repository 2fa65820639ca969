"""judge, and what eval needs for published benchmarks: their task files, judges, pass@k tables."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from ..errors import ConfigError, MolmoAgentError
from ._common import app, err, fail, out

JUDGE = typer.Option(None, "--judge", help="OpenAI-compatible base URL of the judge model, e.g. http://gpu:8002/v1")
JUDGE_MODEL = typer.Option(None, "--judge-model", help="the model the --judge endpoint serves")
JUDGE_KEY = typer.Option(None, "--judge-api-key", envvar="MOLMO_AGENT_JUDGE_API_KEY", help="bearer token for --judge")
JUDGE_METHOD = typer.Option(None, "--judge-method", help="webvoyager or webjudge (default: the benchmark's own)")
OFFICIAL = typer.Option(None, "--official", help="a checkout of allenai/molmoweb or OSU-NLP-Group/Online-Mind2Web: "
                        "run its own judge code on the eval (through --judge, as OPENAI_BASE_URL) and read its "
                        "verdicts back beside ours")
OFFICIAL_PYTHON = typer.Option(None, "--official-python", help="the Python that runs --official's code (default: "
                               "the checkout's .venv, else this one)")


def parse_map_url(values: list[str]) -> list[tuple[str, str]]:
    pairs = []
    for value in values:
        prefix, sep, target = value.partition("=")
        if not sep or not prefix.startswith(("http://", "https://")) or not target.startswith(("http://", "https://")):
            raise ConfigError(f"--map-url {value!r} must be FROM=TO with two http(s) URL prefixes, "
                              "e.g. https://www.allrecipes.com/=http://127.0.0.1:8000/allrecipes/")
        pairs.append((prefix, target))
    return pairs


def make_cli_judge(benchmark: str | None, judge: str | None, model: str | None, api_key: str | None,
                   method: str | None):
    from ..judges import make_judge

    if judge is None:
        if model or method:
            raise ConfigError("--judge-model and --judge-method need --judge URL")
        return None
    from ..live.tasks import SPECS

    method = method or (SPECS[benchmark].judge if benchmark in SPECS else "webvoyager")
    return make_judge(method, judge, model, api_key=api_key)


def live_episodes(benchmark: str, file: Path | None, *, sites, level, ids, limit, patches, start, episodes, seed):
    """The benchmark's episodes and what the summary records about them (source file, every task expected)."""
    from ..evaluate import Episode
    from ..live.tasks import load_rows

    if file is None:
        raise ConfigError(f"eval {benchmark} needs the task file: molmo-agent eval {benchmark} FILE")
    split = (lambda text: [s.strip() for s in text.split(",") if s.strip()] if text else None)
    tasks, source, rows = load_rows(benchmark, file, sites=split(sites), level=level, ids=split(ids), limit=limit,
                                    patches=patches, start=start)
    if not tasks:
        raise ConfigError(f"no task of {file} is left after the filters")
    seeds = [None] if episodes == 1 else list(range(seed, seed + episodes))
    chosen = [Episode(task_id=t.id, seed=s, task=t, source=source.sha256) for t in tasks for s in seeds]
    return chosen, {"source": source.model_dump(), "episodes_per_task": episodes,
                    "expected": {t.id: t.tags for t in tasks}}, rows


def make_checkout(path: Path | None, python: str | None, summary_benchmark: str | None, judge: str | None,
                  model: str | None):
    """The benchmark's own judge code to run after scoring (--official), checked before anything runs."""
    from ..live.official import check, find_checkout

    if path is None:
        if python:
            raise ConfigError("--official-python is the Python for --official PATH")
        return None
    checkout = find_checkout(path, python)
    check(checkout, summary_benchmark, judge, model)
    return checkout


def score_officially(checkout, eval_dir: Path, summary: dict, results, *, judge: str, model: str | None,
                     api_key: str | None) -> list:
    """The results with the official code's verdicts beside ours (the task file it reads written first)."""
    from ..live.molmoweb import subset_path
    from ..live.official import run_official
    from ..live.tasks import load_rows, write_subset

    benchmark = summary["source"]["benchmark"]
    if not subset_path(eval_dir, benchmark).is_file():  # an eval from before the layout: its tasks, unpatched
        _, _, rows = load_rows(benchmark, summary["source"]["file"], ids=list(summary["expected"]))
        write_subset(benchmark, rows, subset_path(eval_dir, benchmark))
    verdicts = run_official(checkout, eval_dir, benchmark, results, endpoint=judge, model=model, api_key=api_key,
                            echo=out.print)
    return [r.model_copy(update={"official": verdicts.get(r.key, r.official)}) for r in results]


def add_scores(summary: dict, results) -> dict:
    """pass@1 / pass@k into the summary, where it records the tasks a benchmark run was meant to cover."""
    from ..live.scoring import official_scores, pass_at_k

    if "expected" in summary:
        k = summary.get("episodes_per_task", 1)
        summary["scores"] = pass_at_k(results, summary["expected"], k)
        summary["judged"] = {v: sum(r.verdict == v for r in results) for v in ("success", "failure", "unknown")}
        if (official := official_scores(results, summary["expected"], k)) is not None:
            summary["official"] = official
    return summary


def judge_notes(judge, results) -> bool:
    """Say once what the judge's endpoint adapted to, and whether no verdict came at all (one line: the run
    then exits non-zero, since every episode reads as unknown, not as failed)."""
    if judge is None:
        return True
    if judge.client.adapted:
        out.print(f"[yellow]judge: {judge.client.adapted}[/yellow]")
    if results and all(r.verdict == "unknown" for r in results):
        err.print(f"[red]error:[/red] the judge gave no verdict for any of {len(results)} episodes (every answer "
                  "was an error or unreadable); its calls are kept with each result's judgment", markup=True)
        return False
    return True


def official_notes(results) -> bool:
    """One line when the official code gave no verdict at all (the run then exits non-zero)."""
    from ..live.official import OFFICIAL_DIR

    if results and all(r.official is None or r.official.verdict in ("unknown", "missing") for r in results):
        err.print(f"[red]error:[/red] the official judge gave no verdict for any of {len(results)} episodes; "
                  f"its command and output are under {OFFICIAL_DIR}/", markup=True)
        return False
    return True


def print_scores(summary: dict) -> None:
    from rich.table import Table

    scores = summary.get("scores")
    if not scores:
        return
    k = scores["k"]
    columns = ["pass@1"] + ([f"pass@{k}"] if k > 1 else [])
    for group in ("by_site", "by_level"):
        if group in scores:
            table = Table(group.removeprefix("by_"), "tasks", "episodes", *columns)
            for name, s in scores[group].items():
                table.add_row(name, str(s["tasks"]), str(s["episodes"]), *(f"{s[c]:.1%}" for c in columns))
            out.print(table)
    overall = scores["overall"]
    out.print(f"overall over {overall['tasks']} tasks: " + ", ".join(f"{c} {overall[c]:.1%}" for c in columns)
              + (f" (judge verdicts: {summary['judged']})" if summary.get("judged") else ""))
    if official := summary.get("official"):
        theirs = official["scores"]["overall"]
        out.print(f"official ({official['judge']}): " + ", ".join(f"{c} {theirs[c]:.1%}" for c in columns)
                  + f" (verdicts: {official['verdicts']}; agrees with ours on {official['agree']} of "
                  f"{official['both']} episodes both decided)")


@app.command()
def judge(
    eval_dir: Path = typer.Argument(..., help="an eval directory (results.jsonl, summary.json)"),
    judge: Optional[str] = JUDGE, judge_model: Optional[str] = JUDGE_MODEL, judge_api_key: Optional[str] = JUDGE_KEY,
    judge_method: Optional[str] = JUDGE_METHOD,
    overrule: list[str] = typer.Option([], "--set", help="TASK=success|failure (TASK#SEED for one episode of "
                                       "several): a person's verdict, kept beside the judges' and counted in the "
                                       "scores; repeatable, with --why"),
    why: Optional[str] = typer.Option(None, "--why", help="the reason for --set, shown in the report"),
    official: Optional[Path] = OFFICIAL, official_python: Optional[str] = OFFICIAL_PYTHON,
) -> None:
    """Re-score a finished eval with a judge, without re-running it; earlier verdicts stay beside the new ones.
    With --official PATH, the benchmark's own judge code from your checkout judges instead (our verdicts stay as
    they were, its verdicts beside them). A person can overrule a verdict with --set TASK=success|failure
    --why "..." (with or without --judge)."""
    from ..evaluate import RESULTS, SUMMARY, finished_results, summarize, write_results
    from ..live.scoring import judged, overruled
    from ..report import write_eval_report

    results = []
    try:
        if not (eval_dir / RESULTS).is_file() or not (eval_dir / SUMMARY).is_file():
            raise ConfigError(f"{eval_dir} is not an eval directory (no {RESULTS} and {SUMMARY}); pass the --out of an eval")
        if why and not overrule:
            raise ConfigError("--why is the reason for --set TASK=success|failure")
        if judge is None and not overrule:
            raise ConfigError("--judge URL is missing: the OpenAI-compatible endpoint of the judge model "
                              "(or --set TASK=success|failure --why ... to overrule a verdict)")
        summary = json.loads((eval_dir / SUMMARY).read_text(encoding="utf-8"))
        benchmark = summary.get("source", {}).get("benchmark")
        checkout = make_checkout(official, official_python, benchmark, judge, judge_model)
        if checkout is not None and judge_method:
            raise ConfigError("--judge-method chooses our own judge; --official runs the benchmark's own code (run "
                              "judge twice for both)")
        chosen = None if checkout else make_cli_judge(benchmark, judge, judge_model, judge_api_key, judge_method)
        results = finished_results(eval_dir)
        verdicts = _overrules(overrule, why, results)
    except MolmoAgentError as exc:
        fail(exc)
    # A person's verdict stands when a judge scores the eval again: earlier ones are applied after the judge's.
    earlier = {key: (v["verdict"], v["why"]) for key, v in summary.get("overruled", {}).items()}
    people = {key: (verdict, why) for key, verdict in verdicts.items()}
    standing = people | ({k: v for k, v in earlier.items() if k not in people} if chosen is not None else {})
    rejudged = []
    for n, result in enumerate(results, 1):
        now = judged(result, eval_dir, chosen) if chosen is not None else result
        if (person := standing.get(result.key) or standing.get(result.task)) is not None:
            now = overruled(now, eval_dir, *person)
        rejudged.append(now)
        if now is not result:
            out.print(f"{n}/{len(results)} {result.key}: {now.verdict}" + (f" (was {result.verdict})" if result.verdict else "")
                      + (f", set by a person: {person[1]}" if person else ""))
    if checkout is not None:
        try:
            rejudged = score_officially(checkout, eval_dir, summary, rejudged, judge=judge, model=judge_model,
                                        api_key=judge_api_key)
        except MolmoAgentError as exc:
            fail(exc)
    write_results(eval_dir, rejudged)
    summary.update(summarize(rejudged))
    if chosen is not None:
        summary["judge"] = {"method": chosen.method, "model": chosen.client.model, "endpoint": chosen.client.endpoint}
    if earlier or people:
        summary["overruled"] = {key: {"verdict": v, "why": w} for key, (v, w) in (earlier | people).items()}
    add_scores(summary, rejudged)
    (eval_dir / SUMMARY).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print_scores(summary)
    out.print(f"report: {write_eval_report(eval_dir)}")
    if chosen is not None and not judge_notes(chosen, rejudged):
        raise typer.Exit(1)
    if checkout is not None and not official_notes(rejudged):
        raise typer.Exit(1)


def _overrules(values: list[str], why: str | None, results) -> dict[str, str]:
    """`--set` values as {task or task#seed: verdict}, each naming an episode of the eval."""
    if values and not (why or "").strip():
        raise ConfigError("--set needs --why \"...\": the reason is kept with the verdict and shown in the report")
    known = {r.key for r in results} | {r.task for r in results}
    verdicts = {}
    for value in values:
        key, _, verdict = value.rpartition("=")
        if verdict not in ("success", "failure") or not key:
            raise ConfigError(f"--set {value!r} must be TASK=success or TASK=failure")
        if key not in known:
            raise ConfigError(f"--set {value!r}: no episode of {key!r} in this eval (its tasks: "
                              f"{', '.join(sorted(r.key for r in results)[:5])}{', ...' if len(results) > 5 else ''})")
        verdicts[key] = verdict
    return verdicts
