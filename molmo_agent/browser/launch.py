"""Finding and starting Chromium."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from pydantic import BaseModel, Field

from ..errors import BrowserNotFoundError

ENV_VAR = "MOLMO_AGENT_CHROMIUM"
SYSTEM_CHROMIUMS = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
# Flags that keep a headless Chromium quiet on machines with a closed network.
LAUNCH_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


class BrowserConfig(BaseModel):
    executable: str | None = Field(None, description=f"Chromium path; else ${ENV_VAR}, Playwright's, the system's")
    headless: bool = True
    viewport: tuple[int, int] = (1280, 720)
    scale: float = Field(1.0, gt=0, le=4)
    allow_domains: list[str] = Field(default_factory=list)
    allow_file: bool = False
    url_map: list[tuple[str, str]] = Field(default_factory=list, description="(FROM, TO): a request whose URL starts "
                                           "with FROM is answered from TO + the rest; the page still sees FROM")
    dialogs: str = Field("accept", pattern="^(accept|dismiss)$")
    action_timeout_s: float = 10.0
    playwright_trace: bool = Field(False, description="record Playwright's own trace for its Trace Viewer")


def find_chromium(explicit: str | None, playwright_path: str | None) -> str:
    """The browser to launch: explicit option, env var, Playwright's bundled build, system Chromium."""
    for candidate, origin in ((explicit, "--browser"), (os.environ.get(ENV_VAR), f"${ENV_VAR}")):
        if candidate:
            resolved = shutil.which(candidate) or candidate
            if not Path(resolved).is_file():
                raise BrowserNotFoundError(f"{origin} points to {candidate!r}, which is not a file")
            return resolved
    for candidate in (playwright_path, *SYSTEM_CHROMIUMS):
        if candidate and Path(candidate).is_file():
            return candidate
    raise BrowserNotFoundError(
        "no Chromium found: run `apt-get install -y chromium` (or `playwright install chromium`), "
        f"or pass --browser PATH / set {ENV_VAR}"
    )


def parse_viewport(text: str) -> tuple[int, int]:
    from ..errors import ConfigError

    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ConfigError(f"--viewport {text!r} is not WIDTHxHEIGHT, e.g. 1280x720") from None
    if not (200 <= width <= 7680 and 200 <= height <= 4320):
        raise ConfigError(f"--viewport {text!r} is out of range (200x200 to 7680x4320)")
    return width, height
