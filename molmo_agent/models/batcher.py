"""Gathers requests from any number of threads into batches for one model, run on one thread.

Each batch takes every request that arrived while the one before it ran (up to `max_batch`), so a lone
request never waits for company and a crowd shares the work. The one thread matters on a GPU too:
CUDA graphs are replayed on the thread that recorded them.
"""

from __future__ import annotations

import queue
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any


class Batcher:
    def __init__(self, run: Callable[[list[Any]], list[Any]], *, max_batch: int = 32, name: str = "batcher") -> None:
        """`run` turns a list of requests into a list of answers, in order."""
        self.run, self.max_batch = run, max_batch
        self.batches: list[int] = []  # sizes of the batches run, for benchmarks and tests
        self._queue: queue.Queue = queue.Queue()
        # The thread holds the batcher only weakly, so a batcher nobody holds any more ends its thread, as
        # `close` does at once. It matters beyond memory: on the CPU a thread that has run torch keeps its own
        # OpenMP team, and while it lives, torch on every other thread runs markedly slower (training beside
        # a forgotten model on two cores: 150 steps in 26 s instead of 16 s).
        self._closer = weakref.finalize(self, self._queue.put, _CLOSED)
        threading.Thread(target=_serve, args=(weakref.ref(self), self._queue), name=name, daemon=True).start()

    def submit(self, requests: list[Any]) -> list[Future]:
        """Queue `requests` (one caller's, kept together in one batch where they fit); one future each."""
        if not self._closer.alive:
            raise RuntimeError("this model was closed; load it again")
        futures = [Future() for _ in requests]
        self._queue.put(list(zip(requests, futures)))
        return futures

    def close(self) -> None:
        """End the thread once the requests already queued are answered."""
        self._closer()

    def _run(self, batch: list[tuple[Any, Future]]) -> None:
        self.batches.append(len(batch))
        try:
            answers = self.run([request for request, _ in batch])
            for (_, future), answer in zip(batch, answers):
                future.set_result(answer)
        except Exception as exc:  # noqa: BLE001 - this batch's callers get the error; the loop goes on
            for _, future in batch:
                future.set_exception(exc)


_CLOSED = object()


def _serve(batcher: "weakref.ref[Batcher]", requests: queue.Queue) -> None:
    closed = False
    while not closed:
        pending = requests.get()
        if pending is _CLOSED:
            return
        while (owner := batcher()) is not None and len(pending) < owner.max_batch:
            try:
                more = requests.get_nowait()
            except queue.Empty:
                break
            if more is _CLOSED:
                closed = True
                break
            pending += more
        if owner is None:  # dropped with requests queued: only possible if a caller stopped waiting for them
            return
        for start in range(0, len(pending), owner.max_batch):
            owner._run(pending[start:start + owner.max_batch])
        del owner
