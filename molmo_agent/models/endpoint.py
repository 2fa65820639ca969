"""A model behind HTTP: an OpenAI-compatible chat endpoint (vLLM, SGLang, `serve`, a hosted API), or
MolmoWeb's own model server (`POST /predict`).

Either has `generate` like the in-process `MolmoModel`, so a policy or a pointer runs on any of them.
Dropped connections, 5xx answers and MolmoWeb's "Predictor error:" answers are retried; a 4xx is not.
"""

from __future__ import annotations

import base64
import io
import re
from concurrent.futures import ThreadPoolExecutor

import httpx
from PIL import Image
from tenacity import retry, retry_if_exception, stop_after_attempt, wait_exponential

from ..errors import ConfigError, PointerError

APIS = ("openai", "molmoweb")


class _Retryable(Exception):
    """A dropped connection, a 5xx or a predictor error: worth another try."""

    def __init__(self, message: str, text: str | None = None) -> None:
        super().__init__(message)
        self.text = text


def png_bytes(image: Image.Image | bytes) -> bytes:
    """The image as PNG; PNG bytes (a screenshot already fit to send) pass through unencoded."""
    if isinstance(image, bytes):
        return image
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def png_data_url(image: Image.Image | bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png_bytes(image)).decode()


class _Endpoint:
    """The HTTP side both APIs share: one client, retries, failures as `PointerError`s."""

    api = ""

    def __init__(self, endpoint: str, model: str, *, api_key: str | None = None, timeout_s: float = 60.0,
                 retries: int = 3, option: str = "--endpoint") -> None:
        if not endpoint.startswith(("http://", "https://")):
            raise ConfigError(f"{option} {endpoint!r} must be an http(s) URL such as {self.example}")
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
        return {"endpoint": self.endpoint, "model": self.model, "api": self.api}

    def _request(self, path: str, body: dict):
        try:
            return self._post(path, body)
        except _Retryable as exc:
            raise PointerError(f"{self.endpoint} kept failing: {exc}", exc.text) from None
        except httpx.TransportError as exc:
            raise PointerError(f"cannot reach {self.endpoint}: {exc!s} ({type(exc).__name__})") from None

    def _post_once(self, path: str, body: dict):
        response = self._client.post(f"{self.endpoint}{path}", json=body)
        if response.status_code >= 500:
            raise _Retryable(f"HTTP {response.status_code}: {response.text[:200]}", response.text)
        if response.status_code >= 400:
            raise PointerError(f"{self.endpoint} refused the request: HTTP {response.status_code}: {response.text[:200]}")
        try:
            data = response.json()
        except ValueError:
            raise PointerError(f"{self.endpoint} answered with something that is not JSON", response.text) from None
        return self._check(data)

    def _check(self, data):
        return data

    def ask(self, image: Image.Image, text: str, *, max_new_tokens: int, temperature: float = 0.0,
            top_p: float = 1.0, **context) -> str:
        raise NotImplementedError

    def generate(self, images: list[Image.Image], prompts: list[str], *, max_new_tokens: int = 48,
                 temperature: float = 0.0, top_p: float = 1.0, **context) -> list[str]:
        """One answer per (image, prompt) pair; the requests go out together for the server to batch."""
        def one(pair):
            return self.ask(pair[0], pair[1], max_new_tokens=max_new_tokens, temperature=temperature,
                            top_p=top_p, **context)

        if len(images) == 1:
            return [one((images[0], prompts[0]))]
        with ThreadPoolExecutor(min(len(images), 32)) as pool:
            return list(pool.map(one, zip(images, prompts)))


class ChatEndpoint(_Endpoint):
    """OpenAI-compatible: one user message holding the screenshot (a PNG data URL) and the text."""

    api = "openai"
    example = "http://host:8000/v1"
    adapted: str | None = None
    """Set once a reasoning model refused our sampling fields: what is sent instead."""

    def ask(self, image: Image.Image, text: str, *, max_new_tokens: int, temperature: float = 0.0,
            top_p: float = 1.0, **context) -> str:
        return self.chat([{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": png_data_url(image)}},
            {"type": "text", "text": text},
        ]}], max_new_tokens=max_new_tokens, temperature=temperature, top_p=top_p)

    def chat(self, messages: list[dict], *, max_new_tokens: int, temperature: float = 0.0, top_p: float = 1.0) -> str:
        """The answer to a whole conversation (a judge sends a system message and many images). A reasoning
        model that refuses `max_tokens` or a temperature (OpenAI's o-series, gpt-5) is asked again, and from
        then on, with `max_completion_tokens` and its own sampling; `adapted` says so once."""
        sampling = {"temperature": temperature, "top_p": top_p, "max_tokens": max_new_tokens}
        if self.adapted:
            sampling = {"max_completion_tokens": max_new_tokens}
        try:
            data = self._request("/chat/completions", {"model": self.model, **sampling, "messages": messages})
        except PointerError as exc:
            if self.adapted or not REFUSES_SAMPLING.search(str(exc)):
                raise
            self.adapted = (f"{self.model} refuses max_tokens or temperature (a reasoning model): asked with "
                            "max_completion_tokens and its own sampling instead")
            return self.chat(messages, max_new_tokens=max_new_tokens)
        try:
            answer = data["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise PointerError(f"{self.endpoint} answered without choices[0].message.content") from None
        if not isinstance(answer, str):
            raise PointerError(f"{self.endpoint} answered with non-text content")
        return answer


REFUSES_SAMPLING = re.compile(r"HTTP 400.*(max_tokens|temperature|top_p).*(not supported|unsupported|only the default)"
                              r"|HTTP 400.*(unsupported|not supported).*(max_tokens|temperature|top_p)", re.I | re.S)
"""How OpenAI's API refuses `max_tokens` or a temperature for a reasoning model ("Unsupported parameter:
'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.")."""


PREDICTOR_ERROR = "Predictor error:"


class PredictEndpoint(_Endpoint):
    """MolmoWeb's own model server: `POST /predict` with the prompt, the PNG in base64, the steps so far
    (`past_actions`, each {"thought", "action"}) and the sampling; the answer is a JSON string."""

    api = "molmoweb"
    example = "http://host:8001"

    def ask(self, image: Image.Image, text: str, *, max_new_tokens: int, temperature: float = 0.0,
            top_p: float = 1.0, past_actions: list[dict] | None = None, **context) -> str:
        # MolmoWeb's server decides the token budget itself; max_new_tokens has no field in its API.
        body = {"prompt": text, "image_base64": base64.b64encode(png_bytes(image)).decode(),
                "past_actions": past_actions or [], "temperature": temperature, "top_p": top_p}
        answer = self._request("/predict", body)
        if answer is None:
            return ""  # the server's predictor produced no text: an unreadable answer, not a transport error
        if not isinstance(answer, str):
            raise PointerError(f"{self.endpoint}/predict answered with {type(answer).__name__}, not a JSON string")
        return answer

    def _check(self, data):
        if isinstance(data, str) and data.startswith(PREDICTOR_ERROR):
            raise _Retryable(data[:200], data)
        return data


def make_endpoint(api: str, endpoint: str, model: str, **options) -> _Endpoint:
    if api not in APIS:
        raise ConfigError(f"--api {api!r} is not one of {', '.join(APIS)}")
    return (ChatEndpoint if api == "openai" else PredictEndpoint)(endpoint, model, **options)
