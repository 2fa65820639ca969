"""Seconds per training step, examples per second and peak GPU memory of `train`, for LoRA and for full
fine-tuning with activation checkpointing, on a random Molmo2 (nothing to download).

    .venv/bin/python benchmarks/train_speed.py --shape tiny --steps 10       # CPU smoke run
    python benchmarks/train_speed.py --shape 8b --batch-size 4 --steps 12    # the real 8B shape, on a GPU

Examples are 1280x720 screenshots with a pointing prompt and a Molmo2 point answer, as `export` writes
them. The first --skip steps (allocation, kernel selection) are left out of the per-step time; with too few
steps to leave them out it refuses rather than print a figure that holds them. Each mode runs --rounds
times, the modes in alternating order; a figure is the median of the rounds with their spread.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import statistics
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageDraw

from molmo_agent.sft.export import point_text
from molmo_agent.sft.train import TrainConfig, train

WORDS = ["Search flights", "From", "To", "Depart", "Cabin", "Book MA 417", "First name", "Confirm booking"]


def synthetic_dataset(folder: Path, examples: int = 32) -> Path:
    """An exported-format dataset of screens with one labelled button each."""
    (folder / "train").mkdir(parents=True)
    rng = random.Random(0)
    rows = []
    for index in range(examples):
        image = Image.new("RGB", (1280, 720), "white")
        x, y, label = rng.randrange(40, 1100), rng.randrange(40, 660), rng.choice(WORDS)
        draw = ImageDraw.Draw(image)
        draw.rectangle([x, y, x + 140, y + 36], outline="black")
        draw.text((x + 10, y + 10), label, fill="black")
        image.save(folder / "train" / f"{index}.png")
        rows.append({"file_name": f"{index}.png", "prompt": f"Point to the {label}.",
                     "answer": point_text(x + 70, y + 18, (1280, 720), label)})
    (folder / "train" / "metadata.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder


def run(mode: str, data: Path, args) -> tuple[float, float | None, float]:
    """(seconds per steady step, peak GPU GiB, final loss) of one training run."""
    import torch

    from molmo_agent.models.random import random_molmo2

    device = "cuda" if torch.cuda.is_available() else "cpu"
    model, processor = random_molmo2(args.shape, text_layers=args.text_layers, device=device,
                                     dtype=torch.bfloat16 if device == "cuda" else torch.float32)
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    config = TrainConfig(steps=args.steps, batch_size=args.batch_size, lora=mode == "lora", lora_rank=16,
                         activation_checkpointing=mode == "full", warmup_steps=1)
    stamps: list[float] = []
    result = train(data, (model, processor), None, config, on_step=lambda step, loss: stamps.append(time.perf_counter()))
    steady = [b - a for a, b in zip(stamps[args.skip:], stamps[args.skip + 1:])]
    del model, processor
    gc.collect()
    if device == "cuda":
        torch.cuda.empty_cache()
    return statistics.median(steady), result.peak_gpu_gib, result.final_loss


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shape", default="tiny", choices=["tiny", "8b"])
    parser.add_argument("--text-layers", type=int)
    parser.add_argument("--modes", default="lora,full", help="lora (r=16 on the language model), full "
                        "(all weights, activation checkpointing)")
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--skip", type=int, default=2, help="first steps left out of the timing")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2, help="repeats of each mode, modes alternating")
    args = parser.parse_args()
    if args.steps < args.skip + 2:
        parser.error(f"--steps {args.steps} leaves no steady step after the {args.skip} skipped (warm-up): "
                     f"use --steps {args.skip + 2} or more")
    import torch

    device = torch.cuda.get_device_name() if torch.cuda.is_available() else "CPU"
    print(f"random Molmo2 ({args.shape}) on {device}: batches of {args.batch_size} examples, {args.steps} steps")
    with tempfile.TemporaryDirectory() as tmp:
        data = synthetic_dataset(Path(tmp) / "data")
        modes = args.modes.split(",")
        measured: dict[str, list] = {mode: [] for mode in modes}
        for number in range(args.rounds):
            for mode in (modes if number % 2 == 0 else list(reversed(modes))):
                measured[mode].append(run(mode, data, args))
        for mode, runs in measured.items():
            per_step = [r[0] for r in runs]
            median = statistics.median(per_step)
            memory = f", peak {max(r[1] for r in runs)} GiB" if runs[0][1] else ""
            print(f"{mode:>4}: {median:.3f} s/step [{min(per_step):.3f} - {max(per_step):.3f} over {len(runs)} rounds], "
                  f"{args.batch_size / median:.1f} examples/s{memory} (loss {runs[-1][2]:.3f})")


if __name__ == "__main__":
    main()
