"""A model behind an OpenAI-compatible chat endpoint (vLLM, SGLang, `serve`, a hosted API).

Each request is one user message holding one screenshot and one text; the answer is the message text.
It has `generate` like the in-process `MolmoModel`, so a policy runs on either.
"""

from __future__ import annotations

import base64
import io
from concurrent.futures import ThreadPoolExecutor

import httpx
from PIL import Image
from tenacity import retry, retry_if_exception, stop_after_attempt, wait_exponential

from ..errors import ConfigError, PointerError


class _Retryable(Exception):
    """A dropped connection or a 5xx: worth another try."""


def png_data_url(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


class ChatEndpoint:
    def __init__(self, endpoint: str, model: str, *, api_key: str | None = None, timeout_s: float = 60.0,
                 retries: int = 3, option: str = "--endpoint") -> None:
        if not endpoint.startswith(("http://", "https://")):
            raise ConfigError(f"{option} {endpoint!r} must be an http(s) URL such as http://host:8000/v1")
        self.endpoint = endpoint.rstrip("/")
        self.model = model
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(timeout=timeout_s, headers=headers)
        self._post = retry(
            retry=retry_if_exception(lambda e: isinstance(e, (_Retryable, httpx.TransportError))),
            stop=stop_after_attempt(retries + 1),
            wait=wait_exponential(multiplier=0.2, max=2.0),
            reraise=True,
        )(self._post_once)

    def describe(self) -> dict:
        return {"endpoint": self.endpoint, "model": self.model}

    def ask(self, image_url: str, text: str, *, max_tokens: int) -> str:
        """The model's answer to one screenshot (a data URL) and one text. Failures are `PointerError`s."""
        body = {
            "model": self.model,
            "temperature": 0,
            "max_tokens": max_tokens,
            "messages": [{"role": "user", "content": [
                {"type": "image_url", "image_url": {"url": image_url}},
                {"type": "text", "text": text},
            ]}],
        }
        try:
            data = self._post(body)
        except _Retryable as exc:
            raise PointerError(f"{self.endpoint} kept failing: {exc}") from None
        except httpx.TransportError as exc:
            raise PointerError(f"cannot reach {self.endpoint}: {exc!s} ({type(exc).__name__})") from None
        try:
            answer = data["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise PointerError(f"{self.endpoint} answered without choices[0].message.content") from None
        if not isinstance(answer, str):
            raise PointerError(f"{self.endpoint} answered with non-text content")
        return answer

    def generate(self, images: list[Image.Image], prompts: list[str], *, max_new_tokens: int = 48) -> list[str]:
        """One answer per (image, prompt) pair; the requests go out together for the server to batch."""
        def one(pair):
            return self.ask(png_data_url(pair[0]), pair[1], max_tokens=max_new_tokens)

        if len(images) == 1:
            return [one((images[0], prompts[0]))]
        with ThreadPoolExecutor(min(len(images), 32)) as pool:
            return list(pool.map(one, zip(images, prompts)))

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
