"""How a trained model does on an exported split: how often its point lands inside the target element
(`hit_rate`), and which rows it does not answer as exported (`unreproduced`)."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image
from pydantic import BaseModel

from ..errors import ConfigError, PointParseError
from ..observation import Box
from ..points import parse_points, to_css


class HitRate(BaseModel):
    examples: int
    hits: int
    unparsed: int

    @property
    def rate(self) -> float:
        return self.hits / self.examples if self.examples else 0.0


def hit_rate(model, dataset: str | Path, *, split: str = "test", batch_size: int = 8) -> HitRate:
    """`model` is a `MolmoModel`; examples without a known target box are skipped."""
    from datasets import load_dataset

    folder = Path(dataset) / split
    if not (folder / "metadata.jsonl").is_file():
        raise ConfigError(f"{folder} is not an exported split")
    rows = [r for r in load_dataset("imagefolder", data_dir=str(dataset), split=split) if r.get("box")]
    hits = unparsed = 0
    for start in range(0, len(rows), batch_size):
        chunk = rows[start:start + batch_size]
        answers = model.generate([r["image"] for r in chunk], [r["prompt"] for r in chunk])
        for row, answer in zip(chunk, answers):
            try:
                point = parse_points(answer)[0]
            except PointParseError:
                unparsed += 1
                continue
            viewport = tuple(row["viewport"])
            x, y = to_css(point, image_size=viewport, viewport=viewport)
            hits += Box.model_validate(row["box"]).contains(x, y)
    return HitRate(examples=len(rows), hits=hits, unparsed=unparsed)


class Miss(BaseModel):
    dataset: str
    file_name: str
    step: int | None = None
    prompt: str
    expected: str
    answered: str


def unreproduced(model, datasets: list[str | Path], *, split: str = "train", batch_size: int = 8,
                 max_new_tokens: int = 96) -> list[Miss]:
    """The rows of `datasets` whose exported answer `model` does not give back word for word, greedily. None
    left means that a run which meets the recorded screens and prompts again is answered as it was recorded."""
    rows = []
    for dataset in map(Path, datasets):
        folder = dataset / split
        if not (folder / "metadata.jsonl").is_file():
            raise ConfigError(f"{folder} is not an exported split")
        rows += [(dataset, json.loads(line)) for line in (folder / "metadata.jsonl").read_text().splitlines()]
    missed = []
    for start in range(0, len(rows), batch_size):
        chunk = rows[start:start + batch_size]
        images = [Image.open(dataset / split / row["file_name"]).convert("RGB") for dataset, row in chunk]
        answers = model.generate(images, [row["prompt"] for _, row in chunk], max_new_tokens=max_new_tokens)
        missed += [Miss(dataset=str(dataset), file_name=row["file_name"], step=row.get("step"), prompt=row["prompt"],
                        expected=row["answer"], answered=answer)
                   for (dataset, row), answer in zip(chunk, answers) if answer != row["answer"]]
    return missed
