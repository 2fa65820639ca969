"""report, export, train, schema: the uses of recorded traces."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

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

    from ..sft.train import TrainConfig
    from ..sft.train import train as train_model

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
            fail(exc)
    out.print(f"trained {result.steps} steps on {result.examples} examples in {result.seconds:.1f}s "
              f"({result.examples_per_second:.1f} examples/s"
              + (f", peak GPU memory {result.peak_gpu_gib} GiB" if result.peak_gpu_gib else "")
              + f"), final loss {result.final_loss:.4f}: {result.out}")


@app.command()
def schema(task: bool = typer.Option(False, "--task", help="the schema of a task file instead")) -> None:
    """Print the JSON Schema of a trace record (one line of trace.jsonl), or of a task file."""
    import json

    from ..trace import json_schema_text

    if task:
        sys.stdout.write(json.dumps(Task.model_json_schema(), indent=2, sort_keys=True) + "\n")
    else:
        sys.stdout.write(json_schema_text())
