"""train: fine-tune on exported datasets, in one process or data-parallel under torchrun / accelerate launch."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..errors import MolmoAgentError
from ._common import app, fail, out


@app.command()
def train(
    dataset: list[str] = typer.Argument(..., help="folders written by export, or of MolmoWebMix parquet files "
                                        "(several are mixed; PATH:WEIGHT weighs one, e.g. data/human:2)"),
    base: str = typer.Option(..., "--base", help="Molmo2-family checkpoint to start from (folder or hub id)"),
    out_dir: Path = typer.Option(..., "--out", help="where the fine-tuned model goes"),
    lora: bool = typer.Option(False, "--lora", help="LoRA on the language model's projections (peft)"),
    steps: int = typer.Option(300, "--steps", min=1, help="optimizer steps"),
    batch_size: int = typer.Option(8, "--batch-size", min=1, help="examples per step on each process"),
    grad_accum: int = typer.Option(1, "--grad-accum", min=1, help="batches accumulated into one optimizer step"),
    lr: float = typer.Option(1e-5, "--lr", help="language model learning rate"),
    lr_vision: float = typer.Option(5e-6, "--lr-vision"), lr_connector: float = typer.Option(5e-6, "--lr-connector"),
    warmup_steps: int = typer.Option(20, "--warmup-steps", min=0),
    save_every: int = typer.Option(100, "--save-every", min=1), resume: bool = typer.Option(False, "--resume"),
    activation_checkpointing: bool = typer.Option(False, "--activation-checkpointing",
                                                  help="less GPU memory for full fine-tuning, some more time"),
    fsdp: bool = typer.Option(False, "--fsdp", help="under torchrun: shard the model over the processes "
                              "instead of copying it to each (full fine-tuning of models too big for one GPU)"),
    report_to: list[str] = typer.Option([], "--report-to", help="tensorboard, wandb, ... (repeatable; logs go "
                                        "under --out)"),
    device: Optional[str] = typer.Option(None, "--device", help="cuda, cpu (default: cuda when present)"),
) -> None:
    """Fine-tune a Molmo2-family model on exported datasets; the result loads into --pointer molmo and serve.

    Data-parallel on several GPUs (or CPU processes): torchrun --nproc-per-node N -m molmo_agent.cli train ...
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from ..sft.train import TrainConfig, is_main_process, processes
    from ..sft.train import train as train_model

    try:
        config = TrainConfig(steps=steps, batch_size=batch_size, grad_accum=grad_accum, lr=lr, lr_vision=lr_vision,
                             lr_connector=lr_connector, warmup_steps=warmup_steps, lora=lora, save_every=save_every,
                             activation_checkpointing=activation_checkpointing, fsdp=fsdp, report_to=report_to,
                             device=device)
    except ValueError as exc:
        raise typer.BadParameter(str(exc).splitlines()[-1]) from None
    main = is_main_process()
    if main and processes() > 1:
        out.print(f"data-parallel over {processes()} processes ({'FSDP' if fsdp else 'DDP'}): "
                  f"{batch_size * grad_accum * processes()} examples per optimizer step")
    with Progress(TextColumn("train"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[loss]}"),
                  TimeElapsedColumn(), console=out, disable=not main) as progress:
        bar = progress.add_task("train", total=steps, loss="")
        try:
            result = train_model(dataset, base, out_dir, config, resume=resume,
                                 on_step=lambda s, loss: progress.update(bar, completed=s, loss=f"loss {loss:.4f}"))
        except MolmoAgentError as exc:
            fail(exc)
    if not main:
        return
    out.print(f"trained {result.steps} steps on {result.examples} examples in {result.seconds:.1f}s "
              f"({result.examples_per_second:.1f} examples/s"
              + (f", peak GPU memory {result.peak_gpu_gib} GiB" if result.peak_gpu_gib else "")
              + f"), final loss {result.final_loss:.4f}: {result.out}")
