"""`http` pointer: a Molmo served behind any OpenAI-compatible endpoint (vLLM, SGLang, `serve`)."""

from __future__ import annotations

import base64
import io

from PIL import Image

from ..errors import ConfigError
from ..models.endpoint import ChatEndpoint, png_data_url
from ..observation import Observation
from ..points import parse_points
from .base import PointerAnswer
from .prompts import PROMPTS, model_family, prompt_for, viewport_image


def image_data_url(observation: Observation) -> tuple[str, tuple[int, int]]:
    """The screenshot as an RGB PNG data URL at CSS size (as taken when it already is), and the size sent."""
    image = Image.open(io.BytesIO(observation.screenshot))
    if image.mode == "RGB" and image.size == tuple(observation.viewport):
        return "data:image/png;base64," + base64.b64encode(observation.screenshot).decode(), image.size
    image = viewport_image(observation)
    return png_data_url(image), image.size


MAX_TOKENS = 64  # a point answer is about 20 tokens; a label may add some


class HttpPointer:
    name = "http"
    needs_elements = False

    def __init__(self, endpoint: str, model: str, *, api_key: str | None = None, timeout_s: float = 60.0,
                 retries: int = 3, family: str | None = None, max_tokens: int = MAX_TOKENS) -> None:
        self.chat = ChatEndpoint(endpoint, model, api_key=api_key, timeout_s=timeout_s, retries=retries)
        self.max_tokens = max_tokens
        self.family = family or model_family(model)
        if self.family not in PROMPTS:
            raise ConfigError(f"unknown model family {self.family!r}; use one of {', '.join(PROMPTS)}")

    def describe(self) -> dict:
        return {"name": self.name, **self.chat.describe(), "family": self.family}

    def locate(self, target: str, observation: Observation, *, field: bool = False) -> PointerAnswer:
        url, size = image_data_url(observation)
        text = self.chat.ask(url, prompt_for(target, self.family, field=field), max_tokens=self.max_tokens)
        return PointerAnswer(raw=text, points=parse_points(text), image_size=size)
