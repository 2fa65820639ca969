"""report, export, schema: the uses of recorded traces (train has its own module)."""

from __future__ import annotations

from pathlib import Path

import typer

import sys

from ..errors import MolmoAgentError
from ..tasks import Task
from ._common import app, fail, out


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
def export(
    traces: list[Path] = typer.Argument(..., help="run directories, or folders holding them"),
    out_dir: Path = typer.Option(..., "--out", help="dataset folder (train/ and test/ for datasets' imagefolder)"),
    format: str = typer.Option("molmo2", "--format", help="molmo2 (pointing), molmoweb (whole steps as MolmoWeb "
                               "actions) or planner (steps in the step language, for --policy planner)"),
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
                               test_fraction=test_fraction, holdout=holdout, history=history)
    except MolmoAgentError as exc:
        fail(exc)
    out.print(f"{counts['train']} training and {counts['test']} held-out examples in {out_dir}; load them with:\n"
              f"    {load_line(out_dir)}")


@app.command()
def schema(task: bool = typer.Option(False, "--task", help="the schema of a task file instead")) -> None:
    """Print the JSON Schema of a trace record (one line of trace.jsonl), or of a task file."""
    import json

    from ..trace import json_schema_text

    if task:
        sys.stdout.write(json.dumps(Task.model_json_schema(), indent=2, sort_keys=True) + "\n")
    else:
        sys.stdout.write(json_schema_text())
