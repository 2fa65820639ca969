"""Gathers requests from any number of threads into batches for one model, run on one thread.

Each batch takes every request that arrived while the one before it ran (up to `max_batch`), so a lone
request never waits for company and a crowd shares the work. The one thread matters on a GPU too:
CUDA graphs are replayed on the thread that recorded them.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any


class Batcher:
    def __init__(self, run: Callable[[list[Any]], list[Any]], *, max_batch: int = 32, name: str = "batcher") -> None:
        """`run` turns a list of requests into a list of answers, in order."""
        self.run, self.max_batch = run, max_batch
        self.batches: list[int] = []  # sizes of the batches run, for benchmarks and tests
        self._queue: queue.Queue = queue.Queue()
        threading.Thread(target=self._loop, name=name, daemon=True).start()

    def submit(self, requests: list[Any]) -> list[Future]:
        """Queue `requests` (one caller's, kept together in one batch where they fit); one future each."""
        futures = [Future() for _ in requests]
        self._queue.put(list(zip(requests, futures)))
        return futures

    def _loop(self) -> None:
        while True:
            pending = self._queue.get()
            while len(pending) < self.max_batch:
                try:
                    pending += self._queue.get_nowait()
                except queue.Empty:
                    break
            for start in range(0, len(pending), self.max_batch):
                self._run(pending[start:start + self.max_batch])

    def _run(self, batch: list[tuple[Any, Future]]) -> None:
        self.batches.append(len(batch))
        try:
            answers = self.run([request for request, _ in batch])
            for (_, future), answer in zip(batch, answers):
                future.set_result(answer)
        except Exception as exc:  # noqa: BLE001 - this batch's callers get the error; the loop goes on
            for _, future in batch:
                future.set_exception(exc)
