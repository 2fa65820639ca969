"""The app's routes on uvicorn: who may ask (loopback, a token, the app's own Host name), what is served
(pages, screenshots under the folders, live updates as server-sent events)."""

import asyncio
import hashlib
import hmac
import json
import secrets as tokens
import time
from pathlib import Path

from ..errors import ConfigError, MolmoAgentError
from ..serve import AppServer, answer_only_to, expected_hosts, is_loopback
from ..trace.writer import TRACE_FILE
from .folders import EVAL_FILES, Library
from .pages import (LIVE_POLL_S, compare_page, end_html, eval_live_html, eval_page, list_page, run_page, step_chip,
                    step_panel)

IMAGES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif"}


def make_app(library: Library, *, token: str | None = None, allowed_hosts: set[str] | None = None):
    from fastapi import FastAPI, HTTPException, Request
    from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse, StreamingResponse

    app = FastAPI(title="molmo-agent ui", docs_url=None, redoc_url=None, openapi_url=None)
    cookie = "molmo_ui"

    @app.middleware("http")
    async def guard(request: Request, call_next):
        given = request.query_params.get("token") or request.cookies.get(cookie) or ""
        if token is not None and not hmac.compare_digest(given.encode(), token.encode()):
            return PlainTextResponse("open the address ui printed, with its ?token=", 401)
        response = await call_next(request)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        if token is not None and request.query_params.get("token"):
            response.set_cookie(cookie, token, httponly=True, samesite="strict")
        return response

    def where(ref: str) -> Path:
        try:
            return library.resolve(ref)
        except LookupError:
            raise HTTPException(404, "no such file or folder under the folders ui was given") from None

    def run_dir(ref: str) -> Path:
        path = where(ref)
        if not (path / TRACE_FILE).is_file():
            raise HTTPException(404, "not a run directory")
        return path

    def html_page(render) -> HTMLResponse:
        nonce = tokens.token_urlsafe(16)
        try:
            text = render(nonce)
        except MolmoAgentError as exc:
            raise HTTPException(422, str(exc)) from None
        return HTMLResponse(text, headers={"Content-Security-Policy": f"default-src 'none'; img-src 'self'; "
                                           f"style-src 'nonce-{nonce}'; script-src 'nonce-{nonce}'; connect-src 'self'"})

    @app.get("/")
    def home(request: Request):
        return html_page(lambda nonce: list_page(library, dict(request.query_params), nonce))

    @app.get("/run/{ref:path}")
    def run(ref: str):
        return html_page(lambda nonce: run_page(library, run_dir(ref), nonce))

    @app.get("/eval/{ref:path}")
    def evaluation(ref: str):
        path = where(ref)
        if not any((path / name).is_file() for name in EVAL_FILES):
            raise HTTPException(404, "not an eval directory")
        return html_page(lambda nonce: eval_page(library, path, nonce))

    @app.get("/compare")
    def compare(a: str, b: str | None = None):
        return html_page(lambda nonce: compare_page(library, run_dir(a), run_dir(b) if b else None, nonce))

    @app.get("/file/{ref:path}")
    def file(ref: str):
        path = where(ref)
        if path.suffix.lower() not in IMAGES or not path.is_file():
            raise HTTPException(404, "ui serves the screenshots of runs, nothing else")
        return FileResponse(path, media_type=IMAGES[path.suffix.lower()])

    def events(follow) -> StreamingResponse:
        return StreamingResponse(follow(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})

    @app.get("/live/run/{ref:path}")
    def live_run(ref: str, request: Request, shown: int = 0):
        path = run_dir(ref)

        async def follow():
            sent, quiet = shown, time.monotonic()
            while not await request.is_disconnected():
                try:
                    trace = library.trace(path)
                except (MolmoAgentError, OSError):
                    trace = None
                for step in trace.steps[sent:] if trace else []:
                    sent += 1
                    data = {"chip": step_chip(step), "panel": step_panel(library, trace, step)}
                    yield f"event: step\ndata: {json.dumps(data)}\n\n"
                    quiet = time.monotonic()
                if trace is not None and trace.end is not None:
                    yield f"event: end\ndata: {json.dumps({'html': end_html(trace)})}\n\n"
                    return
                if time.monotonic() - quiet > 15:
                    yield ": still here\n\n"
                    quiet = time.monotonic()
                await asyncio.sleep(LIVE_POLL_S)

        return events(follow)

    @app.get("/live/eval/{ref:path}")
    def live_eval(ref: str, request: Request):
        path = where(ref)

        async def follow():
            last = None
            while not await request.is_disconnected():
                text, finished = eval_live_html(library, path)
                digest = hashlib.sha1(text.encode()).hexdigest()
                if digest != last:
                    last = digest
                    yield f"event: progress\ndata: {json.dumps({'html': text, 'finished': finished})}\n\n"
                if finished:
                    return
                await asyncio.sleep(4 * LIVE_POLL_S)

        return events(follow)

    @app.exception_handler(HTTPException)
    def refused(request, exc: HTTPException):
        return JSONResponse({"error": exc.detail}, exc.status_code)

    answer_only_to(app, allowed_hosts, "ui")  # added last, so it runs first
    return app


class UiServer(AppServer):
    """The app on uvicorn, over `folders`."""

    def __init__(self, folders: list[Path], *, host: str = "127.0.0.1", port: int = 8765, token: str | None = None,
                 allow_hosts: list[str] = ()) -> None:
        if token is None and not is_loopback(host):
            raise ConfigError(f"refusing to serve traces on {host} without --token: anyone who can reach it could "
                              "read them (typed pages, screenshots); pass --token, or listen on 127.0.0.1")
        self.library = Library(folders)
        app = make_app(self.library, token=token, allowed_hosts=expected_hosts(host, list(allow_hosts)))
        super().__init__(app, host=host, port=port, name="molmo-ui")
