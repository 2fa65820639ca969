"""How often a pointing model's point lands inside the target element, on an exported split."""

from __future__ import annotations

from pathlib import Path

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
