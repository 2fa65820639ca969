"""Supervised fine-tuning of a Molmo2-family model on an exported dataset.

Loss on the answer tokens only; separate learning rates for the vision tower, the connector and the
language model, as in the Molmo recipe; LoRA on the language model's projections with peft; checkpoints
that `--resume` continues from. The result loads straight into the `molmo` pointer and `serve`.
"""

from __future__ import annotations

import json
import math
import random
import shutil
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from pydantic import BaseModel, Field

from ..errors import ConfigError

LORA_TARGETS = r".*language_model\.layers\.\d+\.(self_attn\.(q|k|v|o)_proj|mlp\.(gate|up|down)_proj)"
GROUPS = {"vision": "model.vision_tower.", "connector": "model.multi_modal_projector."}


class TrainConfig(BaseModel):
    steps: int = Field(300, ge=1)
    batch_size: int = Field(8, ge=1)
    lr: float = Field(1e-5, gt=0, description="language model")
    lr_vision: float = Field(5e-6, gt=0)
    lr_connector: float = Field(5e-6, gt=0)
    warmup_steps: int = 20
    lora: bool = False
    lora_rank: int = 16
    activation_checkpointing: bool = Field(False, description="recompute activations in the backward pass: "
                                           "less memory for full fine-tuning of large models, some more time")
    save_every: int = 100
    seed: int = 0
    device: str | None = None


class TrainResult(BaseModel):
    out: Path | None
    steps: int
    final_loss: float
    examples: int
    seconds: float
    examples_per_second: float
    peak_gpu_gib: float | None = None


def _load_rows(datasets: list[Path]) -> list[dict]:
    """The training split of every dataset, mixed: one model can learn to point and to plan."""
    from datasets import load_dataset

    rows = []
    for dataset in datasets:
        if not (dataset / "train" / "metadata.jsonl").is_file():
            raise ConfigError(f"{dataset} is not an exported dataset (no train/metadata.jsonl); run molmo-agent export")
        found = list(load_dataset("imagefolder", data_dir=str(dataset), split="train"))
        if not found:
            raise ConfigError(f"{dataset} has no training examples")
        rows += found
    return rows


def _encode(processor, prompt_of: Callable[[str], str], row: dict) -> dict:
    """Token ids and labels for one example: -100 on the prompt and the image, the answer learned."""
    prompt = prompt_of(row["prompt"])
    full = prompt + " " + row["answer"] + processor.tokenizer.eos_token
    inputs = processor(images=[[row["image"].convert("RGB")]], text=[full], return_tensors="pt")
    prompt_len = processor(images=[[row["image"].convert("RGB")]], text=[prompt], return_tensors="pt")["input_ids"].shape[1]
    labels = inputs["input_ids"].clone()
    labels[:, :prompt_len] = -100
    return {"image": row["image"].convert("RGB"), "text": full, "prompt_len": prompt_len, "labels": labels[0]}


def _batch(processor, examples: list[dict]) -> dict:
    """One batch as tensors on the CPU; labels -100 wherever the answer is not."""
    import torch

    processor.tokenizer.padding_side = "right"
    inputs = processor(images=[[e["image"]] for e in examples], text=[e["text"] for e in examples],
                       padding=True, return_tensors="pt")
    labels = torch.full_like(inputs["input_ids"], -100)
    for row, e in enumerate(examples):
        labels[row, : len(e["labels"])] = e["labels"]
    inputs["labels"] = labels
    return dict(inputs)


def _to_device(batch: dict, device: str, dtype) -> dict:
    out = {k: v.to(device, non_blocking=True) if hasattr(v, "to") else v for k, v in batch.items()}
    out["pixel_values"] = out["pixel_values"].to(dtype)
    return out


def _param_groups(model, config: TrainConfig) -> list[dict]:
    groups = {"vision": [], "connector": [], "language": []}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        kind = next((k for k, prefix in GROUPS.items() if prefix in name), "language")
        groups[kind].append(param)
    rates = {"vision": config.lr_vision, "connector": config.lr_connector, "language": config.lr}
    return [{"params": ps, "lr": rates[k], "name": k} for k, ps in groups.items() if ps]


def _latest_checkpoint(out: Path) -> Path | None:
    found = sorted(out.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1]))
    return found[-1] if found else None


def train(dataset: str | Path | list[str | Path], base: str | Path | tuple, out: str | Path | None,
          config: TrainConfig | None = None, *,
          resume: bool = False, on_step: Callable[[int, float], None] | None = None) -> TrainResult:
    """Fine-tune `base` (a checkpoint, or a (model, processor) pair built in memory) and write it to `out`
    (None writes nothing: for speed benchmarks)."""
    import torch
    from transformers import AutoModelForImageTextToText, AutoProcessor

    config = config or TrainConfig()
    datasets = [Path(d) for d in (dataset if isinstance(dataset, list) else [dataset])]
    out = Path(out) if out is not None else None
    rows = _load_rows(datasets)
    device = config.device or ("cuda" if torch.cuda.is_available() else "cpu")
    dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    checkpoint = _latest_checkpoint(out) if resume and out else None
    if isinstance(base, tuple) and checkpoint is None:
        model, processor = base
        model.to(device)
    else:
        source = checkpoint or base
        try:
            processor = AutoProcessor.from_pretrained(str(source))
            model = AutoModelForImageTextToText.from_pretrained(str(source), dtype=dtype).to(device)
        except OSError as exc:
            raise ConfigError(f"cannot load the base model {source}: {str(exc).splitlines()[0]}") from None
    if config.activation_checkpointing:  # named gradient_checkpointing_enable before transformers 5.24
        (getattr(model, "activation_checkpointing_enable", None) or model.gradient_checkpointing_enable)()
        model.config.use_cache = False
    if config.lora:
        from peft import LoraConfig, get_peft_model

        model = get_peft_model(model, LoraConfig(r=config.lora_rank, lora_alpha=2 * config.lora_rank,
                                                 target_modules=LORA_TARGETS, lora_dropout=0.0))
    from ..models.loading import MolmoModel

    prompt_of = MolmoModel.prompt_with(processor)
    examples = [_encode(processor, prompt_of, row) for row in rows]
    optimizer = torch.optim.AdamW(_param_groups(model, config), weight_decay=0.0)
    start_step = 0
    if checkpoint is not None:
        state = torch.load(checkpoint / "optimizer.pt", map_location=device)
        optimizer.load_state_dict(state["optimizer"])
        start_step = state["step"]
    base_rates = [g["lr"] for g in optimizer.param_groups]
    random.seed(config.seed + start_step)
    torch.manual_seed(config.seed + start_step)
    model.train()
    started, loss_value = time.perf_counter(), float("nan")
    # On a GPU the next batch's images are processed on another thread while this step runs there; on the
    # CPU that thread would only contend with the step for the cores and the GIL.
    with ThreadPoolExecutor(1, thread_name_prefix="batches") as prepare:
        def draw() -> Future:
            picked = random.sample(examples, min(config.batch_size, len(examples)))
            if device.startswith("cuda"):
                return prepare.submit(_batch, processor, picked)
            ready: Future = Future()
            ready.set_result(_batch(processor, picked))
            return ready

        upcoming = draw()
        for step in range(start_step + 1, config.steps + 1):
            warm = min(1.0, step / max(1, config.warmup_steps))
            decay = 0.5 * (1 + math.cos(math.pi * step / config.steps))
            for group, rate in zip(optimizer.param_groups, base_rates):
                group["lr"] = rate * warm * max(decay, 0.05)
            batch = _to_device(upcoming.result(), device, dtype)
            if step < config.steps:
                upcoming = draw()
            loss = model(**batch).loss
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            loss_value = float(loss.detach())
            if on_step:
                on_step(step, loss_value)
            if out is not None and step % config.save_every == 0 and step < config.steps:
                _save(model, processor, out / f"checkpoint-{step}", config)
                torch.save({"optimizer": optimizer.state_dict(), "step": step},
                           out / f"checkpoint-{step}" / "optimizer.pt")
    seconds = time.perf_counter() - started
    trained = config.steps - start_step
    peak = torch.cuda.max_memory_allocated() / 2**30 if device.startswith("cuda") else None
    result = TrainResult(out=out, steps=config.steps, final_loss=loss_value, examples=len(examples),
                         seconds=round(seconds, 2), peak_gpu_gib=round(peak, 1) if peak else None,
                         examples_per_second=round(trained * config.batch_size / seconds, 2) if seconds else 0.0)
    if out is None:
        return result
    _save(model, processor, out, config, merge=True)
    for old in out.glob("checkpoint-*"):
        shutil.rmtree(old)
    (out / "training.json").write_text(json.dumps({**result.model_dump(mode="json"), "config": config.model_dump(),
                                                   "base": str(base), "datasets": [str(d) for d in datasets]},
                                                  indent=2) + "\n")
    return result


def _save(model, processor, folder: Path, config: TrainConfig, *, merge: bool = False) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    to_save = model.merge_and_unload() if merge and config.lora else model
    to_save.save_pretrained(folder)
    processor.save_pretrained(folder)
