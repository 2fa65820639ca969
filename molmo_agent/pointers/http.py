"""`http` pointer: a Molmo served over HTTP: any OpenAI-compatible endpoint (vLLM, SGLang, `serve`), or
MolmoWeb's own server (`--api molmoweb`)."""

from __future__ import annotations

import io

from PIL import Image

from ..errors import ConfigError
from ..models.endpoint import make_endpoint
from ..observation import Observation
from .base import PointerAnswer
from .prompts import PROMPTS, model_family, prompt_for, read_points, viewport_image


def sendable(observation: Observation) -> tuple[Image.Image | bytes, tuple[int, int]]:
    """The screenshot as sent (RGB at CSS size; the PNG as taken when it already is), and its size."""
    image = Image.open(io.BytesIO(observation.screenshot))
    if image.mode == "RGB" and image.size == tuple(observation.viewport):
        return observation.screenshot, image.size
    image = viewport_image(observation)
    return image, image.size


MAX_TOKENS = 64  # a point answer is about 20 tokens; a label or a click JSON may add some


class HttpPointer:
    name = "http"
    needs_elements = False

    def __init__(self, endpoint: str, model: str, *, api_key: str | None = None, timeout_s: float = 60.0,
                 retries: int = 3, family: str | None = None, api: str = "openai", max_tokens: int = MAX_TOKENS) -> None:
        self.model = make_endpoint(api, endpoint, model, api_key=api_key, timeout_s=timeout_s, retries=retries)
        self.max_tokens = max_tokens
        self.family = family or model_family(model)
        if self.family not in PROMPTS:
            raise ConfigError(f"unknown model family {self.family!r}; use one of {', '.join(PROMPTS)}")

    def describe(self) -> dict:
        return {"name": self.name, **self.model.describe(), "family": self.family}

    def locate(self, target: str, observation: Observation, *, field: bool = False) -> PointerAnswer:
        image, size = sendable(observation)
        [text] = self.model.generate([image], [prompt_for(target, self.family, field=field)],
                                     max_new_tokens=self.max_tokens)
        return PointerAnswer(raw=text, points=read_points(text, target), image_size=size)
