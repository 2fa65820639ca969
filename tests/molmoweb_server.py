"""A stand-in for a MolmoWeb checkpoint on loopback, speaking both of the APIs it is served through: MolmoWeb's
own `POST /predict` and an OpenAI-compatible `POST /v1/chat/completions` (as vLLM serves it).

It answers a script of steps, one per request, in MolmoWeb's JSON. Steps that point find their target in
the screenshot they were sent (with the OCR pointer) and answer in percent of that image, so a wrong image
or a wrong mapping shows as a missed click. Every request is kept: the prompt, the image size, the sampling.
Faults can be queued: "predictor-error" (a 200 saying "Predictor error: ..."), "500".
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import threading
from http.server import ThreadingHTTPServer

from PIL import Image

from molmo_agent.observation import Observation

from .conftest import running
from .openai_server import JsonHandler, chat_completion, send_json


class Seen:
    def __init__(self, prompt: str, png: bytes, sampling: dict, past_actions=None) -> None:
        self.prompt, self.png, self.sampling, self.past_actions = prompt, png, sampling, past_actions
        self.image = Image.open(io.BytesIO(png))


class ScriptedMolmoWeb:
    def __init__(self, pointer, script: list | dict) -> None:
        """`script`: ("click", TARGET) | ("field", LABEL[, DX]) (DX: CSS px right of the field's centre) | ("select", LABEL, OPTION) | ("action", DICT)
        | ("raw", TEXT); each answered with a thought naming it. Or, for many episodes, {words of a goal:
        [steps of its 1st episode, steps of its 2nd, ...]}: the step is the one after those in the prompt's
        history, and the episodes' scripts are taken in turn."""
        self.pointer = pointer
        self.script = dict(script) if isinstance(script, dict) else list(script)
        self.episodes: dict[str, int] = {}
        self.seen: list[Seen] = []
        self.faults: list[str] = []
        self.lock = threading.Lock()

    def _percent(self, target: str, png: bytes, field: bool, dx: float = 0.0) -> dict:
        size = Image.open(io.BytesIO(png)).size
        observation = Observation(screenshot=png, image_size=size, viewport=size, scale=1, url="", title="",
                                  tabs=[], active_tab=0, dom_signature="")
        point = self.pointer.locate(target, observation, field=field).points[0]
        return {"x": round(100 * (point.x + dx) / size[0], 2), "y": round(100 * point.y / size[1], 2)}

    def _next(self, prompt: str):
        if isinstance(self.script, list):
            return self.script.pop(0) if self.script else None
        goal = prompt.split("# GOAL\n", 1)[-1].split("\n", 1)[0]
        words = next(w for w in self.script if w in goal)
        done = prompt.count("## Step ")
        with self.lock:
            if done == 0:
                self.episodes[words] = self.episodes.get(words, 0) + 1
            scripts = self.script[words]
            steps = scripts[(self.episodes[words] - 1) % len(scripts)]
        return steps[done] if done < len(steps) else None

    def answer(self, png: bytes, prompt: str = "") -> str:
        step = self._next(prompt) or ("action", {"name": "send_msg_to_user", "msg": "[EXIT]"})
        kind = step[0]
        if kind == "raw":
            return step[1]
        if kind == "click":
            action = {"name": "click", **self._percent(step[1], png, field=False)}
        elif kind == "field":
            action = {"name": "click", **self._percent(step[1], png, field=True, dx=step[2] if len(step) > 2 else 0.0)}
        elif kind == "select":
            action = {"name": "select_option", **self._percent(step[1], png, field=True), "option": step[2]}
        else:
            action = step[1]
        return json.dumps({"thought": f"Step: {step[1] if kind != 'action' else action['name']}", "action": action})

    def take(self, seen: Seen) -> str | None:
        with self.lock:
            self.seen.append(seen)
            return self.faults.pop(0) if self.faults else None


def _handler(model: ScriptedMolmoWeb):
    class Handler(JsonHandler):
        def do_POST(self) -> None:
            body = self.json_body()
            if self.path == "/predict":
                png = base64.b64decode(body["image_base64"], validate=True)
                seen = Seen(body["prompt"], png, {k: body.get(k) for k in ("temperature", "top_p")},
                            body.get("past_actions"))
            else:
                content = body["messages"][0]["content"]
                url = next(p["image_url"]["url"] for p in content if p["type"] == "image_url")
                png = base64.b64decode(url.split(",", 1)[1])
                prompt = next(p["text"] for p in content if p["type"] == "text")
                seen = Seen(prompt, png, {k: body.get(k) for k in ("temperature", "top_p", "max_tokens")})
            fault = model.take(seen)
            if fault == "500":
                return send_json(self, 500, "scripted failure")
            text = "Predictor error: all predictors are busy" if fault == "predictor-error" else model.answer(png, seen.prompt)
            send_json(self, 200, text if self.path == "/predict" else chat_completion(body.get("model"), text))

    return Handler


@contextlib.contextmanager
def molmoweb_server(pointer, script: list):
    """Yields (base URL, the scripted model): MolmoWeb's API at BASE/predict, OpenAI's at BASE/v1."""
    model = ScriptedMolmoWeb(pointer, script)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(model))
    server.daemon_threads = True
    with running(server) as base:
        yield base, model
