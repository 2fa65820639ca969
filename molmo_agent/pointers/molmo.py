"""`molmo` pointer: a Molmo2-family checkpoint in this process (a local folder or a hub id)."""

from __future__ import annotations

from ..errors import ConfigError
from ..observation import Observation
from .base import PointerAnswer
from .prompts import model_family, prompt_for, read_points, viewport_image

FAMILIES = ("molmo2", "molmoweb")


class MolmoPointer:
    name = "molmo"
    needs_elements = False

    def __init__(self, model: str, *, family: str | None = None) -> None:
        self.family = family or ("molmoweb" if model_family(model) == "molmoweb" else "molmo2")
        if self.family not in FAMILIES:
            raise ConfigError(f"--family {self.family!r}: a checkpoint in this process is one of {', '.join(FAMILIES)}")
        from ..models.loading import load_model

        self.model = load_model(model)

    def describe(self) -> dict:
        return {"name": self.name, "model": self.model.path, "device": self.model.device, "family": self.family}

    def locate(self, target: str, observation: Observation, *, field: bool = False) -> PointerAnswer:
        image = viewport_image(observation)
        [text] = self.model.generate([image], [prompt_for(target, self.family, field=field)], max_new_tokens=64)
        return PointerAnswer(raw=text, points=read_points(text, target), image_size=image.size)
