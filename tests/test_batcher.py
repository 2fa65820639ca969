"""The batcher that shares one model among threads: answers go to their callers, and its thread ends."""

import gc
import threading
import time

import pytest

from molmo_agent.models.batcher import Batcher


def _threads(name: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == name]


def _ended(name: str, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while _threads(name) and time.monotonic() < deadline:
        time.sleep(0.01)
    return not _threads(name)


def test_close_answers_what_waits_then_ends_the_thread():
    started, release = threading.Event(), threading.Event()

    def slow_double(requests):
        started.set()
        release.wait(10)
        return [2 * r for r in requests]

    batcher = Batcher(slow_double, max_batch=4, name="batcher-close")
    first = batcher.submit([1])
    started.wait(10)
    waiting = batcher.submit([2, 3]) + batcher.submit([4])  # queued while the first batch runs
    batcher.close()
    release.set()
    assert [f.result(10) for f in first + waiting] == [2, 4, 6, 8]
    assert batcher.batches == [1, 3], "what waited together ran together"
    assert _ended("batcher-close")
    with pytest.raises(RuntimeError, match="closed"):
        batcher.submit([5])


def test_a_batcher_nobody_holds_ends_its_thread():
    """A dropped model (its batcher among its parts) must not leave a thread behind: on the CPU a live thread that
    ran torch slows torch on every other thread."""
    batcher = Batcher(lambda requests: requests, name="batcher-dropped")
    assert batcher.submit(["x"])[0].result(10) == "x"
    assert _threads("batcher-dropped")
    del batcher
    gc.collect()
    assert _ended("batcher-dropped")
