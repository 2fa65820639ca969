"""The judge's side of the wire: any OpenAI-compatible vision chat model, asked at temperature 0."""

from __future__ import annotations

import base64
import io
from pathlib import Path

from PIL import Image

from ..errors import ConfigError, MolmoAgentError
from ..models.endpoint import ChatEndpoint, png_data_url
from ..trace import Trace
from .evidence import Screenshot
from .records import JudgeCall, Judgment

METHODS = ("webvoyager", "webjudge")
ANSWER_TOKENS = 2048


class Judge:
    method = ""
    jpeg = False
    """Screenshots as JPEG data URLs with `detail: high`, as Online-Mind2Web's judge sends them; else PNG."""

    def __init__(self, endpoint: str, model: str, *, api_key: str | None = None, timeout_s: float = 300.0) -> None:
        self.client = ChatEndpoint(endpoint, model, api_key=api_key, timeout_s=timeout_s, option="--judge")

    def judge(self, trace: Trace) -> Judgment:
        raise NotImplementedError

    def _judgment(self, verdict: str, calls: list[JudgeCall], **extra) -> Judgment:
        return Judgment(method=self.method, model=self.client.model, endpoint=self.client.endpoint, verdict=verdict,
                        calls=calls, **extra)

    def ask(self, run_dir: Path, stage: str, system: str, parts: list[str | Screenshot]) -> JudgeCall:
        """One call: `parts` are text and screenshots in the order the model reads them."""
        content, text, images = [], [], []
        for part in parts:
            if isinstance(part, Screenshot):
                content.append({"type": "image_url", "image_url": self._image((run_dir / part.path).read_bytes())})
                text.append(f"[image: {part.path}]")
                images.append(part.path)
            else:
                content.append({"type": "text", "text": part})
                text.append(part)
        call = JudgeCall(stage=stage, system=system, text="\n".join(text), images=images)
        messages = [{"role": "system", "content": system}, {"role": "user", "content": content}]
        try:
            call.answer = self.client.chat(messages, max_new_tokens=ANSWER_TOKENS, temperature=0.0)
        except MolmoAgentError as exc:
            call.error = str(exc)
        except OSError as exc:  # a screenshot that is gone
            call.error = f"cannot read a screenshot: {exc}"
        return call


    def _image(self, png: bytes) -> dict:
        if not self.jpeg:
            return {"url": png_data_url(png)}
        jpeg = io.BytesIO()
        Image.open(io.BytesIO(png)).convert("RGB").save(jpeg, format="JPEG")
        return {"url": "data:image/jpeg;base64," + base64.b64encode(jpeg.getvalue()).decode(), "detail": "high"}


def make_judge(method: str, endpoint: str, model: str | None, *, api_key: str | None = None, **options) -> Judge:
    from .webjudge import WebJudge
    from .webvoyager import WebVoyagerJudge

    if method not in METHODS:
        raise ConfigError(f"--judge-method {method!r} is not one of {', '.join(METHODS)}")
    if not model:
        raise ConfigError("--judge-model is missing: name the model the --judge endpoint serves")
    return (WebVoyagerJudge if method == "webvoyager" else WebJudge)(endpoint, model, api_key=api_key, **options)
