"""`molmo` pointer: a Molmo2-family checkpoint in this process (a local folder or a hub id)."""

from __future__ import annotations

from ..observation import Observation
from ..points import parse_points
from .base import PointerAnswer
from .prompts import prompt_for, viewport_image


class MolmoPointer:
    name = "molmo"
    needs_elements = False

    def __init__(self, model: str) -> None:
        from ..models.loading import load_model

        self.model = load_model(model)

    def describe(self) -> dict:
        return {"name": self.name, "model": self.model.path, "device": self.model.device}

    def locate(self, target: str, observation: Observation, *, field: bool = False) -> PointerAnswer:
        image = viewport_image(observation)
        [text] = self.model.generate([image], [prompt_for(target, "molmo2", field=field)])
        return PointerAnswer(raw=text, points=parse_points(text), image_size=image.size)
