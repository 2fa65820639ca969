"""`serve`: an OpenAI-compatible HTTP server over an in-process Molmo2-family model.

    POST /v1/chat/completions   one image (data URL) and text in the last user message
    GET  /v1/models, GET /health

Concurrent requests are generated as one batch (the model batches whatever waits together). A malformed
request gets a 4xx with a message and touches no other request.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import io
import json
import socket
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from PIL import Image, UnidentifiedImageError

MAX_BODY_BYTES = 20 * 1024 * 1024
MAX_IMAGE_PIXELS = 4096 * 4096
MAX_NEW_TOKENS = 512


class RequestError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def parse_request(body: bytes) -> tuple[Image.Image, str, int]:
    """(image, text, max_tokens) from a chat completion request, or a `RequestError` saying what is wrong."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise RequestError(400, "the body is not JSON") from None
    messages = data.get("messages") if isinstance(data, dict) else None
    users = [m for m in messages or [] if isinstance(m, dict) and m.get("role") == "user"]
    if not users:
        raise RequestError(400, "messages must hold a user message")
    content = users[-1].get("content")
    parts = content if isinstance(content, list) else [{"type": "text", "text": content}]
    texts = [p.get("text") for p in parts if isinstance(p, dict) and p.get("type") == "text"]
    urls = [p.get("image_url") for p in parts if isinstance(p, dict) and p.get("type") == "image_url"]
    if len(urls) != 1:
        raise RequestError(400, f"the user message must hold exactly one image_url part, not {len(urls)}")
    url = urls[0].get("url") if isinstance(urls[0], dict) else urls[0]
    if not isinstance(url, str) or not url.startswith("data:image/") or ";base64," not in url:
        raise RequestError(400, "image_url must be a data:image/...;base64, URL")
    try:
        raw = base64.b64decode(url.split(";base64,", 1)[1], validate=True)
        image = Image.open(io.BytesIO(raw))
        if image.width * image.height > MAX_IMAGE_PIXELS:
            raise RequestError(413, f"the image is {image.width}x{image.height}; at most {MAX_IMAGE_PIXELS} pixels")
        image.load()
    except (binascii.Error, UnidentifiedImageError, OSError, Image.DecompressionBombError):
        raise RequestError(400, "image_url does not hold a readable image") from None
    # A system message's text goes first: this model has no separate place for it.
    system = [m.get("content") for m in messages if isinstance(m, dict) and m.get("role") == "system"]
    system = [c if isinstance(c, str) else " ".join(p.get("text", "") for p in c if isinstance(p, dict))
              for c in system if isinstance(c, (str, list))]
    text = " ".join(t for t in system + texts if isinstance(t, str) and t).strip()
    if not text:
        raise RequestError(400, "the user message holds no text")
    max_tokens = data.get("max_tokens") or data.get("max_completion_tokens") or 64
    if not isinstance(max_tokens, int) or not 1 <= max_tokens <= MAX_NEW_TOKENS:
        raise RequestError(400, f"max_tokens must be an integer from 1 to {MAX_NEW_TOKENS}")
    return image, text, max_tokens


def make_server(model, *, name: str, host: str = "127.0.0.1", port: int = 8000, api_key: str | None = None,
                max_batch: int = 8) -> ThreadingHTTPServer:
    model.batcher.max_batch = max_batch

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def setup(self) -> None:
            super().setup()
            # Headers and body go out in two writes; without this, Nagle's algorithm holds the second.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def _send(self, status: int, payload: dict) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _error(self, status: int, message: str) -> None:
            self._send(status, {"error": {"message": message, "type": "invalid_request_error", "code": status}})

        def _authorized(self) -> bool:
            if api_key is None:
                return True
            given = self.headers.get("Authorization", "")
            return hmac.compare_digest(given.encode(), f"Bearer {api_key}".encode())

        def do_GET(self) -> None:
            if self.path == "/health":
                return self._send(200, {"status": "ok", "model": name})
            if not self._authorized():
                return self._error(401, "missing or wrong bearer token")
            if self.path == "/v1/models":
                return self._send(200, {"object": "list", "data": [{"id": name, "object": "model", "owned_by": "molmo-agent"}]})
            self._error(404, f"no route {self.path}")

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY_BYTES:
                self.close_connection = True
                return self._error(413, f"the body is {length} bytes; at most {MAX_BODY_BYTES}")
            body = self.rfile.read(length)
            if self.path != "/v1/chat/completions":
                return self._error(404, f"no route {self.path}")
            if not self._authorized():
                return self._error(401, "missing or wrong bearer token")
            try:
                image, text, max_tokens = parse_request(body)
            except RequestError as exc:
                return self._error(exc.status, str(exc))
            try:
                [answer] = model.generate([image], [text], max_new_tokens=max_tokens)
            except Exception as exc:  # noqa: BLE001
                return self._error(500, f"the model failed: {type(exc).__name__}: {exc}")
            self._send(200, {
                "id": f"chatcmpl-{uuid.uuid4().hex[:12]}", "object": "chat.completion", "created": int(time.time()),
                "model": name, "choices": [{"index": 0, "message": {"role": "assistant", "content": answer},
                                            "finish_reason": "stop"}],
            })

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    return server
