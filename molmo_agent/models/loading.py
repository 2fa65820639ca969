"""Loading a Molmo2-family checkpoint and generating from it, one image and prompt per request, batched."""

from __future__ import annotations

import functools
import json
import re
import threading
from pathlib import Path

from PIL import Image

from ..errors import ConfigError

VLLM_HINT = (
    "Molmo v1 checkpoints ({name}) run only on transformers 4.x; serve them with vLLM "
    "(vllm serve {name} --trust-remote-code) and use --pointer http --endpoint http://HOST:8000/v1 --model {name}"
)


def _require_ml():
    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError:
        raise ConfigError("the molmo pointer needs the ML extra: pip install 'molmo-agent[ml]' (or ./setup.sh --ml)") from None
    from transformers import AutoModelForImageTextToText, AutoProcessor

    return AutoModelForImageTextToText, AutoProcessor


def _check_family(path: str) -> None:
    """Refuse Molmo v1 checkpoints with the way to run them instead."""
    config_file = Path(path) / "config.json"
    if config_file.is_file():
        config = json.loads(config_file.read_text())
        v1 = config.get("model_type") == "molmo" or "MolmoForCausalLM" in config.get("architectures", [])
    else:  # a hub id, judged by its name
        v1 = re.match(r"molmoe?-", path.rsplit("/", 1)[-1].lower()) is not None
    if v1:
        raise ConfigError(VLLM_HINT.format(name=path))


def rgb(image: Image.Image) -> Image.Image:
    """Molmo wants RGB: composite transparency onto white."""
    if image.mode == "RGB":
        return image
    background = Image.new("RGB", image.size, "white")
    background.paste(image, mask=image.convert("RGBA").getchannel("A"))
    return background


class MolmoModel:
    """A Molmo2-family model in this process. `generate` is thread-safe and batches its inputs."""

    def __init__(self, path: str, *, device: str | None = None, dtype: str | None = None) -> None:
        model_cls, processor_cls = _require_ml()
        import torch

        _check_family(path)
        self.path = path
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.dtype = getattr(torch, dtype) if dtype else (torch.bfloat16 if self.device.startswith("cuda") else torch.float32)
        try:
            self.processor = processor_cls.from_pretrained(path)
            self.model = model_cls.from_pretrained(path, dtype=self.dtype).to(self.device).eval()
        except OSError as exc:
            raise ConfigError(f"cannot load a model from {path!r}: {str(exc).splitlines()[0]}") from None
        self._lock = threading.Lock()

    def describe(self) -> dict:
        return {"model": self.path, "device": self.device}

    @staticmethod
    def prompt_with(processor):
        """The model's chat format around one image and a text: the same at training and at inference."""

        def prompt(text: str) -> str:
            messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": text}]}]
            if getattr(processor, "chat_template", None):
                return processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
            return f"{processor.image_token}{text}"

        return prompt

    def prompt(self, text: str) -> str:
        return self.prompt_with(self.processor)(text)

    def generate(self, images: list[Image.Image], prompts: list[str], *, max_new_tokens: int = 48) -> list[str]:
        """One answer per (image, prompt) pair, generated as one batch, greedily."""
        import torch

        texts = [self.prompt(p) for p in prompts]
        with self._lock, torch.inference_mode():
            tokenizer = self.processor.tokenizer
            tokenizer.padding_side = "left"
            inputs = self.processor(images=[[rgb(i)] for i in images], text=texts, padding=True, return_tensors="pt")
            inputs = {k: v.to(self.device) if hasattr(v, "to") else v for k, v in inputs.items()}
            if "pixel_values" in inputs:
                inputs["pixel_values"] = inputs["pixel_values"].to(self.dtype)
            output = self.model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False,
                                         pad_token_id=tokenizer.pad_token_id)
        new = output[:, inputs["input_ids"].shape[1]:]
        return [tokenizer.decode(row, skip_special_tokens=True).strip() for row in new]


@functools.lru_cache(maxsize=4)
def load_model(path: str) -> MolmoModel:
    """One loaded copy per checkpoint in this process: a planner, a pointer and eval workers share it."""
    return MolmoModel(path)
