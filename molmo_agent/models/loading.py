"""Loading a Molmo2-family checkpoint and generating from it, one image and prompt per request, batched."""

from __future__ import annotations

import copy
import functools
import json
import os
import re
import warnings
from pathlib import Path

from PIL import Image

from ..errors import ConfigError
from ..protocols import molmoweb
from .batcher import Batcher

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


BATCH_SIZES = (1, 2, 4, 8, 16, 32)
"""On the fast path a batch is padded up to one of these, so each size is compiled once."""
CACHE_STEP = 512
"""The static cache's length is rounded up to a multiple of this: a prompt a few tokens longer than the
last (a planner's history grows every step) reuses the compiled graphs instead of recompiling them."""
WARM_UP_PROMPT = "Point to the input field labelled Frequent flyer number."
WARM_UP_NEW_TOKENS = 64


class MolmoModel:
    """A Molmo2-family model in this process. `generate` is thread-safe and batches what waits together.

    On a GPU it takes the fast path: a static KV cache, the decoding step compiled with torch.compile
    (CUDA graphs), batches padded to a few sizes; `warm_up` compiles before the first request.
    """

    def __init__(self, path: str, *, device: str | None = None, dtype: str | None = None,
                 fast: bool | None = None) -> None:
        model_cls, processor_cls = _require_ml()
        import torch

        _check_family(path)
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        dtype = getattr(torch, dtype) if dtype else (torch.bfloat16 if device.startswith("cuda") else torch.float32)
        try:
            processor = processor_cls.from_pretrained(path)
            model = model_cls.from_pretrained(path, dtype=dtype).to(device)
        except OSError as exc:
            raise ConfigError(f"cannot load a model from {path!r}: {str(exc).splitlines()[0]}") from None
        self._adopt(path, model, processor, fast)

    @classmethod
    def in_memory(cls, model, processor, *, name: str, fast: bool | None = None) -> "MolmoModel":
        """Wrap a model built in this process (a random one for benchmarks) without a checkpoint on disk."""
        wrapped = cls.__new__(cls)
        wrapped._adopt(name, model, processor, fast)
        return wrapped

    def _adopt(self, path: str, model, processor, fast: bool | None) -> None:
        self.path, self.model, self.processor = path, model.eval(), processor
        self.device, self.dtype = str(model.device), model.dtype
        self.batcher = Batcher(self._generate_batch, max_batch=BATCH_SIZES[-1], name="molmo-generate")
        if fast is None:
            fast = self.device.startswith("cuda") and os.environ.get("MOLMO_AGENT_FAST_PATH", "1") != "0"
        self.fast = fast
        # Our own copy: two wrappers of one model (a benchmark's plain and fast paths) must not share it.
        self.generation_config = copy.deepcopy(model.generation_config)
        self.generation_config.update(do_sample=False, pad_token_id=processor.tokenizer.pad_token_id)
        if self.fast:
            from transformers import CompileConfig

            compile_config = CompileConfig(dynamic=False)
            # transformers compiles only on accelerators unless told; this lets a CPU run the same path (tests)
            compile_config._compile_all_devices = True
            self.generation_config.cache_implementation = "static"
            self.generation_config.compile_config = compile_config
            import torch._dynamo

            # One graph per batch size and cache length: more than dynamo's default of 8 before it gives up.
            torch._dynamo.config.recompile_limit = max(torch._dynamo.config.recompile_limit, 64)

    def warm_up(self, max_batch: int = 1, viewport: tuple[int, int] = (1280, 720)) -> float:
        """Compile the fast path for every padded batch size up to `max_batch`, with the cache sized for a
        pointing request, so that no such request pays for compilation. Returns the seconds it took."""
        import time

        if not self.fast:
            return 0.0
        started = time.perf_counter()
        image = Image.new("RGB", viewport, "white")
        try:
            for size in BATCH_SIZES:
                self.generate([image] * size, [WARM_UP_PROMPT] * size, max_new_tokens=WARM_UP_NEW_TOKENS)
                if size >= max_batch:
                    break
        except Exception as exc:  # noqa: BLE001 - a compiler failure must not take the model down
            warnings.warn(f"the fast generation path failed to compile ({type(exc).__name__}: {exc}); "
                          "using the plain path (set MOLMO_AGENT_FAST_PATH=0 to skip trying)", stacklevel=2)
            self.fast = False
            self.generation_config.cache_implementation = None
            self.generation_config.compile_config = None
        return time.perf_counter() - started

    def describe(self) -> dict:
        return {"model": self.path, "device": self.device}

    def close(self) -> None:
        """Stop generating: the batching thread ends (requests already waiting are answered first). Dropping
        the model does the same, later, when the garbage collector gets to it."""
        self.batcher.close()

    def __enter__(self) -> "MolmoModel":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @staticmethod
    def prompt_with(processor):
        """The model's chat format around one image and a text: the same at training and at inference. A
        MolmoWeb prompt puts the text first, as MolmoWeb's backend does (the chat template decides where the
        image's tokens go); others the image first, as Molmo2's own examples do."""

        def prompt(text: str) -> str:
            parts = [{"type": "image"}, {"type": "text", "text": text}]
            messages = [{"role": "user", "content": parts[::-1] if molmoweb.speaks(text) else parts}]
            if getattr(processor, "chat_template", None):
                return processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
            return f"{processor.image_token}{text}"

        return prompt

    def prompt(self, text: str) -> str:
        return self.prompt_with(self.processor)(text)

    def inputs(self, images: list[Image.Image], prompts: list[str]) -> dict:
        """The model's inputs for (image, prompt) pairs, left-padded. A MolmoWeb prompt's row has no
        bidirectional attention over its image tokens (`protocols.molmoweb.speaks`): a batch of them only has no
        `mm_token_type_ids`, as MolmoWeb's backend asks the processor; a mixed batch has that row's zeroed."""
        self.processor.tokenizer.padding_side = "left"
        inputs = dict(self.processor(images=[[rgb(i)] for i in images], text=[self.prompt(p) for p in prompts],
                                     padding=True, return_tensors="pt"))
        return causal_images(inputs, [molmoweb.speaks(p) for p in prompts])

    def generate(self, images: list[Image.Image], prompts: list[str], *, max_new_tokens: int = 48,
                 temperature: float = 0.0, top_p: float = 1.0, **context) -> list[str]:
        """One answer per (image, prompt) pair: greedy at temperature 0, else sampled. Thread-safe: requests
        that wait together, from one call or from many threads (eval workers, serve's connections), are
        generated together, one batch per way of sampling. `context` (what a server API adds) is not used."""
        sampling = (float(temperature), float(top_p))
        futures = self.batcher.submit([(image, prompt, max_new_tokens, sampling) for image, prompt in zip(images, prompts)])
        return [future.result() for future in futures]

    def _generate_batch(self, requests: list[tuple[Image.Image, str, int, tuple[float, float]]]) -> list[str]:
        answers: dict[int, str] = {}
        for sampling in dict.fromkeys(r[3] for r in requests):
            indices = [i for i, r in enumerate(requests) if r[3] == sampling]
            for i, answer in zip(indices, self._generate_alike([requests[i] for i in indices], *sampling)):
                answers[i] = answer
        return [answers[i] for i in range(len(requests))]

    def _generate_alike(self, requests: list, temperature: float, top_p: float) -> list[str]:
        import torch

        images, prompts = [r[0] for r in requests], [r[1] for r in requests]
        max_new_tokens, count = max(r[2] for r in requests), len(requests)
        if self.fast:  # pad to a compiled batch size with copies of the last request
            padded = next((size for size in BATCH_SIZES if size >= count), count)
            images, prompts = images + [images[-1]] * (padded - count), prompts + [prompts[-1]] * (padded - count)
        tokenizer = self.processor.tokenizer
        inputs = self.inputs(images, prompts)
        prompt_length = inputs["input_ids"].shape[1]
        with torch.inference_mode():
            inputs = {k: v.to(self.device) if hasattr(v, "to") else v for k, v in inputs.items()}
            if "pixel_values" in inputs:
                inputs["pixel_values"] = inputs["pixel_values"].to(self.dtype)
            config = copy.copy(self.generation_config)
            config.max_new_tokens = max_new_tokens
            if temperature > 0:  # top_k stays the generation default, as MolmoWeb's backend leaves it
                config.update(do_sample=True, temperature=temperature, top_p=top_p)
            if self.fast:
                config.max_cache_len = -(-(prompt_length + max_new_tokens) // CACHE_STEP) * CACHE_STEP
            output = self.model.generate(**inputs, generation_config=config)
        return [tokenizer.decode(row, skip_special_tokens=True).strip() for row in output[:count, prompt_length:]]


def causal_images(inputs: dict, causal: list[bool]) -> dict:
    """`inputs` with no bidirectional attention over the image tokens of the rows marked `causal`: without
    `mm_token_type_ids` when every row is (what the processor gives when asked not to return them), else with
    those rows' zeroed (training needs the key whenever it is there for one row)."""
    if all(causal):
        inputs.pop("mm_token_type_ids", None)
    elif any(causal) and "mm_token_type_ids" in inputs:
        import torch

        inputs["mm_token_type_ids"] = inputs["mm_token_type_ids"].clone()
        inputs["mm_token_type_ids"][torch.tensor(causal)] = 0
    return inputs


@functools.lru_cache(maxsize=4)
def load_model(path: str) -> MolmoModel:
    """One loaded (and warmed up) copy per checkpoint in this process: a planner, a pointer and eval
    workers share it."""
    model = MolmoModel(path)
    model.warm_up()
    return model
