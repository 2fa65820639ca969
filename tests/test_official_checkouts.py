"""The benchmarks' own judge code from a real checkout, where one is at hand: an eval's folders judged by
`eval --judge-official`, then by the same code run by hand as its README says, with one scripted judge model
answering both and our own WebJudge. Per task, all three verdicts must agree.

Their code is the user's (cloned from GitHub, with its own dependencies), so these run only when told where:
    MOLMO_AGENT_MOLMOWEB=/path/to/molmoweb  MOLMO_AGENT_MOLMOWEB_PYTHON=/path/to/its/python  pytest tests/test_official_checkouts.py
"""

import contextlib
import json
import os
import shutil
import subprocess
import threading
from http.server import ThreadingHTTPServer

import pytest

from molmo_agent.evaluate import finished_results

from .conftest import cli, running
from .molmoweb_server import molmoweb_server
from .openai_server import JsonHandler, chat_completion, send_json
from .test_live_benchmarks import MIND2WEB, SCRIPTS, _maps

MOLMOWEB = os.environ.get("MOLMO_AGENT_MOLMOWEB")
PYTHON = os.environ.get("MOLMO_AGENT_MOLMOWEB_PYTHON")
FINAL = {"lasagna": "success", "soup": "failure", "flights": "failure"}
"""the scripted judge's last word on each task, by the task's words"""


class ByKind:
    """Answers WebJudge's three kinds of call, ours or theirs, by what the system text asks for: key points, a
    screenshot's score (4: every one is kept), or the final status (from FINAL by the task's words)."""

    def __init__(self) -> None:
        self.models: list[str] = []
        self.lock = threading.Lock()

    def answer(self, body: dict) -> str:
        system = body["messages"][0]["content"]
        system = system if isinstance(system, str) else " ".join(p.get("text", "") for p in system)
        user = body["messages"][1]["content"]
        text = user if isinstance(user, str) else " ".join(p.get("text", "") for p in user if p["type"] == "text")
        with self.lock:
            self.models.append(body.get("model"))
        if "Status" in system:
            verdict = next((v for words, v in FINAL.items() if words in text.lower()), "failure")
            return f'Thoughts: checked each key point.\nStatus: "{verdict}"'
        if "Score" in system:
            return "**Reasoning**: The page shows what the task needs.\n\n**Score**: 4"
        return "**Key Points**:\n1. Open the item the task names\n2. Report its detail"


@contextlib.contextmanager
def by_kind_judge():
    judge = ByKind()

    class Handler(JsonHandler):
        def do_POST(self) -> None:
            body = self.json_body()
            send_json(self, 200, chat_completion(body.get("model"), judge.answer(body)))

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    with running(server) as base:
        yield f"{base}/v1", judge


@pytest.mark.skipif(not MOLMOWEB, reason="set MOLMO_AGENT_MOLMOWEB to a checkout of allenai/molmoweb")
def test_molmowebs_own_judge_command_agrees_with_ours_on_every_task(tmp_path, pages_url, ocr_pointer):
    out = tmp_path / "eval"
    python = ["--official-python", PYTHON] if PYTHON else []
    with molmoweb_server(ocr_pointer, SCRIPTS) as (policy, _), by_kind_judge() as (judge, asked):
        done = cli("eval", "mind2web", str(MIND2WEB), "--policy", "molmoweb", "--endpoint", f"{policy}/v1",
                   "--model", "allenai/MolmoWeb-8B", *_maps(pages_url), "--judge", judge, "--judge-model", "judge-vl",
                   "--judge-official", MOLMOWEB, *python, "--out", str(out), timeout=900)
        assert done.returncode == 1, done.stdout + done.stderr  # two of three fail
        results = {r.task: r for r in finished_results(out)}

        # by hand, as MolmoWeb's benchmarks/README says, on a copy of the same folder
        by_hand = tmp_path / "by-hand"
        shutil.copytree(out / "molmoweb", by_hand)
        for verdict in by_hand.glob("*/webjudge_online_mind2web_verdict.json"):
            verdict.unlink()
        ran = subprocess.run([PYTHON or "python", "-m", "benchmarks.benchmarks", "judge", "--benchmark",
                              "online_mind2web", "--results_dir", str(by_hand), "--data_path",
                              str(by_hand / "online_mind2web.json"), "--judge_type", "webjudge_online_mind2web",
                              "--num_workers", "3"], cwd=MOLMOWEB, capture_output=True, text=True, timeout=600,
                             env={**os.environ, "OPENAI_BASE_URL": judge, "OPENAI_API_KEY": "EMPTY"})
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "SUCCESS: 1  FAILURE: 2  MISSING: 0" in ran.stdout, ran.stdout
    theirs = {d.name: json.loads((d / "webjudge_online_mind2web_verdict.json").read_text())["verdict"].lower()
              for d in by_hand.iterdir() if d.is_dir()}
    assert {t: r.official.verdict for t, r in results.items()} == theirs, "judge --official reads back their verdicts"
    assert {t: r.verdict for t, r in results.items()} == theirs, "our WebJudge agrees on every task"
    assert set(asked.models) == {"o4-mini", "judge-vl"}, "their judge names its own model; ours, the one given"
