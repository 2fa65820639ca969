"""A stand-in judge model on loopback (OpenAI-compatible), answering each of the judges' calls as a vision
model would, from what it is sent:

- WebVoyager's call: a verdict decided by the agent's final response (`verdicts`: words -> success, failure,
  or garbled, an answer that names no verdict);
- WebJudge's key points: a numbered list; a screenshot: "**Score**: N" with N from `scores` by its label ("step 3",
  "the final page"; 2 otherwise); the final call: a status decided by the task, as above;
- the stand-ins for the benchmarks' own judge code (tests/official/): MolmoWeb's judge as WebVoyager's call,
  Online-Mind2Web's WebJudge as WebJudge's final call, so that each says what ours would on the same episode.

Every request is kept with its system text, user text and the number of images it held.
"""

from __future__ import annotations

import contextlib
import re
import threading
from http.server import ThreadingHTTPServer

from molmo_agent.judges import webjudge, webvoyager

from .conftest import running
from .openai_server import JsonHandler, chat_completion, send_json

SAY = {"webvoyager": {"success": "The final page shows the answer.\nSUCCESS",
                      "failure": "The response does not match the page.\nNOT SUCCESS", "garbled": "Hard to say."},
       "webjudge": {"success": 'All key points are met.\nStatus: "success"',
                    "failure": 'The filter was never applied.\nStatus: "failure"', "garbled": "Unclear."}}


class Call:
    def __init__(self, system: str, text: str, images: list[dict], model: str) -> None:
        """`images`: each image part's `image_url` (its data URL and detail)."""
        self.system, self.text, self.model = system, text, model
        self.images, self.image_parts = len(images), images


class ScriptedJudge:
    def __init__(self, verdicts: dict[str, str], scores: dict[str, int] | None = None, *,
                 reasoning: bool = False) -> None:
        """`reasoning`: refuse `max_tokens` and a temperature with HTTP 400 as OpenAI's API does for its
        reasoning models; `bodies` keeps every request body as it came."""
        self.verdicts, self.scores, self.reasoning = verdicts, scores or {}, reasoning
        self.bodies: list[dict] = []
        self.calls: list[Call] = []
        self.lock = threading.Lock()

    def _verdict(self, text: str, method: str) -> str:
        return SAY[method][next((v for words, v in self.verdicts.items() if words in text), "failure")]

    def answer(self, body: dict) -> str:
        system, content = body["messages"][0]["content"], body["messages"][1]["content"]
        text = "\n".join(p["text"] for p in content if p["type"] == "text")
        with self.lock:
            self.calls.append(Call(system, text, [p["image_url"] for p in content if p["type"] == "image_url"],
                                   body["model"]))
        if system in (webvoyager.SYSTEM, "stand-in webvoyager"):
            return self._verdict(text.split("Final response:", 1)[1].split("\n", 1)[0], "webvoyager")
        if system == webjudge.KEY_POINTS:
            return "The task asks for one thing.\n**Key Points**:\n1. Open the item the task names\n2. Report its detail"
        if system == webjudge.SCREENSHOT:
            label = re.findall(r"Screenshot of (.+):", text)[-1]
            return (f"**Reasoning**: The page shows {label}.\n\nNothing else matters here.\n"
                    f"**Score**: {self.scores.get(label, 2)}")
        if system == webjudge.FINAL:
            return self._verdict(text.split("Key points:", 1)[0], "webjudge")
        if system == "stand-in webjudge":
            return self._verdict(text.split("Actions:", 1)[0], "webjudge")
        raise AssertionError(f"a call no judge makes: {system[:60]!r}")


def _handler(judge: ScriptedJudge):
    class Handler(JsonHandler):
        def do_POST(self) -> None:
            body = self.json_body()
            judge.bodies.append({k: v for k, v in body.items() if k != "messages"})
            if judge.reasoning and ("max_tokens" in body or "temperature" in body):
                send_json(self, 400, {"error": {"type": "invalid_request_error", "param": "max_tokens", "message":
                    "Unsupported parameter: 'max_tokens' is not supported with this model. "
                    "Use 'max_completion_tokens' instead."}})
                return
            send_json(self, 200, chat_completion(body.get("model"), judge.answer(body)))

    return Handler


@contextlib.contextmanager
def judge_server(verdicts: dict[str, str], scores: dict[str, int] | None = None, *, reasoning: bool = False):
    """Yields (OpenAI base URL, the scripted judge)."""
    judge = ScriptedJudge(verdicts, scores, reasoning=reasoning)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(judge))
    server.daemon_threads = True
    with running(server) as base:
        yield f"{base}/v1", judge
