"""Fixtures layered on pytest-playwright's, registered after it so that they see (and extend) its own."""

from __future__ import annotations

from pathlib import Path

import pytest

from ..browser.launch import LAUNCH_FLAGS, find_chromium
from ..errors import BrowserNotFoundError


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args, browser_type):
    """pytest-playwright's launch options, with the Chromium this tool finds ($MOLMO_AGENT_CHROMIUM, the
    system's) when Playwright's own build is not installed and no channel or path was chosen."""
    args = dict(browser_type_launch_args)
    if browser_type.name != "chromium" or args.get("executable_path") or args.get("channel"):
        return args
    if Path(browser_type.executable_path).is_file():
        return args
    try:
        args["executable_path"] = find_chromium(None, None)
    except BrowserNotFoundError:
        return args  # Playwright's own error will say what to install
    args["args"] = [*args.get("args", []), *(f for f in LAUNCH_FLAGS if f not in args.get("args", []))]
    return args
