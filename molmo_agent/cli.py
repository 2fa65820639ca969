"""The command line: a thin typer layer over the library."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from .browser import BrowserConfig, parse_viewport
from .errors import ConfigError, MolmoAgentError
from .pointers import NAMES as POINTER_NAMES
from .redaction import Secrets
from .run import POLICIES, ModelSettings, PointerSettings, RunSettings, make_policy, run_task
from .sites import DEMO_SITE, serve_site
from .tasks import Task, load_task
from .trace import StepRecord

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Web agents that see the page as pixels and act by pointing.")
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)
DEMO_TASK = DEMO_SITE.parent / "task.yaml"


def _fail(exc: MolmoAgentError) -> None:
    err.print(f"[red]error:[/red] {exc}", markup=True, soft_wrap=True)
    raise typer.Exit(exc.exit_code)


def _step_line(secrets: Secrets):
    def show(step: StepRecord) -> None:
        action = step.action or step.intent
        where = f" -> ({action.x:.0f}, {action.y:.0f})" if getattr(action, "x", None) is not None else ""
        mark = "[green]ok[/green]" if step.outcome.ok else "[red]FAIL[/red]"
        changed = ",".join(step.outcome.changed) or "no change"
        seconds = sum(step.timings.values())
        line = f"{step.index:>3} {mark} {step.intent.describe()}{where}  {seconds:.2f}s  [dim]{changed}[/dim]"
        if step.outcome.error:
            line += f"\n      [red]{step.outcome.error}[/red]"
        for event in step.outcome.events:
            line += f"\n      [yellow]{event}[/yellow]"
        out.print(secrets.redact(line), markup=True, soft_wrap=True)

    return show


def _recording_to(run_dir: Path) -> None:
    out.print(f"[dim]recording to {run_dir}[/dim]")


def _execute(task: Task, settings: RunSettings) -> None:
    result = run_task(task, settings, on_step=_step_line(settings.secrets), on_start=_recording_to)
    _print_end(result, settings)
    raise typer.Exit(0 if result.status == "success" else 1)


def _print_end(result, settings: RunSettings) -> None:
    end = result.end
    colour = "green" if end.status == "success" else "red"
    out.print(f"[{colour}]{end.status}[/{colour}] after {end.steps} steps in {end.seconds:.1f}s"
              + (f": {settings.secrets.redact(end.reason)}" if end.reason else ""))
    if end.answer:
        out.print(f"answer: {settings.secrets.redact(end.answer)}")
    out.print(f"trace: {result.run_dir}")


def _settings(pointer, endpoint, model, api_key, timeout, out_dir, max_steps, viewport, scale,
              secret, allow_domain, allow_file, headed, browser, playwright_trace=False, family=None) -> RunSettings:
    if pointer not in POINTER_NAMES:
        raise ConfigError(f"--pointer {pointer!r} is not one of {', '.join(POINTER_NAMES)}")
    if not 0.5 <= scale <= 4:
        raise ConfigError(f"--scale {scale} is out of range; use 0.5 to 4 (2 for a HiDPI screen)")
    return RunSettings(
        pointer=PointerSettings(name=pointer, endpoint=endpoint, model=model, api_key=api_key, timeout_s=timeout,
                                family=family),
        browser=BrowserConfig(executable=browser, headless=not headed, viewport=parse_viewport(viewport),
                              scale=scale, allow_domains=allow_domain, allow_file=allow_file,
                              playwright_trace=playwright_trace),
        out=out_dir, max_steps=max_steps, secrets=Secrets.from_options(secret),
    )


def _choose_policy(settings: RunSettings, policy: str, planner: str | None, planner_model: str | None,
                   planner_api_key: str | None) -> None:
    if policy not in POLICIES:
        raise ConfigError(f"--policy {policy!r} is not one of {', '.join(POLICIES)}")
    if policy != "planner" and (planner or planner_model):
        raise ConfigError("--planner and --planner-model are for --policy planner")
    settings.policy = policy
    settings.planner = ModelSettings(model=planner_model, endpoint=planner, api_key=planner_api_key,
                                     timeout_s=settings.pointer.timeout_s)


POINTER = typer.Option("ocr", "--pointer", help=f"where-is-it backend: {', '.join(POINTER_NAMES)}")
ENDPOINT = typer.Option(None, help="OpenAI-compatible base URL for --pointer http, e.g. http://gpu:8000/v1")
MODEL = typer.Option(None, help="for http: the model the endpoint serves (allenai/Molmo-7B-D-0924); "
                     "for molmo: a checkpoint folder or hub id")
POLICY = typer.Option("steps", "--policy", help="steps (the goal is the steps), planner (a chat model names each step: "
                      "--planner, --planner-model), or molmoweb (a MolmoWeb model, --model, at --endpoint if given)")
PLANNER = typer.Option(None, "--planner", help="OpenAI-compatible base URL of the planner model, e.g. http://gpu:8001/v1 "
                       "(without it, --planner-model is loaded in this process)")
PLANNER_MODEL = typer.Option(None, "--planner-model", help="the model the --planner endpoint serves, or a checkpoint folder")
PLANNER_KEY = typer.Option(None, "--planner-api-key", envvar="MOLMO_AGENT_PLANNER_API_KEY",
                           help="bearer token for the planner endpoint")
FAMILY = typer.Option(None, "--family", help="prompt style for http: molmo, molmo2, generic (default: from --model)")
API_KEY = typer.Option(None, envvar="MOLMO_AGENT_API_KEY", help="bearer token for the endpoint")
TIMEOUT = typer.Option(60.0, "--timeout", help="seconds to wait for one pointer answer")
OUT = typer.Option(Path("traces"), "--out", help="folder that receives one run directory per run")
MAX_STEPS = typer.Option(None, "--max-steps", min=1, help="step budget (default: the task's, else 30)")
VIEWPORT = typer.Option("1280x720", help="viewport in CSS pixels, WIDTHxHEIGHT")
SCALE = typer.Option(1.0, help="device scale factor (2 = HiDPI screenshots)")
SECRET = typer.Option([], "--secret", help="NAME=value, typed where a step says {{NAME}}; never recorded")
ALLOW = typer.Option([], "--allow-domain", help="only go to these domains (and their subdomains)")
ALLOW_FILE = typer.Option(False, "--allow-file", help="allow file:// URLs")
HEADED = typer.Option(False, "--headed", help="show the browser window")
BROWSER = typer.Option(None, "--browser", help="Chromium executable (else $MOLMO_AGENT_CHROMIUM, Playwright's, /usr/bin/chromium)")
PW_TRACE = typer.Option(False, "--playwright-trace", help="also save Playwright's trace archive for its Trace Viewer")


@app.command()
def run(
    goal: Optional[str] = typer.Argument(None, help='steps such as \'click "Search", type "SFO" into "From"\''),
    url: Optional[str] = typer.Option(None, help="start URL"),
    task: Optional[Path] = typer.Option(None, "--task", help="a task file (YAML) instead of GOAL and --url"),
    pointer: str = POINTER, endpoint: Optional[str] = ENDPOINT, model: Optional[str] = MODEL,
    api_key: Optional[str] = API_KEY, timeout: float = TIMEOUT, out_dir: Path = OUT,
    max_steps: Optional[int] = MAX_STEPS, viewport: str = VIEWPORT, scale: float = SCALE,
    secret: list[str] = SECRET, allow_domain: list[str] = ALLOW, allow_file: bool = ALLOW_FILE,
    headed: bool = HEADED, browser: Optional[str] = BROWSER, playwright_trace: bool = PW_TRACE,
    family: Optional[str] = FAMILY, policy: str = POLICY, planner: Optional[str] = PLANNER,
    planner_model: Optional[str] = PLANNER_MODEL, planner_api_key: Optional[str] = PLANNER_KEY,
) -> None:
    """Run a goal (or a task file) in Chromium and record a trace."""
    try:
        settings = _settings(pointer, endpoint, model, api_key, timeout, out_dir, max_steps, viewport,
                             scale, secret, allow_domain, allow_file, headed, browser, playwright_trace, family)
        _choose_policy(settings, policy, planner, planner_model, planner_api_key)
        if task is not None:
            chosen = load_task(task)
            if url:
                chosen = chosen.model_copy(update={"url": url, "site": None})
        elif goal:
            chosen = Task(id="run", goal=goal, url=url)
        else:
            raise ConfigError("give a GOAL or --task FILE")
        _execute(chosen, settings)
    except MolmoAgentError as exc:
        _fail(exc)


@app.command()
def demo(
    pointer: str = POINTER, out_dir: Path = OUT, scale: float = SCALE, headed: bool = HEADED,
    browser: Optional[str] = BROWSER,
) -> None:
    """Book a flight on the bundled demo site, pixels only, and print where the trace is."""
    try:
        settings = _settings(pointer, None, None, None, 60.0, out_dir, None, "1280x720", scale, [], [],
                             False, headed, browser)
        _execute(load_task(DEMO_TASK), settings)
    except MolmoAgentError as exc:
        _fail(exc)


@app.command()
def replay(
    trace: Path = typer.Argument(..., help="a run directory written by run, demo or replay"),
    mode: str = typer.Option("exact", help="exact: stop at the first divergence; reground: ask the pointer "
                             "again where the page moved; check: list every divergence"),
    url: Optional[str] = typer.Option(None, help="start here instead of the recorded URL"),
    tolerance: float = typer.Option(0.02, help="share of the screenshot that may differ before a step diverges"),
    pointer: Optional[str] = typer.Option(None, "--pointer", help="for reground (default: the recorded one)"),
    endpoint: Optional[str] = ENDPOINT, model: Optional[str] = MODEL, api_key: Optional[str] = API_KEY,
    timeout: float = TIMEOUT, out_dir: Path = OUT, viewport: Optional[str] = typer.Option(
        None, help="viewport (default: the recorded one)"), scale: Optional[float] = typer.Option(
        None, help="device scale factor (default: the recorded one)"),
    secret: list[str] = SECRET, allow_domain: list[str] = ALLOW, allow_file: bool = ALLOW_FILE,
    headed: bool = HEADED, browser: Optional[str] = BROWSER,
) -> None:
    """Replay a recorded run and report where the page no longer matches the recording."""
    from .replay import replay as replay_run
    from .trace import read_trace

    try:
        if mode not in ("exact", "reground", "check"):
            raise ConfigError(f"--mode {mode!r} is not one of exact, reground, check")
        header = read_trace(trace).header
        name = pointer or header.pointer.get("name", "ocr")
        if mode == "reground" and name not in POINTER_NAMES:
            raise ConfigError(f"the recording used pointer {name!r}; pass --pointer for reground")
        settings = _settings(name if name in POINTER_NAMES else "dom", endpoint or header.pointer.get("endpoint"),
                             model or header.pointer.get("model"), api_key, timeout, out_dir, None,
                             viewport or "x".join(map(str, header.viewport)),
                             scale if scale is not None else header.scale, secret, allow_domain, allow_file,
                             headed, browser)
        result, divergences = replay_run(trace, settings, mode=mode, url=url, tolerance=tolerance,
                                         on_step=_step_line(settings.secrets), on_start=_recording_to)
    except MolmoAgentError as exc:
        _fail(exc)
    _print_end(result, settings)
    for d in divergences:
        out.print(f"[yellow]step {d.step} diverged:[/yellow] " + "; ".join(d.differences))
        out.print(f"      recorded {d.recorded_screenshot}\n      now      {d.current_screenshot}"
                  f"\n      side by side {d.side_by_side}")
    clean = result.status == "success" and not (mode == "check" and divergences)
    raise typer.Exit(0 if clean else 1)


@app.command("eval")
def eval_(
    suite: str = typer.Argument(..., help="a task file, a folder of task files, or 'miniwob'"),
    tasks: Optional[str] = typer.Option(None, "--tasks", help="comma-separated task ids (MiniWoB: task names)"),
    episodes: int = typer.Option(1, "--episodes", min=1, help="episodes per task, at seeds S, S+1, ..."),
    seed: int = typer.Option(0, "--seed", help="first seed"),
    workers: int = typer.Option(1, "--workers", min=1, max=32, help="episodes run in parallel"),
    time_limit: float = typer.Option(120.0, "--time-limit", help="seconds per episode"),
    out_dir: Optional[Path] = typer.Option(None, "--out", help="eval directory; run again with it to resume"),
    pointer: str = POINTER, endpoint: Optional[str] = ENDPOINT, model: Optional[str] = MODEL,
    api_key: Optional[str] = API_KEY, timeout: float = TIMEOUT, viewport: str = VIEWPORT, scale: float = SCALE,
    headed: bool = HEADED, browser: Optional[str] = BROWSER, policy: str = POLICY, planner: Optional[str] = PLANNER,
    planner_model: Optional[str] = PLANNER_MODEL, planner_api_key: Optional[str] = PLANNER_KEY,
) -> None:
    """Run a suite of tasks (or MiniWoB++) in parallel and write results, a summary and a report."""
    import threading
    import time
    from datetime import datetime

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from . import miniwob
    from .evaluate import evaluate, load_suite, write_summary
    from .report import write_eval_report

    try:
        settings = _settings(pointer, endpoint, model, api_key, timeout, Path("traces"), None, viewport, scale,
                             [], [], False, headed, browser)
        only = [t.strip() for t in tasks.split(",") if t.strip()] if tasks else None
        chosen = (miniwob.episodes(only, count=episodes, seed=seed) if suite == "miniwob"
                  else load_suite(suite, only=only, episodes=episodes, seed=seed))
        name = "miniwob" if suite == "miniwob" else Path(suite).stem
        out_dir = out_dir or Path("traces") / f"eval-{name}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
        _choose_policy(settings, policy, planner, planner_model, planner_api_key)
        if pointer in ("http", "molmo"):
            settings.pointer.build()  # bad pointer and model options fail before any episode starts
        if policy != "steps":
            make_policy(Task(id="check", goal=""), settings)
    except MolmoAgentError as exc:
        _fail(exc)
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
                progress.console.print(f"[red]fail[/red] {result.key}: {result.reason}")

        try:
            results = evaluate(chosen, settings, out_dir, workers=workers, time_limit_s=time_limit,
                               on_result=on_result, stop=stop)
        except MolmoAgentError as exc:
            _fail(exc)
        progress.update(bar, completed=len(results))
    summary = write_summary(out_dir, results, {"suite": name, "pointer": pointer, "policy": policy, "workers": workers,
                                                "seconds": round(time.perf_counter() - started, 1)})
    table = Table("task", "passed", "rate", "mean reward", "mean steps")
    for task_id, t in summary["tasks"].items():
        table.add_row(task_id, f"{t['successes']}/{t['episodes']}", f"{t['success_rate']:.0%}",
                      f"{t['mean_reward']:.2f}", f"{t['mean_steps']:.1f}")
    out.print(table)
    unfinished = len(chosen) - len(results)
    out.print(f"{summary['successes']} of {summary['episodes']} episodes succeeded ({summary['success_rate']:.1%})"
              + (f"; {unfinished} not finished (run again to resume)" if unfinished else ""))
    out.print(f"report: {write_eval_report(out_dir)}")
    raise typer.Exit(0 if not unfinished and summary["successes"] == len(chosen) else 1)


@app.command()
def report(
    path: Path = typer.Argument(..., help="a run directory, or a folder of runs (an eval output)"),
    gif: bool = typer.Option(False, "--gif", help="also write run.gif with the points drawn"),
) -> None:
    """Write a self-contained HTML report (works offline) of a run or a folder of runs."""
    from .report import write_report

    try:
        out.print(f"report: {write_report(path, gif=gif)}")
    except MolmoAgentError as exc:
        _fail(exc)


@app.command()
def export(
    traces: list[Path] = typer.Argument(..., help="run directories, or folders holding them"),
    out_dir: Path = typer.Option(..., "--out", help="dataset folder (train/ and test/ for datasets' imagefolder)"),
    format: str = typer.Option("molmo2", "--format", help="molmo2 (pointing), molmoweb (whole steps as MolmoWeb "
                               "actions) or planner (steps in the step language, for --policy planner)"),
    include_failed: bool = typer.Option(False, "--include-failed", help="also export steps that failed"),
    holdout: list[Path] = typer.Option([], "--holdout", help="traces whose steps all go to the test split"),
    test_fraction: float = typer.Option(0.1, "--test-fraction", min=0, max=1, help="share of other screens held out"),
) -> None:
    """Turn recorded steps into a training dataset (images included)."""
    from .sft.export import export as export_traces
    from .sft.export import load_line

    try:
        counts = export_traces(traces, out_dir, format=format, include_failed=include_failed,
                               test_fraction=test_fraction, holdout=holdout)
    except MolmoAgentError as exc:
        _fail(exc)
    out.print(f"{counts['train']} training and {counts['test']} held-out examples in {out_dir}; load them with:\n"
              f"    {load_line(out_dir)}")


@app.command()
def train(
    dataset: list[Path] = typer.Argument(..., help="folders written by export (several are mixed)"),
    base: str = typer.Option(..., "--base", help="Molmo2-family checkpoint to start from (folder or hub id)"),
    out_dir: Path = typer.Option(..., "--out", help="where the fine-tuned model goes"),
    lora: bool = typer.Option(False, "--lora", help="LoRA on the language model's projections (peft)"),
    steps: int = typer.Option(300, "--steps", min=1), batch_size: int = typer.Option(8, "--batch-size", min=1),
    lr: float = typer.Option(1e-5, "--lr", help="language model learning rate"),
    lr_vision: float = typer.Option(5e-6, "--lr-vision"), lr_connector: float = typer.Option(5e-6, "--lr-connector"),
    save_every: int = typer.Option(100, "--save-every", min=1), resume: bool = typer.Option(False, "--resume"),
    activation_checkpointing: bool = typer.Option(False, "--activation-checkpointing",
                                                  help="less GPU memory for full fine-tuning, some more time"),
    device: Optional[str] = typer.Option(None, "--device", help="cuda, cpu (default: cuda when present)"),
) -> None:
    """Fine-tune a Molmo2-family model on an exported dataset; the result loads into --pointer molmo and serve."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from .sft.train import TrainConfig
    from .sft.train import train as train_model

    config = TrainConfig(steps=steps, batch_size=batch_size, lr=lr, lr_vision=lr_vision, lr_connector=lr_connector,
                         lora=lora, save_every=save_every, device=device,
                         activation_checkpointing=activation_checkpointing)
    with Progress(TextColumn("train"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[loss]}"),
                  TimeElapsedColumn(), console=out) as progress:
        bar = progress.add_task("train", total=steps, loss="")
        try:
            result = train_model(dataset, base, out_dir, config, resume=resume,
                                 on_step=lambda s, loss: progress.update(bar, completed=s, loss=f"loss {loss:.4f}"))
        except MolmoAgentError as exc:
            _fail(exc)
    out.print(f"trained {result.steps} steps on {result.examples} examples in {result.seconds:.1f}s "
              f"({result.examples_per_second:.1f} examples/s"
              + (f", peak GPU memory {result.peak_gpu_gib} GiB" if result.peak_gpu_gib else "")
              + f"), final loss {result.final_loss:.4f}: {result.out}")


@app.command()
def serve(
    model: str = typer.Option(..., "--model", help="Molmo2-family checkpoint folder or hub id"),
    host: str = typer.Option("127.0.0.1", "--host"), port: int = typer.Option(8000, "--port"),
    api_key: Optional[str] = typer.Option(None, "--api-key", envvar="MOLMO_AGENT_API_KEY", help="require this bearer token"),
    name: Optional[str] = typer.Option(None, "--name", help="model id to answer to (default: the folder's name)"),
    max_batch: int = typer.Option(8, "--max-batch", min=1, help="requests generated together"),
) -> None:
    """Serve a model over an OpenAI-compatible API (what --pointer http talks to)."""
    from .models.loading import MolmoModel
    from .serve import make_server

    try:
        loaded = MolmoModel(model)
        if loaded.fast:
            out.print(f"compiling the fast path for batches up to {max_batch} ...")
            out.print(f"warm in {loaded.warm_up(max_batch):.0f}s")
        server = make_server(loaded, name=name or Path(model).name, host=host, port=port, api_key=api_key,
                             max_batch=max_batch)
    except MolmoAgentError as exc:
        _fail(exc)
    except OSError as exc:
        _fail(ConfigError(f"cannot listen on {host}:{port}: {exc.strerror}"))
    out.print(f"serving {model} as {name or Path(model).name} on http://{host}:{server.server_address[1]}/v1 "
              f"({loaded.device})", soft_wrap=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        server.server_close()


@app.command("make-tiny-model")
def make_tiny_model(out_dir: Path = typer.Argument(..., help="folder for the checkpoint")) -> None:
    """Build a tiny random Molmo2 with its processor, offline: for tests and trying the model path."""
    from .models.random import build_tiny_molmo2

    out.print(f"tiny Molmo2 written to {build_tiny_molmo2(out_dir)}")


@app.command()
def site(
    folder: Path = typer.Argument(DEMO_SITE, help="folder to serve (default: the demo site)"),
    port: int = typer.Option(8000, help="port on 127.0.0.1"),
) -> None:
    """Serve a task site (the demo by default) on 127.0.0.1 until Ctrl-C."""
    import time

    try:
        with serve_site(folder, port=port) as base:
            out.print(f"serving {folder} at {base} (Ctrl-C to stop)")
            while True:
                time.sleep(3600)
    except MolmoAgentError as exc:
        _fail(exc)
    except KeyboardInterrupt:
        pass


@app.command()
def schema(task: bool = typer.Option(False, "--task", help="the schema of a task file instead")) -> None:
    """Print the JSON Schema of a trace record (one line of trace.jsonl), or of a task file."""
    import json

    from .trace import json_schema_text

    if task:
        sys.stdout.write(json.dumps(Task.model_json_schema(), indent=2, sort_keys=True) + "\n")
    else:
        sys.stdout.write(json_schema_text())


if __name__ == "__main__":
    app()
