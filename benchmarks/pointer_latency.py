"""Latency per pointing call and throughput at 1, 8 and 32 concurrent requests, in-process and through
`serve`, for the plain and the fast generation paths, on whatever device is present.

    .venv/bin/python benchmarks/pointer_latency.py                      # tiny random Molmo2 (CPU-sized)
    python benchmarks/pointer_latency.py --shape 8b --paths plain,fast  # the real 8B shape, random weights (GPU)
    python benchmarks/pointer_latency.py --model PATH                   # a checkpoint

A random model never stops early, so every call generates exactly --new-tokens tokens.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

from PIL import Image, ImageDraw

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


def bench(model: MolmoModel, observation: Observation, args) -> None:
    image = Image.open(io.BytesIO(observation.screenshot))
    prompt, tokens = "Point to the box.", args.new_tokens
    single = measure(lambda: model.generate([image], [prompt], max_new_tokens=tokens), 1, args.requests // 4)
    print(f"  in-process, 1 at a time: {single[0] * 1000:7.1f} ms/point")
    for size in (8, 32):
        seconds = measure(lambda: model.generate([image] * size, [prompt] * size, max_new_tokens=tokens), 1, 3)[0]
        print(f"  in-process batch of {size:>2}: {seconds * 1000:7.1f} ms, {size / seconds:6.1f} points/s")
    server = ModelServer(model, name="bench", port=0, max_batch=32)
    pointer = HttpPointer(f"{server.start()}/v1", "bench", timeout_s=600, max_tokens=tokens, family="molmo2")
    for concurrency in (1, 8, 32):
        latency, rate = measure(lambda: _locate(pointer, observation), concurrency, max(args.requests, concurrency))
        print(f"  serve, {concurrency:>2} concurrent: {latency * 1000:7.1f} ms/call, {rate:6.1f} points/s")
    server.stop()


def _locate(pointer, observation):
    try:
        pointer.locate("box", observation)
    except Exception:  # noqa: BLE001 - a random model's text need not parse; the call was timed
        pass


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", help="a checkpoint folder (default: a random model of --shape)")
    parser.add_argument("--shape", default="tiny", choices=["tiny", "8b"])
    parser.add_argument("--text-layers", type=int, help="fewer language-model layers (a quick look at a wide shape)")
    parser.add_argument("--paths", default="plain,fast", help="generation paths to measure: plain, fast")
    parser.add_argument("--requests", type=int, default=64)
    parser.add_argument("--new-tokens", type=int, default=24)
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
    for path in args.paths.split(","):
        wrapped = MolmoModel.in_memory(model, processor, name=name, fast=path == "fast")
        started = time.perf_counter()
        wrapped.warm_up(32)
        wrapped.generate([Image.open(io.BytesIO(png))], ["Point to the box."], max_new_tokens=args.new_tokens)
        print(f"{path} path (warm-up {time.perf_counter() - started:.1f}s):")
        bench(wrapped, observation, args)
        if torch.cuda.is_available():
            print(f"  peak GPU memory {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB")


if __name__ == "__main__":
    main()
