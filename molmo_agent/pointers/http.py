"""`http` pointer: a Molmo served behind any OpenAI-compatible endpoint (vLLM, SGLang, `serve`)."""

from __future__ import annotations

import base64
import io

import httpx
from PIL import Image
from tenacity import retry, retry_if_exception, stop_after_attempt, wait_exponential

from ..errors import ConfigError, PointerError
from ..observation import Observation
from ..points import parse_points
from .base import PointerAnswer
from .prompts import PROMPTS, model_family, prompt_for, viewport_image

def image_data_url(observation: Observation) -> tuple[str, tuple[int, int]]:
    """The screenshot as an RGB PNG data URL at CSS size, and the size sent."""
    png = observation.screenshot
    image = Image.open(io.BytesIO(png))
    if image.mode != "RGB" or image.size != tuple(observation.viewport):
        image = viewport_image(observation)
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        png = buffer.getvalue()
    return "data:image/png;base64," + base64.b64encode(png).decode(), image.size  # as taken when it can be


MAX_TOKENS = 64  # a point answer is about 20 tokens; a label may add some


class _Retryable(Exception):
    """A dropped connection or a 5xx: worth another try."""


class HttpPointer:
    name = "http"
    needs_elements = False

    def __init__(
        self,
        endpoint: str,
        model: str,
        *,
        api_key: str | None = None,
        timeout_s: float = 60.0,
        retries: int = 3,
        family: str | None = None,
    ) -> None:
        if not endpoint.startswith(("http://", "https://")):
            raise ConfigError(f"--endpoint {endpoint!r} must be an http(s) URL such as http://host:8000/v1")
        self.endpoint = endpoint.rstrip("/")
        self.model = model
        self.family = family or model_family(model)
        if self.family not in PROMPTS:
            raise ConfigError(f"unknown model family {self.family!r}; use one of {', '.join(PROMPTS)}")
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(timeout=timeout_s, headers=headers)
        self._post = retry(
            retry=retry_if_exception(lambda e: isinstance(e, (_Retryable, httpx.TransportError))),
            stop=stop_after_attempt(retries + 1),
            wait=wait_exponential(multiplier=0.2, max=2.0),
            reraise=True,
        )(self._post_once)

    def describe(self) -> dict:
        return {"name": self.name, "endpoint": self.endpoint, "model": self.model, "family": self.family}

    def locate(self, target: str, observation: Observation, *, field: bool = False) -> PointerAnswer:
        url, size = image_data_url(observation)
        body = {
            "model": self.model,
            "temperature": 0,
            "max_tokens": MAX_TOKENS,
            "messages": [{"role": "user", "content": [
                {"type": "image_url", "image_url": {"url": url}},
                {"type": "text", "text": prompt_for(target, self.family, field=field)},
            ]}],
        }
        try:
            data = self._post(body)
        except _Retryable as exc:
            raise PointerError(f"{self.endpoint} kept failing: {exc}") from None
        except httpx.TransportError as exc:
            raise PointerError(f"cannot reach {self.endpoint}: {exc!s} ({type(exc).__name__})") from None
        try:
            text = data["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise PointerError(f"{self.endpoint} answered without choices[0].message.content") from None
        if not isinstance(text, str):
            raise PointerError(f"{self.endpoint} answered with non-text content")
        return PointerAnswer(raw=text, points=parse_points(text), image_size=size)

    def _post_once(self, body: dict) -> dict:
        response = self._client.post(f"{self.endpoint}/chat/completions", json=body)
        if response.status_code >= 500:
            raise _Retryable(f"HTTP {response.status_code}: {response.text[:200]}")
        if response.status_code >= 400:
            raise PointerError(f"{self.endpoint} refused the request: HTTP {response.status_code}: {response.text[:200]}")
        try:
            return response.json()
        except ValueError:
            raise PointerError(f"{self.endpoint} answered with something that is not JSON") from None
