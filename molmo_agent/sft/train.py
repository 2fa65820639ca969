"""Supervised fine-tuning of a Molmo2-family model on exported datasets, on transformers' `Trainer`.

What is ours: the examples (loss on the answer tokens only), separate learning rates for the vision tower,
the connector and the language model as in the Molmo recipe, LoRA on the language model's projections with
peft, and the merged output that the `molmo` pointer and `serve` load. What Trainer (with accelerate under
it) brings: data parallelism under `torchrun` or `accelerate launch` (DDP, or FSDP with `fsdp=True`),
gradient accumulation, bf16, checkpoints that resume with their optimizer, schedule and data order, and
`report_to` (TensorBoard, W&B). Only the main process writes the output.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, Field

from ..errors import ConfigError
from ..protocols import molmoweb

LORA_TARGETS = r".*language_model\.layers\.\d+\.(self_attn\.(q|k|v|o)_proj|mlp\.(gate|up|down)_proj)"
GROUPS = {"vision": "model.vision_tower.", "connector": "model.multi_modal_projector."}
MIN_LR_RATE = 0.05  # the cosine schedule ends at this share of each group's rate, never at zero


class TrainConfig(BaseModel):
    steps: int = Field(300, ge=1, description="optimizer steps")
    batch_size: int = Field(8, ge=1, description="examples per step on each process")
    grad_accum: int = Field(1, ge=1, description="batches accumulated into one optimizer step")
    lr: float = Field(1e-5, gt=0, description="language model")
    lr_vision: float = Field(5e-6, gt=0)
    lr_connector: float = Field(5e-6, gt=0)
    warmup_steps: int = Field(20, ge=0)
    lora: bool = False
    lora_rank: int = Field(16, ge=1)
    activation_checkpointing: bool = Field(False, description="recompute activations in the backward pass: "
                                           "less memory for full fine-tuning of large models, some more time")
    fsdp: bool = Field(False, description="shard weights, gradients and optimizer state over the processes "
                       "(FSDP, one unit per decoder layer) instead of replicating them (DDP)")
    save_every: int = Field(100, ge=1)
    report_to: list[str] = Field(default_factory=list, description="tensorboard, wandb, ... (Trainer's names)")
    seed: int = 0
    device: str | None = Field(None, description="cpu, or cuda (default: cuda when present)")


class TrainResult(BaseModel):
    out: Path | None
    steps: int
    final_loss: float
    examples: int
    seconds: float
    examples_per_second: float = Field(description="over all processes")
    processes: int = 1
    peak_gpu_gib: float | None = None


def processes() -> int:
    """How many processes `torchrun` or `accelerate launch` started for this training (1 when run plainly)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def is_main_process() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def mix(datasets: list[str | Path]) -> list[tuple[Path, float]]:
    """`PATH` or `PATH:WEIGHT` (a weight of 2 counts each example twice, 0.5 half of them). A path that exists
    as written is a path, colon and all."""
    mixed = []
    for item in map(str, datasets):
        path, _, weight = item.rpartition(":")
        try:
            share = float(weight) if path and not Path(item).exists() else None
        except ValueError:
            share = None
        if share is not None and not share > 0:
            raise ConfigError(f"{item}: the weight after ':' must be a number above 0")
        mixed.append((Path(item), 1.0) if share is None else (Path(path), share))
    return mixed


def _weighted(found: list, weight: float) -> list:
    """Each example `weight` times: whole copies, then an even spread for the fraction."""
    whole, part = divmod(weight, 1)
    extra = round(part * len(found))
    return found * int(whole) + [found[i * len(found) // extra] for i in range(extra)]


def _load_rows(datasets: list[str | Path]) -> list[dict]:
    """The training split of every dataset, mixed by weight: one model can learn to point and to plan. A dataset
    is a folder written by export, or MolmoWebMix trajectory rows (parquet: published, or `--format molmowebmix`),
    each step built as MolmoWeb's loader builds it."""
    import io

    from datasets import load_dataset
    from PIL import Image

    from . import molmowebmix

    rows = []
    for dataset, weight in mix(datasets):
        if (dataset / "train" / "metadata.jsonl").is_file():
            found = list(load_dataset("imagefolder", data_dir=str(dataset), split="train"))
        elif molmowebmix.is_rows(dataset):
            found = [{"image": Image.open(io.BytesIO(e["png"])), "prompt": e["prompt"], "answer": e["answer"]}
                     for row in molmowebmix.read_rows(dataset) for e in molmowebmix.examples(row)]
        else:
            raise ConfigError(f"{dataset} is neither an exported dataset (train/metadata.jsonl; run molmo-agent "
                              "export) nor MolmoWebMix parquet files")
        if not found:
            raise ConfigError(f"{dataset} has no training examples")
        rows += _weighted(found, weight)
    return rows


ENCODED_BUDGET = 2 * 2**30
"""Bytes of processed images kept with the examples; a larger dataset's images are processed batch by batch."""


def _encode(processor, prompt_of: Callable[[str], str], row: dict) -> dict:
    """Token ids and labels for one example: -100 on the prompt and the image, the answer learned. `inputs` is
    the processor's whole output for the example (its image processed once, not at every step)."""
    import torch

    image = row["image"].convert("RGB")
    prompt = prompt_of(row["prompt"])
    full = prompt + " " + row["answer"] + processor.tokenizer.eos_token
    inputs = dict(processor(images=[[image]], text=[full], return_tensors="pt"))
    prompt_len = processor(images=[[image]], text=[prompt], return_tensors="pt")["input_ids"].shape[1]
    labels = inputs["input_ids"].clone()
    labels[:, :prompt_len] = -100
    causal = molmoweb.speaks(row["prompt"])  # trained as it will be asked (models.loading.MolmoModel.inputs)
    if causal and "mm_token_type_ids" in inputs:
        inputs["mm_token_type_ids"] = torch.zeros_like(inputs["mm_token_type_ids"])
    return {"image": image, "text": full, "labels": labels[0], "inputs": inputs, "causal": causal}


def _keep_processed(examples: list[dict]) -> None:
    """Keep each example's processed image when all of them fit in ENCODED_BUDGET (a few hundred screenshots of
    a tiny model, say), so that a step only pads and stacks; otherwise drop them and process per batch."""
    size = sum(v.element_size() * v.nelement() for e in examples for v in e["inputs"].values())
    if size > ENCODED_BUDGET:
        for e in examples:
            del e["inputs"]


class _Collator:
    """One batch as tensors, labels -100 wherever the answer is not. Molmo2's image-token pooling indices point
    into the batch's patches, so each example's are offset by the patches before it; examples without their
    processed image are processed together, which offsets them the same way."""

    STACKED = ("pixel_values", "image_grids", "image_num_crops")

    def __init__(self, processor) -> None:
        self.processor = processor
        # What each per-token tensor is padded with on the right, as the processor pads a batch.
        self.pad = {"input_ids": processor.tokenizer.pad_token_id, "attention_mask": 0, "mm_token_type_ids": 0}

    def __call__(self, examples: list[dict]) -> dict:
        import torch

        if all("inputs" in e for e in examples):
            inputs = self._join([e["inputs"] for e in examples])
        else:
            self.processor.tokenizer.padding_side = "right"
            inputs = dict(self.processor(images=[[e["image"]] for e in examples], text=[e["text"] for e in examples],
                                         padding=True, return_tensors="pt"))
            if "mm_token_type_ids" in inputs:  # the key stays for training; MolmoWeb rows' are zeros
                inputs["mm_token_type_ids"][torch.tensor([e["causal"] for e in examples])] = 0
        labels = torch.full_like(inputs["input_ids"], -100)
        for row, e in enumerate(examples):
            labels[row, : len(e["labels"])] = e["labels"]
        inputs["labels"] = labels
        return inputs

    def _join(self, each: list[dict]) -> dict:
        import torch

        length = max(e["input_ids"].shape[1] for e in each)
        joined = {}
        for key, value in self.pad.items():
            joined[key] = torch.cat([torch.nn.functional.pad(e[key], (0, length - e[key].shape[1]), value=value)
                                     for e in each])
        pooling, offset = [], 0
        for e in each:
            shifted = e["image_token_pooling"].clone()
            shifted[shifted >= 0] += offset
            pooling.append(shifted)
            offset += e["pixel_values"].shape[0] * e["pixel_values"].shape[1]
        joined["image_token_pooling"] = torch.cat(pooling)
        joined.update({key: torch.cat([e[key] for e in each]) for key in self.STACKED})
        return joined


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


def _load(base: str | Path | tuple, dtype):
    if isinstance(base, tuple):
        return base
    from transformers import AutoModelForImageTextToText, AutoProcessor

    try:
        processor = AutoProcessor.from_pretrained(str(base))
        model = AutoModelForImageTextToText.from_pretrained(str(base), dtype=dtype)
    except OSError as exc:
        raise ConfigError(f"cannot load the base model {base}: {str(exc).splitlines()[0]}") from None
    return model, processor


def _prepare(model, config: TrainConfig):
    if config.activation_checkpointing:  # named gradient_checkpointing_enable before transformers 5.24
        (getattr(model, "activation_checkpointing_enable", None) or model.gradient_checkpointing_enable)()
        model.config.use_cache = False
    if config.lora:
        from peft import LoraConfig, get_peft_model

        model = get_peft_model(model, LoraConfig(r=config.lora_rank, lora_alpha=2 * config.lora_rank,
                                                 target_modules=LORA_TARGETS, lora_dropout=0.0))
    return model


def _arguments(config: TrainConfig, out: Path, *, cuda: bool, save: bool):
    from transformers import TrainingArguments

    fsdp = {}
    if config.fsdp:
        fsdp = {"fsdp": True,  # FSDP2, one unit per decoder layer
                "fsdp_config": {"transformer_layer_cls_to_wrap": ["Molmo2DecoderLayer", "Molmo2VisionEncoderLayer"],
                                "activation_checkpointing": config.activation_checkpointing}}
    return TrainingArguments(
        output_dir=str(out), max_steps=config.steps, per_device_train_batch_size=config.batch_size,
        gradient_accumulation_steps=config.grad_accum, warmup_steps=config.warmup_steps,
        lr_scheduler_type="cosine_with_min_lr", lr_scheduler_kwargs={"min_lr_rate": MIN_LR_RATE},
        weight_decay=0.0, max_grad_norm=1.0, seed=config.seed, bf16=cuda, use_cpu=not cuda,
        ddp_find_unused_parameters=False,  # every weight takes part in each step: no extra graph walk
        save_strategy="steps" if save else "no", save_steps=config.save_every, logging_steps=1, report_to=config.report_to or "none",
        remove_unused_columns=False, disable_tqdm=True, log_level="warning", log_level_replica="error",
        # On a GPU, worker processes prepare the next batches' images while a step runs; on a small CPU they
        # would only take the cores from the step.
        dataloader_num_workers=2 if cuda else 0, dataloader_pin_memory=cuda, **fsdp)


def _trainer_class():
    import torch
    from transformers import Trainer, TrainerCallback

    class GroupRateTrainer(Trainer):
        """Trainer with one learning rate per part of the model (the schedule scales each group's own)."""

        def __init__(self, *args, train_config: TrainConfig, **kwargs):
            self.train_config = train_config
            super().__init__(*args, **kwargs)

        def create_optimizer(self, model=None):
            if self.optimizer is None:
                self.optimizer = torch.optim.AdamW(_param_groups(model or self.model, self.train_config),
                                                   weight_decay=0.0)
            return self.optimizer

    class StepReporter(TrainerCallback):
        def __init__(self, on_step: Callable[[int, float], None]) -> None:
            self.on_step = on_step

        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "loss" in logs:
                self.on_step(state.global_step, float(logs["loss"]))

    return GroupRateTrainer, StepReporter


@contextlib.contextmanager
def _old_name_quiet():
    """peft and Trainer still ask for `is_gradient_checkpointing`, which transformers 5.24 renamed (a warning
    the user can do nothing about)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*deprecated")
        yield


def train(dataset: str | Path | list[str | Path], base: str | Path | tuple, out: str | Path | None,
          config: TrainConfig | None = None, *,
          resume: bool = False, on_step: Callable[[int, float], None] | None = None) -> TrainResult:
    """Fine-tune `base` (a checkpoint, or a (model, processor) pair built in memory) and write it to `out`
    (None writes nothing: for speed benchmarks). Under `torchrun`, every process calls this; they train as
    one (data-parallel), only the main process writes `out`, and all return together once it is written, with
    their process group ended: one training per launch."""
    import torch
    from transformers.trainer_callback import PrinterCallback

    from ..models.loading import MolmoModel

    config = config or TrainConfig()
    datasets = dataset if isinstance(dataset, list) else [dataset]
    out = Path(out) if out is not None else None
    cuda = config.device != "cpu" and torch.cuda.is_available()
    if config.device and config.device.startswith("cuda") and not cuda:
        raise ConfigError(f"--device {config.device}: no CUDA device here; use --device cpu")
    if config.fsdp and config.lora:
        raise ConfigError("--fsdp with --lora is not supported yet: LoRA's adapters are small enough for DDP")
    rows = _load_rows(datasets)
    checkpoint = _latest_checkpoint(out) if resume and out else None
    model, processor = _load(base, torch.bfloat16 if cuda else torch.float32)
    with _old_name_quiet():
        model = _prepare(model, config)
    prompt_of = MolmoModel.prompt_with(processor)
    examples = [_encode(processor, prompt_of, row) for row in rows]
    _keep_processed(examples)
    GroupRateTrainer, StepReporter = _trainer_class()
    with tempfile.TemporaryDirectory(prefix="molmo-agent-train-") as scratch, _old_name_quiet():
        args = _arguments(config, out or Path(scratch), cuda=cuda, save=out is not None)
        trainer = GroupRateTrainer(model=model, args=args, train_dataset=examples, data_collator=_Collator(processor),
                                   processing_class=processor, train_config=config,
                                   callbacks=[StepReporter(on_step)] if on_step else None)
        trainer.remove_callback(PrinterCallback)  # it prints every log line; callers show progress their way
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        started = time.perf_counter()
        trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
        seconds = time.perf_counter() - started
    losses = [(log["step"], log["loss"]) for log in trainer.state.log_history if "loss" in log]
    trained = trainer.state.global_step - (int(checkpoint.name.split("-")[1]) if checkpoint else 0)
    world = trainer.args.world_size
    peak = torch.cuda.max_memory_allocated() / 2**30 if cuda else None
    result = TrainResult(out=out, steps=trainer.state.global_step, final_loss=losses[-1][1] if losses else float("nan"),
                         examples=len(examples), seconds=round(seconds, 2), processes=world,
                         peak_gpu_gib=round(peak, 1) if peak else None,
                         examples_per_second=round(trained * config.batch_size * config.grad_accum * world / seconds, 2)
                         if seconds else 0.0)
    fingerprints = _replica_fingerprints(trainer.model)
    if out is not None and trainer.is_world_process_zero():
        _save_merged(trainer, processor, out, config)
        for old in out.glob("checkpoint-*"):
            shutil.rmtree(old)
        record = {**result.model_dump(mode="json"), "config": config.model_dump(), "base": str(base),
                  "datasets": [str(d) for d in datasets], "losses": losses,
                  "replica_fingerprints": fingerprints,
                  "replicas_agree": None if config.fsdp else len(set(fingerprints)) == 1}
        (out / "training.json").write_text(json.dumps(record, indent=2) + "\n")
    _end_process_group()
    return result


def _end_process_group() -> None:
    """Under torchrun, every process waits here until the main one has written the model; then their group ends.

    The wait goes through the group's key-value store, not a Gloo collective: a process that leaves right after a
    collective can abort at interpreter shutdown (SIGABRT, "terminate called without an active exception"): a Gloo
    worker thread still holds the collective's tensors, and releasing them takes the GIL of an interpreter that is
    finalizing (see pytorch/pytorch#190489). Measured on 2 CPU processes (`benchmarks/torchrun_exit.py`): 5 of
    120 runs aborted after a Gloo barrier, none of 140 with the store."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return
    store = _store()
    store.set(f"done/{dist.get_rank()}", "1")
    store.wait([f"done/{rank}" for rank in range(dist.get_world_size())])
    dist.destroy_process_group()


def _store():
    """The key-value store the processes' group was built on (torchrun's), under this module's own prefix."""
    import torch.distributed as dist
    from torch.distributed.distributed_c10d import _get_default_store

    return dist.PrefixStore("molmo-agent/train/", _get_default_store())


def _replica_fingerprints(model) -> list[str]:
    """A digest of this process's weights, from every process (through the store, see `_end_process_group`):
    data-parallel replicas that agree give one value (FSDP shards give one each, so they are not compared)."""
    import torch
    import torch.distributed as dist

    with torch.no_grad():
        sums = torch.stack([p.detach().double().sum() for p in model.parameters()]).cpu()
    mine = hashlib.sha256(sums.numpy().tobytes()).hexdigest()[:16]
    if not (dist.is_available() and dist.is_initialized()):
        return [mine]
    store = _store()
    store.set(f"fingerprint/{dist.get_rank()}", mine)
    return [store.get(f"fingerprint/{rank}").decode() for rank in range(dist.get_world_size())]


def _save_merged(trainer, processor, folder: Path, config: TrainConfig) -> None:
    """The trained weights as one plain checkpoint (LoRA merged in) beside the processor."""
    if config.fsdp:
        trainer.save_model(str(folder))  # gathers the shards into full weights
    else:
        model = trainer.accelerator.unwrap_model(trainer.model)
        (model.merge_and_unload() if config.lora else model).save_pretrained(folder)
    processor.save_pretrained(folder)
