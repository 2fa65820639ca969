"""Latency per pointing call and throughput at 1, 8 and 32 concurrent requests, in-process and through
`serve`, for the plain and the fast generation paths, on whatever device is present.

    .venv/bin/python benchmarks/pointer_latency.py                      # tiny random Molmo2 (CPU-sized)
    python benchmarks/pointer_latency.py --shape 8b --paths plain,fast  # the real 8B shape, random weights (GPU)
    python benchmarks/pointer_latency.py --model PATH                   # a checkpoint

Every call generates exactly --new-tokens tokens (the end-of-text token is held back until then), failed
calls are counted and printed, not timed as served, and a path that fell back to the plain one during
warm-up prints no "fast" figures. The measured loops run --rounds times, the paths in alternating order;
each figure is the median of the rounds with their spread.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
import warnings
from concurrent.futures import ThreadPoolExecutor

from PIL import Image, ImageDraw

from molmo_agent.errors import PointerError, PointParseError
from molmo_agent.models.loading import MolmoModel
from molmo_agent.observation import Observation
from molmo_agent.pointers.http import HttpPointer
from molmo_agent.serve import ModelServer


def screenshot() -> bytes:
    image = Image.new("RGB", (1280, 720), "white")
    ImageDraw.Draw(image).rectangle([400, 300, 700, 340], outline="black")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def measure(call, concurrency: int, requests: int) -> tuple[float, float]:
    """(median seconds per call, calls per second) with `concurrency` callers."""
    times: list[float] = []

    def one(_):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)

    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(requests)))
    return statistics.median(times), requests / (time.perf_counter() - start)


def load(args) -> tuple[object, object, str]:
    """(model, processor, name): a checkpoint, or a random model of --shape built in memory."""
    import torch

    if args.model:
        loaded = MolmoModel(args.model, fast=False)
        return loaded.model, loaded.processor, args.model
    from molmo_agent.models.random import random_molmo2

    device = "cuda" if torch.cuda.is_available() else "cpu"
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    model, processor = random_molmo2(args.shape, text_layers=args.text_layers, device=device, dtype=dtype)
    return model, processor, f"random Molmo2 ({args.shape})"


def bench(model: MolmoModel, observation: Observation, args) -> dict[str, float]:
    """One round of every figure for one path: name -> value. Raises if any call failed."""
    image = Image.open(io.BytesIO(observation.screenshot))
    prompt, tokens = "Point to the box.", args.new_tokens
    figures = {"in-process, 1 at a time (ms/point)": 1000 * measure(
        lambda: model.generate([image], [prompt], max_new_tokens=tokens), 1, args.requests // 4)[0]}
    for size in (8, 32):
        seconds = measure(lambda: model.generate([image] * size, [prompt] * size, max_new_tokens=tokens), 1, 3)[0]
        figures[f"in-process batch of {size:>2} (points/s)"] = size / seconds
    server = ModelServer(model, name="bench", port=0, max_batch=32)
    pointer = HttpPointer(f"{server.start()}/v1", "bench", timeout_s=600, max_tokens=tokens, family="molmo2")
    errors: list[str] = []
    try:
        for concurrency in (1, 8, 32):
            latency, rate = measure(lambda: _locate(pointer, observation, errors), concurrency,
                                    max(args.requests, concurrency))
            figures[f"serve, {concurrency:>2} concurrent (ms/call)"] = latency * 1000
            figures[f"serve, {concurrency:>2} concurrent (points/s)"] = rate
    finally:
        server.stop()
    if errors:
        raise RuntimeError(f"{len(errors)} calls failed, first: {errors[0]}")
    return figures


def _locate(pointer, observation, errors: list[str]) -> None:
    try:
        pointer.locate("box", observation)
    except PointParseError:
        pass  # a random model's text that holds no point: it was served, and timed as such
    except PointerError as exc:
        if "There are none" not in str(exc):  # the model's own "not found" was served; anything else failed
            errors.append(str(exc))


def _wrap(model, processor, name: str, path: str, tokens: int) -> MolmoModel | None:
    wrapped = MolmoModel.in_memory(model, processor, name=name, fast=path == "fast")
    wrapped.generation_config.min_new_tokens = tokens  # exactly --new-tokens per answer, early stop or not
    started = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        wrapped.warm_up(32)
    if path == "fast" and not wrapped.fast:
        print(f"fast path fell back to the plain one during warm-up ({caught[-1].message if caught else '?'}): "
              "no fast figures")
        return None
    print(f"{path} path warm in {time.perf_counter() - started:.1f}s")
    return wrapped


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", help="a checkpoint folder (default: a random model of --shape)")
    parser.add_argument("--shape", default="tiny", choices=["tiny", "8b"])
    parser.add_argument("--text-layers", type=int, help="fewer language-model layers (a quick look at a wide shape)")
    parser.add_argument("--paths", default="plain,fast", help="generation paths to measure: plain, fast")
    parser.add_argument("--requests", type=int, default=64)
    parser.add_argument("--new-tokens", type=int, default=24)
    parser.add_argument("--rounds", type=int, default=3, help="repeats of every measured loop, paths alternating")
    args = parser.parse_args()
    import torch

    model, processor, name = load(args)
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else "CPU"
    png = screenshot()
    observation = Observation(screenshot=png, image_size=(1280, 720), viewport=(1280, 720), scale=1, url="",
                              title="", tabs=[], active_tab=0, dom_signature="")
    prompt_tokens = len(processor(images=[[Image.open(io.BytesIO(png))]],
                                  text=[MolmoModel.prompt_with(processor)("Point to the box.")])["input_ids"][0])
    print(f"{name} on {device}: a 1280x720 screenshot is {prompt_tokens} prompt tokens; {args.new_tokens} new tokens")
    paths = {path: _wrap(model, processor, name, path, args.new_tokens) for path in args.paths.split(",")}
    paths = {path: wrapped for path, wrapped in paths.items() if wrapped is not None}
    rounds: dict[str, list[dict[str, float]]] = {path: [] for path in paths}
    peaks: dict[str, float] = {}
    for number in range(args.rounds):
        for path in (list(paths) if number % 2 == 0 else list(reversed(paths))):
            if torch.cuda.is_available():
                torch.cuda.reset_peak_memory_stats()
            rounds[path].append(bench(paths[path], observation, args))
            if torch.cuda.is_available():
                peaks[path] = max(peaks.get(path, 0.0), torch.cuda.max_memory_allocated() / 2**30)
    for path, measured in rounds.items():
        print(f"{path} path, {len(measured)} rounds: median [min - max]")
        for figure in measured[0]:
            values = [m[figure] for m in measured]
            print(f"  {figure:<36} {statistics.median(values):8.1f}  [{min(values):.1f} - {max(values):.1f}]")
        if path in peaks:
            print(f"  peak GPU memory {peaks[path]:.1f} GiB")


if __name__ == "__main__":
    main()
