"""A real OpenAI-compatible chat server on loopback that answers like Molmo v1.

It looks at the image it is sent (with the OCR pointer) and answers `<point x=".." y="..">`, in
percent of that image. Faults can be queued: "drop" (close the connection unanswered), "500",
"400", "garbage" (a 200 whose text holds no point), "say:TEXT" (a 200 answering TEXT, as a planner would).
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from molmo_agent.observation import Observation
from molmo_agent.points import Space


class FakeMolmo:
    def __init__(self, pointer) -> None:
        self.pointer = pointer
        self.faults: list[str] = []
        self.requests: list[dict] = []
        self.lock = threading.Lock()

    def answer(self, body: dict) -> str:
        content = body["messages"][0]["content"]
        url = next(p["image_url"]["url"] for p in content if p["type"] == "image_url")
        prompt = next(p["text"] for p in content if p["type"] == "text")
        png = base64.b64decode(url.split(",", 1)[1])
        from PIL import Image
        import io

        size = Image.open(io.BytesIO(png)).size
        field = prompt.startswith("Point to the input field labelled ")
        target = re.sub(r"^Point to the (input field labelled )?", "", prompt).rstrip(".")
        observation = Observation(screenshot=png, image_size=size, viewport=size, scale=1, url="", title="",
                                  tabs=[], active_tab=0, dom_signature="")
        point = self.pointer.locate(target, observation, field=field).points[0]
        assert point.space is Space.IMAGE
        x, y = 100 * point.x / size[0], 100 * point.y / size[1]
        return f'<point x="{x:.1f}" y="{y:.1f}" alt="{target}">{target}</point>'


class JsonHandler(BaseHTTPRequestHandler):
    """What every stand-in server's handler shares: no request log, a JSON body."""

    def log_message(self, *args) -> None:
        pass

    def json_body(self):
        return json.loads(self.rfile.read(int(self.headers["Content-Length"])))


def _handler(model: FakeMolmo):
    class Handler(JsonHandler):
        def do_POST(self) -> None:
            body = self.json_body()
            with model.lock:
                model.requests.append(body)
                fault = model.faults.pop(0) if model.faults else None
            if fault == "drop":
                self.close_connection = True
                self.connection.shutdown(2)
                return
            if fault in ("500", "400"):
                self._send(int(fault), {"error": {"message": f"scripted {fault}"}})
                return
            if fault and fault.startswith("say:"):
                text = fault[4:]
            else:
                text = "I am not sure what you mean." if fault == "garbage" else model.answer(body)
            self._send(200, chat_completion(body.get("model"), text))

        def _send(self, status: int, payload) -> None:
            send_json(self, status, payload)

    return Handler


def send_json(handler: BaseHTTPRequestHandler, status: int, payload) -> None:
    data = json.dumps(payload).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


def chat_completion(model: str | None, text: str) -> dict:
    return {"id": "x", "object": "chat.completion", "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}]}


@contextlib.contextmanager
def fake_molmo_server(pointer):
    from .conftest import running

    model = FakeMolmo(pointer)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(model))
    server.daemon_threads = True
    with running(server) as base:
        yield f"{base}/v1", model
