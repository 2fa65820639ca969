"""Serving a folder of HTML on loopback, so tasks can bring their own web app."""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from .errors import ConfigError

DEMO_SITE = Path(__file__).resolve().parent.parent / "tasks" / "demo" / "site"


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # the agent's own log is the record; no per-request noise
        pass

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        super().end_headers()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        pass  # a browser closing a connection mid-answer is routine, not worth a traceback


@contextlib.contextmanager
def serve_site(root: Path, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve `root` over http and yield its base URL (ending in /)."""
    root = Path(root)
    if not (root / "index.html").is_file() and not root.is_dir():
        raise ConfigError(f"site folder {root} does not exist")
    handler = functools.partial(_QuietHandler, directory=str(root))
    try:
        server = _Server((host, port), handler)
    except OSError as exc:
        raise ConfigError(f"cannot serve {root} on {host}:{port}: {exc.strerror}") from exc
    # A short poll: shutdown() waits for it, and an eval episode starts and stops a site server each time.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, name=f"site:{root.name}",
                              daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
