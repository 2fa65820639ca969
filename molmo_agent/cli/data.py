"""report, export, schema: the uses of recorded traces (train has its own module)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from ..errors import MolmoAgentError
from ..tasks import Task
from ._common import app, cannot_listen, fail, out


@app.command()
def report(
    path: Path = typer.Argument(..., help="a run directory, or a folder of runs (an eval output)"),
    gif: bool = typer.Option(False, "--gif", help="also write run.gif with the points drawn"),
) -> None:
    """Write a self-contained HTML report (works offline) of a run or a folder of runs."""
    from ..report import write_report

    try:
        out.print(f"report: {write_report(path, gif=gif)}")
    except MolmoAgentError as exc:
        fail(exc)


@app.command()
def ui(
    folders: list[Path] = typer.Argument(None, help="folders of runs and evals (default: traces/)"),
    host: str = typer.Option("127.0.0.1", "--host"), port: int = typer.Option(8765, "--port"),
    token: Optional[str] = typer.Option(None, "--token", envvar="MOLMO_AGENT_UI_TOKEN",
                                        help="required in the address (?token=) to open the app; needed beyond loopback"),
    allow_host: list[str] = typer.Option([], "--allow-host", help="also answer to this Host name ('*' for any)"),
) -> None:
    """Browse and watch runs and evals in a local web app: the list, a run's steps, live progress, compare."""
    from ..ui import UiServer

    try:
        server = UiServer(folders or [Path("traces")], host=host, port=port, token=token, allow_hosts=allow_host)
    except MolmoAgentError as exc:
        fail(exc)
    except OSError as exc:
        cannot_listen(host, port, exc)
    out.print(f"runs and evals under {', '.join(str(r) for r in server.library.roots)} at "
              f"{server.url}/{'?token=' + token if token else ''} (Ctrl-C stops)", soft_wrap=True)
    server.run()


@app.command()
def export(
    traces: list[Path] = typer.Argument(..., help="run directories, or folders holding them"),
    out_dir: Path = typer.Option(..., "--out", help="dataset folder (train/ and test/ for datasets' imagefolder)"),
    format: str = typer.Option("molmo2", "--format", help="molmo2 (pointing), molmoweb (whole steps as MolmoWeb "
                               "actions), planner (steps in the step language, for --policy planner) or "
                               "molmowebmix (one row a trace in MolmoWeb's trajectory datasets' schema, parquet)"),
    verdict: Optional[str] = typer.Option(None, "--verdict", help="only traces a judge (or a person) judged "
                                          "success, or failure, last"),
    min_steps: int = typer.Option(0, "--min-steps", min=0, help="only traces of at least this many steps"),
    include_failed: bool = typer.Option(False, "--include-failed", help="also export steps that failed"),
    holdout: list[Path] = typer.Option([], "--holdout", help="traces whose steps all go to the test split"),
    test_fraction: float = typer.Option(0.1, "--test-fraction", min=0, max=1, help="share of other screens held out"),
    history: int = typer.Option(10, "--history", min=0, help="molmoweb: earlier steps in each prompt (as --history of run)"),
) -> None:
    """Turn recorded steps into a training dataset (images included)."""
    from ..sft.export import export as export_traces
    from ..sft.export import load_line

    try:
        counts = export_traces(traces, out_dir, format=format, include_failed=include_failed,
                               test_fraction=test_fraction, holdout=holdout, history=history, verdict=verdict,
                               min_steps=min_steps)
    except MolmoAgentError as exc:
        fail(exc)
    what = "rows" if format == "molmowebmix" else "training"
    out.print(f"{counts['train']} {what} and {counts['test']} held-out examples in {out_dir}; load them with:\n"
              f"    {load_line(out_dir, format)}")


@app.command("import")
def import_(
    format: str = typer.Argument(..., help="the data's format: molmowebmix"),
    data: Path = typer.Argument(..., help="a folder of MolmoWebMix parquet files (a published trajectory dataset "
                                "downloaded, or an export --format molmowebmix)"),
    out_dir: Path = typer.Option(Path("traces/imported"), "--out", help="where the traces go, one folder a row"),
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="the first N rows"),
) -> None:
    """Published trajectories as traces: report shows a human demonstration step by step, points drawn."""
    from ..errors import ConfigError
    from ..sft.molmowebmix import read_rows, to_trace

    written = []
    try:
        if format != "molmowebmix":
            raise ConfigError(f"import {format!r}: the one format is molmowebmix")
        for row in read_rows(data, limit):
            written.append(to_trace(row, out_dir))
    except MolmoAgentError as exc:
        fail(exc)
    out.print(f"{len(written)} traces in {out_dir}; see one with: molmo-agent report {written[0] if written else out_dir}")


@app.command()
def schema(task: bool = typer.Option(False, "--task", help="the schema of a task file instead")) -> None:
    """Print the JSON Schema of a trace record (one line of trace.jsonl), or of a task file."""
    import json

    from ..trace import json_schema_text

    if task:
        sys.stdout.write(json.dumps(Task.model_json_schema(), indent=2, sort_keys=True) + "\n")
    else:
        sys.stdout.write(json_schema_text())
