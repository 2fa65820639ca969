"""Ctrl-C: the user's request to stop, honoured at once and remembered.

Remembered because Ctrl-C in a terminal reaches the whole process group: Playwright's driver and Chromium
die with us, and the step in flight fails with "browser has been closed" a moment before (or after) our
KeyboardInterrupt. A run that ends while a stop was requested ended because of it, whatever broke first.
"""

from __future__ import annotations

import signal
import threading

_requested = threading.Event()


def listen() -> None:
    """Raise KeyboardInterrupt on SIGINT in the main thread, and remember it. Installed explicitly because a
    process started in the background by a non-interactive shell inherits SIGINT ignored, and Python then
    never raises KeyboardInterrupt: `kill -INT` would be dropped while a run went on to the end."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _on_sigint)


def _on_sigint(signum, frame) -> None:
    _requested.set()
    raise KeyboardInterrupt


def requested() -> bool:
    return _requested.is_set()
