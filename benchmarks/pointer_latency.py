"""Latency per pointing call and throughput at 1, 8 and 32 concurrent requests, in-process and through
`serve`, on whatever device is present. Without --model it builds the tiny random Molmo2 (CPU-sized).

    .venv/bin/python benchmarks/pointer_latency.py [--model PATH] [--requests 64]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from PIL import Image, ImageDraw

from molmo_agent.models.loading import MolmoModel
from molmo_agent.observation import Observation
from molmo_agent.pointers.http import HttpPointer
from molmo_agent.serve import make_server


def screenshot() -> bytes:
    import io

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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", help="checkpoint folder (default: a tiny random Molmo2)")
    parser.add_argument("--requests", type=int, default=64)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.model
        if path is None:
            from molmo_agent.models.tiny import build_tiny_molmo2

            path = str(build_tiny_molmo2(Path(tmp) / "molmo2-tiny"))
        model = MolmoModel(path)
        png = screenshot()
        image = Image.open(__import__("io").BytesIO(png))
        observation = Observation(screenshot=png, image_size=(1280, 720), viewport=(1280, 720), scale=1, url="",
                                  title="", tabs=[], active_tab=0, dom_signature="")
        model.generate([image], ["Point to the box."], max_new_tokens=64)  # warm up
        server = make_server(model, name="molmo2-bench", port=0, max_batch=32)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        pointer = HttpPointer(f"http://127.0.0.1:{server.server_address[1]}/v1", "molmo2-bench", timeout_s=600)
        print(f"model {path} on {model.device}; 1280x720 screenshot, up to 64 new tokens (a random model never stops early)")
        for concurrency in (1, 8, 32):
            batch_latency, batch_rate = measure(
                lambda: model.generate([image] * 1, ["Point to the box."], max_new_tokens=64), 1, max(4, args.requests // 8)
            ) if concurrency == 1 else (None, None)
            served = measure(lambda: _locate(pointer, observation), concurrency, args.requests)
            line = f"concurrency {concurrency:>2}: serve {served[0] * 1000:7.1f} ms/call, {served[1]:6.1f} points/s"
            if batch_latency is not None:
                line += f"; in-process {batch_latency * 1000:7.1f} ms/call, {batch_rate:6.1f} points/s"
            print(line)
        for size in (8, 32):
            start = time.perf_counter()
            model.generate([image] * size, ["Point to the box."] * size, max_new_tokens=64)
            seconds = time.perf_counter() - start
            print(f"in-process batch of {size:>2}: {seconds * 1000:7.1f} ms, {size / seconds:6.1f} points/s")
        server.shutdown()


def _locate(pointer, observation):
    try:
        pointer.locate("box", observation)
    except Exception:  # noqa: BLE001 - a random model's text need not parse; the call was timed
        pass


if __name__ == "__main__":
    main()
