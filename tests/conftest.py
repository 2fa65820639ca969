"""Shared fixtures: the demo site and test pages served on loopback, a loaded OCR pointer, run helpers."""

from __future__ import annotations

import contextlib
import subprocess
import threading
import sys
from pathlib import Path

import pytest

from molmo_agent.browser import BrowserConfig
from molmo_agent.run import PointerSettings, RunSettings, run_task
from molmo_agent.sites import DEMO_SITE, serve_site
from molmo_agent.tasks import load_task

PAGES = Path(__file__).parent / "pages"
CLI = [sys.executable, "-m", "molmo_agent.cli"]


@pytest.fixture(scope="session")
def demo_url():
    with serve_site(DEMO_SITE) as base:
        yield base


@pytest.fixture(scope="session")
def pages_url():
    """Test pages made for one purpose each (click recording, tabs, dialogs)."""
    with serve_site(PAGES) as base:
        yield base


@pytest.fixture(scope="session")
def ocr_pointer():
    from molmo_agent.pointers.ocr import OcrPointer

    return OcrPointer()


@pytest.fixture
def demo_task():
    return load_task(DEMO_SITE.parent / "task.yaml")


@contextlib.contextmanager
def running(server):
    """A stdlib HTTP server answering on its own thread; yields its base URL."""
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def settings(tmp_path: Path, pointer: str = "dom", scale: float = 1.0, **browser) -> RunSettings:
    return RunSettings(pointer=PointerSettings(name=pointer), out=tmp_path,
                       browser=BrowserConfig(scale=scale, **browser))


def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout)


__all__ = ["CLI", "cli", "run_task", "running", "settings"]
