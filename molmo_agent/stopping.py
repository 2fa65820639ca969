"""Ctrl-C: the user's request to stop, honoured at once and remembered.

Remembered because Ctrl-C in a terminal reaches the whole process group: Playwright's driver and Chromium
die with us, and the step in flight fails with "browser has been closed" a moment before (or after) our
KeyboardInterrupt. A run that ends while a stop was requested ended because of it, whatever broke first.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Iterator

_requested = threading.Event()
_held = {"depth": 0, "interrupt": False}  # the main thread's: only it is interrupted


def listen() -> None:
    """Raise KeyboardInterrupt on SIGINT in the main thread, and remember it. Installed explicitly because a
    process started in the background by a non-interactive shell inherits SIGINT ignored, and Python then
    never raises KeyboardInterrupt: `kill -INT` would be dropped while a run went on to the end."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _on_sigint)


def _on_sigint(signum, frame) -> None:
    _requested.set()
    # What Playwright had in flight is cut off, and its driver dies with us (the same Ctrl-C, or our exit):
    # asyncio and Playwright would log each loose end with a traceback ("Future exception was never retrieved",
    # "Cannot find command to respond") under the run's last line. The stop is the user's; those are not.
    for noisy in ("asyncio", "playwright"):
        logging.getLogger(noisy).setLevel(logging.CRITICAL)
    if _held["depth"]:
        _held["interrupt"] = True
        return
    raise KeyboardInterrupt


@contextlib.contextmanager
def held() -> Iterator[None]:
    """Hold Ctrl-C's KeyboardInterrupt until the block ends: what the block writes is written whole (a trace
    record and its count), and the stop comes right after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _held["depth"] += 1
    try:
        yield
    finally:
        _held["depth"] -= 1
        if not _held["depth"] and _held["interrupt"]:
            _held["interrupt"] = False
            raise KeyboardInterrupt


def requested() -> bool:
    return _requested.is_set()
