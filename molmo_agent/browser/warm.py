"""What an eval worker keeps between episodes of a task that restarts in place (`Task.restart_in_place`).

MiniWoB++'s own environment loads a task's page once and starts each episode by script; doing the same
skips a new browser context, a new renderer process and a page load, most of an episode's cost.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from playwright.sync_api import Page

from ..sites import serve_site


class WarmStart:
    """One worker's site servers (one per site folder) and the page its last episode left."""

    def __init__(self) -> None:
        self._servers = contextlib.ExitStack()
        self._sites: dict[Path, str] = {}
        self._page: Page | None = None

    def site(self, root: Path) -> str:
        """The base URL of `root`, served from the first call until `close`."""
        root = Path(root).resolve()
        if root not in self._sites:
            self._sites[root] = self._servers.enter_context(serve_site(root))
        return self._sites[root]

    def take(self) -> Page | None:
        """The kept page, if it is still open; the caller owns it until it gives it back with `keep`."""
        page, self._page = self._page, None
        return page if page is not None and not page.is_closed() else None

    def keep(self, page: Page) -> None:
        self.forget_page()
        self._page = page

    def forget_page(self) -> None:
        """Close the kept page's context (its browser is about to go, or the page is no longer wanted)."""
        page, self._page = self._page, None
        if page is not None:
            with contextlib.suppress(Exception):
                page.context.close()

    def close(self) -> None:
        self.forget_page()
        self._servers.close()
