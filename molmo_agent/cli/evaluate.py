"""eval: many episodes, in parallel, scored."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..errors import ConfigError, MolmoAgentError
from ..run import make_policy
from ..tasks import Task
from ._common import (
    API, API_KEY, BROWSER, ENDPOINT, GUARDS, HEADED, HISTORY, MAX_NEW_TOKENS, MODEL, PLANNER, PLANNER_KEY,
    PLANNER_MODEL, POINTER, POLICY, SCALE, TEMPERATURE, TIMEOUT, TOP_P, VIEWPORT, WAIT_SCALE, app, choose_policy, fail,
    make_settings, out,
)
from .judging import (
    JUDGE, JUDGE_KEY, JUDGE_METHOD, JUDGE_MODEL, OFFICIAL_PYTHON, add_scores, judge_notes, live_episodes,
    make_checkout, make_cli_judge, official_notes, parse_map_url, print_scores, score_officially,
)


@app.command("eval")
def eval_(
    suite: str = typer.Argument(..., help="a task file, a folder of task files, 'miniwob', or a published "
                                "benchmark with its file as shipped: webvoyager, mind2web, odysseys, deepshop, "
                                "webtailbench"),
    file: Optional[Path] = typer.Argument(None, help="the benchmark's task file, read unchanged"),
    tasks: Optional[str] = typer.Option(None, "--tasks", help="comma-separated task ids (MiniWoB: task names)"),
    sites: Optional[str] = typer.Option(None, "--sites", help="benchmarks: comma-separated sites (web_name / host)"),
    level: Optional[str] = typer.Option(None, "--level", help="mind2web: easy, medium or hard"),
    ids: Optional[str] = typer.Option(None, "--ids", help="benchmarks: comma-separated task ids"),
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="benchmarks: the first N tasks after the filters"),
    patches: Optional[Path] = typer.Option(None, "--patches", help='benchmarks: JSON {"replace": {id: question}, '
                                           '"drop": (a list of ids)} for questions gone stale'),
    start: str = typer.Option("site", "--start", help="webvoyager: site (start at the task's page) or blank "
                              "(about:blank, goal 'On {web}: {ques}', as MolmoWeb's harness)"),
    map_url: list[str] = typer.Option([], "--map-url", help="FROM=TO: answer requests under FROM from TO (local "
                                      "copies of pages); repeatable"),
    judge: Optional[str] = JUDGE, judge_model: Optional[str] = JUDGE_MODEL, judge_api_key: Optional[str] = JUDGE_KEY,
    judge_method: Optional[str] = JUDGE_METHOD,
    judge_official: Optional[Path] = typer.Option(None, "--judge-official", help="after the eval, run the "
                                                  "benchmark's own judge code from this checkout (see judge "
                                                  "--official)"),
    official_python: Optional[str] = OFFICIAL_PYTHON,
    episodes: int = typer.Option(1, "--episodes", min=1, help="episodes per task, at seeds S, S+1, ..."),
    seed: int = typer.Option(0, "--seed", help="first seed"),
    miniwob_time_limit: Optional[float] = typer.Option(None, "--miniwob-time-limit", min=0.1, help="MiniWoB: the "
                                                       "page's episode timer in seconds (default 1000, as agent "
                                                       "harnesses; MiniWoB's own is 10)"),
    miniwob_display: bool = typer.Option(False, "--miniwob-display", help="MiniWoB: show its reward panel and click "
                                         "canvas (hidden by default, as agent harnesses do)"),
    workers: int = typer.Option(1, "--workers", min=1, max=32, help="episodes run in parallel (--executor local)"),
    executor: str = typer.Option("local", "--executor", help="local (threads in this process) or ray (one Ray task "
                                 "per episode; a local cluster unless --ray-address or RAY_ADDRESS)"),
    ray_address: Optional[str] = typer.Option(None, "--ray-address", help="the Ray cluster to run on (ray://... "
                                              "or host:port); default $RAY_ADDRESS"),
    time_limit: Optional[float] = typer.Option(None, "--time-limit", help="seconds per episode (default: 120; "
                                                "benchmarks 1800, and 120 per step)"),
    out_dir: Optional[Path] = typer.Option(None, "--out", help="eval directory; run again with it to resume"),
    pointer: str = POINTER, endpoint: Optional[str] = ENDPOINT, model: Optional[str] = MODEL,
    api_key: Optional[str] = API_KEY, timeout: float = TIMEOUT, viewport: str = VIEWPORT, scale: float = SCALE,
    headed: bool = HEADED, browser: Optional[str] = BROWSER, policy: str = POLICY, planner: Optional[str] = PLANNER,
    planner_model: Optional[str] = PLANNER_MODEL, planner_api_key: Optional[str] = PLANNER_KEY,
    api: str = API, history: int = HISTORY, guards: bool = GUARDS, wait_scale: float = WAIT_SCALE,
    temperature: float = TEMPERATURE, top_p: float = TOP_P, max_new_tokens: int = MAX_NEW_TOKENS,
) -> None:
    """Run a suite of tasks (or MiniWoB++) in parallel and write results, a summary and a report."""
    import threading
    import time
    from datetime import datetime

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from .. import miniwob
    from ..evaluate import evaluate, load_suite, write_plan, write_results, write_summary
    from ..live import BENCHMARKS
    from ..live.mind2web import write_missing
    from ..live.molmoweb import subset_path
    from ..live.scoring import finisher
    from ..live.tasks import write_subset
    from ..report import write_eval_report

    try:
        settings = make_settings(pointer, endpoint, model, api_key, timeout, Path("traces"), None, viewport, scale,
                             [], [], False, headed, browser)
        settings.browser.url_map = parse_map_url(map_url)
        only = [t.strip() for t in tasks.split(",") if t.strip()] if tasks else None
        live = suite if suite in BENCHMARKS else None
        if suite != "miniwob" and (miniwob_time_limit is not None or miniwob_display):
            raise ConfigError("--miniwob-time-limit and --miniwob-display are for eval miniwob")
        if not live and (file or sites or level or ids or limit or patches or start != "site"):
            raise ConfigError("FILE, --sites, --level, --ids, --limit, --patches and --start are for published "
                              "benchmarks: eval webvoyager FILE.jsonl, eval mind2web FILE.json, ...")
        recorded: dict = {}
        rows: list[dict] = []
        if live:
            chosen, recorded, rows = live_episodes(live, file, sites=sites, level=level, ids=ids, limit=limit,
                                             patches=patches, start=start, episodes=episodes, seed=seed)
        elif suite == "miniwob":
            chosen = miniwob.episodes(only, count=episodes, seed=seed, display=miniwob_display,
                                      time_limit_s=miniwob_time_limit or miniwob.AGENT_TIME_LIMIT_S)
        else:
            chosen = load_suite(suite, only=only, episodes=episodes, seed=seed)
        name = Path(file).stem if live else "miniwob" if suite == "miniwob" else Path(suite).stem
        checkout = make_checkout(judge_official, official_python, live, judge, judge_model)
        chosen_judge = make_cli_judge(live, judge, judge_model, judge_api_key, judge_method)
        if executor not in ("local", "ray"):
            raise ConfigError(f"--executor {executor!r} is not one of local, ray")
        if ray_address and executor != "ray":
            raise ConfigError("--ray-address is for --executor ray")
        out_dir = out_dir or Path("traces") / f"eval-{name}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
        choose_policy(settings, policy, planner, planner_model, planner_api_key, api=api, history=history,
                      temperature=temperature, top_p=top_p, max_new_tokens=max_new_tokens, guards=guards,
                      wait_scale=wait_scale)
        if pointer in ("http", "molmo"):
            settings.pointer.build()  # bad pointer and model options fail before any episode starts
        if policy != "steps":
            make_policy(Task(id="check", goal=""), settings)
        if live:  # the official judge's task file: the tasks this eval covers, as the benchmark writes them
            write_subset(live, rows, subset_path(out_dir, live))
    except MolmoAgentError as exc:
        fail(exc)
    write_plan(out_dir, name, len(chosen))
    stop = threading.Event()
    wins = [0, 0]
    started = time.perf_counter()
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), console=out) as progress:
        bar = progress.add_task(f"eval {name}", total=len(chosen), rate="")

        def on_result(result) -> None:
            wins[0] += result.success
            wins[1] += 1
            progress.update(bar, advance=1, rate=f"success {wins[0]}/{wins[1]} ({wins[0] / wins[1]:.0%})")
            if not result.success:
                judged = f" (judge: {result.verdict})" if result.verdict else ""
                progress.console.print(f"[red]fail[/red] {result.key}: {result.reason or 'the agent said done'}{judged}")

        try:
            options = dict(time_limit_s=time_limit if time_limit or live else 120.0, on_result=on_result, stop=stop,
                           finish=finisher(out_dir, live, chosen_judge, warn=lambda text: out.print(
                               f"[yellow]{text}[/yellow]")) if live or chosen_judge else None)
            if executor == "ray":
                from ..evaluate_ray import evaluate_on_ray

                results = evaluate_on_ray(chosen, settings, out_dir, address=ray_address, **options)
            else:
                results = evaluate(chosen, settings, out_dir, workers=workers, **options)
        except MolmoAgentError as exc:
            fail(exc)
        progress.update(bar, completed=len(results))
    extra = {"suite": name, "pointer": pointer, "policy": policy, "workers": workers, "executor": executor,
             "seconds": round(time.perf_counter() - started, 1), **recorded}
    if chosen_judge is not None:
        extra["judge"] = {"method": chosen_judge.method, "model": chosen_judge.client.model,
                          "endpoint": chosen_judge.client.endpoint}
    if live == "mind2web":  # every task expected has a folder, so the official script counts what we count
        write_missing(out_dir, chosen)
    if checkout is not None and results:
        try:
            results = score_officially(checkout, out_dir, {**extra}, results, judge=judge, model=judge_model,
                                       api_key=judge_api_key)
        except MolmoAgentError as exc:
            fail(exc)
        write_results(out_dir, results)
    summary = write_summary(out_dir, results, add_scores(extra, results))
    if live:  # hundreds of tasks: the per-site table says more
        print_scores(summary)
    else:
        table = Table("task", "passed", "rate", "mean reward", "mean steps")
        for task_id, t in summary["tasks"].items():
            table.add_row(task_id, f"{t['successes']}/{t['episodes']}", f"{t['success_rate']:.0%}",
                          f"{t['mean_reward']:.2f}", f"{t['mean_steps']:.1f}")
        out.print(table)
    unfinished = len(chosen) - len(results)
    out.print(f"{summary['successes']} of {summary['episodes']} episodes succeeded ({summary['success_rate']:.1%})"
              + (f"; {unfinished} not finished (run again to resume)" if unfinished else ""))
    out.print(f"report: {write_eval_report(out_dir)}")
    judged = judge_notes(chosen_judge, results) and (checkout is None or official_notes(results))
    raise typer.Exit(0 if judged and not unfinished and summary["successes"] == len(chosen) else 1)
