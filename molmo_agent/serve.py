"""`serve`: an in-process Molmo2-family model over HTTP (FastAPI on uvicorn), in two APIs at once.

    POST /v1/chat/completions   OpenAI-compatible: one image (data URL) and text in the last user message
    GET  /v1/models, GET /health
    POST /predict               MolmoWeb's own server API: {"prompt", "image_base64", "past_actions",
                                "temperature", "top_p"} -> the model's text as a JSON string

Concurrent requests are generated together (the model batches whatever waits together). A malformed
request gets a 4xx with a message and touches no other request. With an API key, every route but /health
wants it as a bearer token.

A web page open in a browser on the same machine can reach a loopback server too: it can post a body the
browser sends without asking (text/plain, a form), and a page whose DNS name is rebound to 127.0.0.1 can read
the answers. So by default a POST must say `Content-Type: application/json` (which a page cannot send to
another origin without the server's consent, and this one never gives it), and the Host header must name the
address the server listens on.
"""

import base64
import binascii
import hmac
import io
import ipaddress
import json
import socket
import threading
import time
import uuid

from PIL import Image, UnidentifiedImageError
from pydantic import BaseModel

from .errors import ConfigError

MAX_BODY_BYTES = 20 * 1024 * 1024
MAX_IMAGE_PIXELS = 4096 * 4096
MAX_NEW_TOKENS = 4096
PREDICT_NEW_TOKENS = 1024  # MolmoWeb's server decides the budget itself; its API has no field for it


class RequestError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class GenerationRequest(BaseModel):
    """One generation request, whichever API it came through."""

    model_config = {"arbitrary_types_allowed": True}
    image: Image.Image
    text: str
    max_tokens: int = 64
    temperature: float = 0.0
    top_p: float = 1.0


def _image(raw: bytes) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(raw))
        if image.width * image.height > MAX_IMAGE_PIXELS:
            raise RequestError(413, f"the image is {image.width}x{image.height}; at most {MAX_IMAGE_PIXELS} pixels")
        image.load()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        raise RequestError(400, "the image is not readable") from None
    return image


def _b64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise RequestError(400, "the image is not valid base64") from None


def _json(body: bytes) -> dict:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise RequestError(400, "the body is not JSON") from None
    if not isinstance(data, dict):
        raise RequestError(400, "the body must be a JSON object")
    return data


def _sampling(data: dict) -> dict:
    out = {}
    for key, low, high in (("temperature", 0.0, 2.0), ("top_p", 0.0, 1.0)):
        value = data.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
            raise RequestError(400, f"{key} must be a number from {low:g} to {high:g}")
        out[key] = float(value)
    if out.get("top_p") == 0:
        raise RequestError(400, "top_p must be above 0")
    return out


def parse_chat(body: bytes) -> GenerationRequest:
    """A chat completion request, or a `RequestError` saying what is wrong."""
    data = _json(body)
    messages = data.get("messages")
    users = [m for m in messages or [] if isinstance(m, dict) and m.get("role") == "user"] if isinstance(messages, list) else []
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
    image = _image(_b64(url.split(";base64,", 1)[1]))
    # A system message's text goes first: this model has no separate place for it.
    system = [m.get("content") for m in messages if isinstance(m, dict) and m.get("role") == "system"]
    system = [c if isinstance(c, str) else " ".join(p.get("text", "") for p in c if isinstance(p, dict))
              for c in system if isinstance(c, (str, list))]
    # Kept byte for byte (no strip): MolmoWeb's prompt ends in a newline the model was trained with.
    text = " ".join(t for t in system + texts if isinstance(t, str) and t.strip())
    if not text:
        raise RequestError(400, "the user message holds no text")
    max_tokens = data.get("max_tokens") or data.get("max_completion_tokens") or 64
    if not isinstance(max_tokens, int) or not 1 <= max_tokens <= MAX_NEW_TOKENS:
        raise RequestError(400, f"max_tokens must be an integer from 1 to {MAX_NEW_TOKENS}")
    return GenerationRequest(image=image, text=text, max_tokens=max_tokens, **_sampling(data))


def parse_predict(body: bytes) -> GenerationRequest:
    """A request to MolmoWeb's `/predict`: its prompt is the whole text; `past_actions` is already in it."""
    data = _json(body)
    prompt, image = data.get("prompt"), data.get("image_base64")
    if not isinstance(prompt, str) or not prompt.strip():
        raise RequestError(400, "prompt must be a non-empty string")
    if not isinstance(image, str):
        raise RequestError(400, "image_base64 must be a base64 string (no data: prefix)")
    sampling = {"temperature": 0.7, "top_p": 0.8} | _sampling(data)  # MolmoWeb's server defaults
    return GenerationRequest(image=_image(_b64(image.split(";base64,", 1)[-1])), text=prompt,
                   max_tokens=PREDICT_NEW_TOKENS, **sampling)


def host_of(header: str) -> str:
    """The host in a Host header, lower case, without port or IPv6 brackets."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def expected_hosts(host: str, extra: list[str] = ()) -> set[str] | None:
    """The Host names a server listening on `host` answers to; None for any. A loopback server also answers to
    the loopback names; one on every address (0.0.0.0) cannot know its names, so it checks only those given."""
    if "*" in extra:
        return None
    names = {host_of(h) for h in extra}
    if is_loopback(host):
        return names | {host_of(host), "localhost", "127.0.0.1", "::1"}
    if host in ("0.0.0.0", "::", ""):
        return names or None
    return names | {host_of(host)}


def answer_only_to(app, allowed_hosts: set[str] | None, command: str) -> None:
    """Refuse a request whose Host header is not one of `allowed_hosts` (None: any)."""
    from fastapi.responses import JSONResponse

    @app.middleware("http")
    async def only_our_own_name(request, call_next):
        host = host_of(request.headers.get("host", ""))
        if allowed_hosts is not None and host not in allowed_hosts:
            message = (f"Host {host!r} is not this server's address ({', '.join(sorted(allowed_hosts))}): a web page "
                       f"may be reaching it by DNS rebinding; start {command} with --allow-host {host} if that name "
                       "is yours")
            return JSONResponse({"error": {"message": message, "type": "invalid_request_error", "code": 421}}, 421)
        return await call_next(request)


def make_app(model, *, name: str, api_key: str | None = None, max_batch: int = 8,
             allowed_hosts: set[str] | None = None, any_content_type: bool = False):
    import anyio.to_thread
    from fastapi import FastAPI
    from fastapi import Request as HttpRequest
    from fastapi.responses import JSONResponse

    model.batcher.max_batch = max_batch
    app = FastAPI(title="molmo-agent serve", docs_url=None, redoc_url=None, openapi_url=None)

    def error(status: int, message: str) -> JSONResponse:
        return JSONResponse({"error": {"message": message, "type": "invalid_request_error", "code": status}}, status)

    answer_only_to(app, allowed_hosts, "serve")

    def authorized(request: HttpRequest) -> bool:
        given = request.headers.get("authorization", "")
        return api_key is None or hmac.compare_digest(given.encode(), f"Bearer {api_key}".encode())

    async def generate(request: HttpRequest, parse) -> JSONResponse | str:
        if int(request.headers.get("content-length") or 0) > MAX_BODY_BYTES:
            return error(413, f"the body is over {MAX_BODY_BYTES} bytes")
        if not authorized(request):
            return error(401, "missing or wrong bearer token")
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind != "application/json" and not any_content_type:
            return error(415, f"Content-Type is {kind or 'missing'!r}; send application/json (a page in a browser "
                              "can post other types here without asking; serve --any-content-type allows them)")
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            return error(413, f"the body is over {MAX_BODY_BYTES} bytes")
        try:
            asked = parse(body)
        except RequestError as exc:
            return error(exc.status, str(exc))
        try:
            [answer] = await anyio.to_thread.run_sync(lambda: model.generate(
                [asked.image], [asked.text], max_new_tokens=asked.max_tokens, temperature=asked.temperature,
                top_p=asked.top_p))
        except Exception as exc:  # noqa: BLE001
            return error(500, f"the model failed: {type(exc).__name__}: {exc}")
        return answer

    @app.get("/health")
    def health():
        return {"status": "ok", "model": name}

    @app.get("/v1/models")
    def models(request: HttpRequest):
        if not authorized(request):
            return error(401, "missing or wrong bearer token")
        return {"object": "list", "data": [{"id": name, "object": "model", "owned_by": "molmo-agent"}]}

    @app.post("/v1/chat/completions")
    async def chat(request: HttpRequest):
        answer = await generate(request, parse_chat)
        if isinstance(answer, JSONResponse):
            return answer
        return {"id": f"chatcmpl-{uuid.uuid4().hex[:12]}", "object": "chat.completion", "created": int(time.time()),
                "model": name, "choices": [{"index": 0, "message": {"role": "assistant", "content": answer},
                                            "finish_reason": "stop"}]}

    @app.post("/predict")
    async def predict(request: HttpRequest):
        answer = await generate(request, parse_predict)
        return answer if isinstance(answer, JSONResponse) else JSONResponse(answer)

    return app


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name other than localhost may resolve anywhere


def refuse_unguarded(host: str, api_key: str | None) -> None:
    if api_key is None and not is_loopback(host):
        raise ConfigError(f"refusing to serve on {host} without --api-key: anyone who can reach it could use the "
                          "model; pass --api-key (or set MOLMO_AGENT_API_KEY), or listen on 127.0.0.1")


def _listen(host: str, port: int) -> socket.socket:
    # IPPROTO_TCP named outright: asyncio sets TCP_NODELAY only on sockets that say so, and without it a
    # response written in two parts waits ~40 ms for a delayed ACK.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


class AppServer:
    """An ASGI app on uvicorn, bound at construction (so port 0 picks a free port that is known at once)."""

    def __init__(self, app, *, host: str, port: int, name: str) -> None:
        import uvicorn

        self.socket = _listen(host, port)
        self.port = self.socket.getsockname()[1]
        self.url = f"http://{host if ':' not in host else f'[{host}]'}:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False,
                                                    timeout_graceful_shutdown=1))
        self._name = name
        self._thread: threading.Thread | None = None

    def run(self) -> None:
        """Serve in this thread until Ctrl-C."""
        self.server.run(sockets=[self.socket])

    def start(self) -> str:
        """Serve on a thread of its own; returns the base URL once it answers."""
        self._thread = threading.Thread(target=self.run, name=self._name, daemon=True)
        self._thread.start()
        while not self.server.started:
            if not self._thread.is_alive():
                raise RuntimeError(f"{self._name} stopped while starting")
            time.sleep(0.01)
        return self.url

    def stop(self) -> None:
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.socket.close()


class ModelServer(AppServer):
    """`make_app` on uvicorn."""

    def __init__(self, model, *, name: str, host: str = "127.0.0.1", port: int = 8000, api_key: str | None = None,
                 max_batch: int = 8, allow_hosts: list[str] = (), any_content_type: bool = False) -> None:
        refuse_unguarded(host, api_key)
        app = make_app(model, name=name, api_key=api_key, max_batch=max_batch,
                       allowed_hosts=expected_hosts(host, list(allow_hosts)), any_content_type=any_content_type)
        super().__init__(app, host=host, port=port, name="molmo-serve")
