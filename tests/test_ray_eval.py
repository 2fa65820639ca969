"""`eval --executor ray` on a local Ray cluster started and stopped by the tool: episodes, resume, a hung
episode cancelled from the driver, a worker killed mid-episode and retried, nothing left running."""

import json
import os
import signal
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest

from molmo_agent.evaluate import finished_results
from molmo_agent.trace import read_trace

from .conftest import CLI

SUITE = Path(__file__).resolve().parents[1] / "tasks" / "suite"


MARK = "MOLMO_AGENT_TEST_MARK"


def _environ(pid: str) -> bytes:
    try:
        return Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return b""


def _processes(marker: str, *names: str) -> list[tuple[int, str]]:
    """Processes that carry this test's marker in their environment (the CLI it started, Ray's services and
    workers, Chromium: each inherits it), whose command line holds one of `names` (any, without names). What
    else runs on the machine, other tests' browsers or another job's Ray, is never counted."""
    found, tag = [], f"{MARK}={marker}".encode()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        if tag not in _environ(pid).split(b"\0"):
            continue
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if not names or any(name in command for name in names):
            found.append((int(pid), command))
    return found


@pytest.fixture
def marker():
    """A mark in the environment of what the test starts; after the test, nothing that carries it is left."""
    marker = uuid.uuid4().hex
    yield marker
    deadline = time.monotonic() + 30
    while (left := _processes(marker)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert left == [], "Ray and Chromium processes are gone"


def _env(marker: str) -> dict:
    return {**os.environ, MARK: marker}


def _eval(suite: Path, out: Path, marker: str, *args: str, executor: str = "ray", timeout: float = 300):
    return subprocess.run([*CLI, "eval", str(suite), "--pointer", "dom", "--executor", executor, "--out", str(out),
                           *args], capture_output=True, text=True, timeout=timeout, env=_env(marker))


@pytest.fixture
def suite(tmp_path, pages_url):
    folder = tmp_path / "suite"
    folder.mkdir()
    for name in ("portal-iframe", "portal-long-page"):
        (folder / f"{name}.yaml").write_text((SUITE / f"{name}.yaml").read_text().replace("../sites", str(SUITE.parent / "sites")))
    return folder


def test_episodes_run_on_ray_and_resume_and_nothing_is_left(tmp_path, suite, marker):
    done = _eval(suite, tmp_path / "out", marker)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 of 2 episodes succeeded" in done.stdout
    results = finished_results(tmp_path / "out")
    assert {r.task for r in results} == {"portal-iframe", "portal-long-page"} and all(r.success for r in results)
    assert all((tmp_path / "out" / r.trace / "trace.jsonl").is_file() for r in results)
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["executor"] == "ray"
    again = _eval(suite, tmp_path / "out", marker)
    assert again.returncode == 0 and len(finished_results(tmp_path / "out")) == 2, "nothing ran twice"


def test_a_hung_episode_is_cancelled_from_the_driver(tmp_path, suite, pages_url, marker):
    (suite / "hang.yaml").write_text(json.dumps({"id": "hang", "goal": "click 'Alpha'", "url": f"{pages_url}/clicks.html",
                                                 "setup": "while (true) {}", "time_limit_s": 8}))
    done = _eval(suite, tmp_path / "out", marker, "--tasks", "hang,portal-iframe")
    assert done.returncode == 1, done.stdout + done.stderr
    results = {r.task: r for r in finished_results(tmp_path / "out")}
    assert "over its time limit" in results["hang"].reason and "cancelled by the driver" in results["hang"].reason
    assert not results["hang"].retried, "a time limit is the episode's own failure"
    # At its limit plus the grace (10 s) it is cancelled, 5 s later forced: well inside a minute, however loaded.
    assert 8 <= results["hang"].seconds < 60
    assert results["portal-iframe"].success


def test_an_episode_whose_worker_is_killed_runs_again_marked_retried(tmp_path, pages_url, marker):
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "slow.yaml").write_text(json.dumps({"id": "slow", "goal": "wait 15, click 'Alpha', done",
                                                 "url": f"{pages_url}/clicks.html"}))
    killed = []

    def kill_the_worker() -> None:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            if list((tmp_path / "out" / "traces").glob("*-slow/trace.jsonl")):  # the episode has begun
                for pid, _ in _processes(marker, "ray::_run_one"):
                    if _children(pid):  # the one driving a browser
                        os.kill(pid, signal.SIGKILL)
                        killed.append(pid)
                        return
            time.sleep(0.2)

    killer = threading.Thread(target=kill_the_worker)
    killer.start()
    done = _eval(suite, tmp_path / "out", marker)
    killer.join()
    assert killed, "the episode's worker was found and killed"
    assert done.returncode == 0, done.stdout + done.stderr
    [result] = finished_results(tmp_path / "out")
    assert result.success and result.retried.startswith("the worker died: WorkerCrashedError"), result
    assert len(list((tmp_path / "out" / "traces").iterdir())) == 2, "the killed try's partial trace is kept"


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def test_ray_options_are_checked_before_anything_starts(tmp_path, suite):
    done = subprocess.run([*CLI, "eval", str(suite), "--executor", "spark", "--out", str(tmp_path / "o")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "--executor 'spark' is not one of local, ray" in done.stderr
    done = subprocess.run([*CLI, "eval", str(suite), "--ray-address", "10.0.0.1:6379", "--out", str(tmp_path / "o")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "--ray-address is for --executor ray" in done.stderr


@pytest.mark.parametrize("executor", ["local", "ray"])
def test_ctrl_c_stops_an_eval_at_once_keeps_finished_results_and_a_second_run_resumes(tmp_path, suite, marker,
                                                                                      pages_url, executor):
    """SIGINT once one episode is recorded, while the other sits in a two-minute wait: the eval stops at once,
    the finished result is kept, the stopped episode's trace ends "interrupted", and a second run runs only it."""
    slow = {"id": "slow", "goal": "wait 120, click 'Alpha', done", "url": f"{pages_url}/clicks.html"}
    (suite / "slow.yaml").write_text(json.dumps(slow))
    out = tmp_path / "out"
    command = [*CLI, "eval", str(suite), "--tasks", "portal-iframe,slow", "--pointer", "dom", "--executor", executor,
               "--workers", "2", "--out", str(out)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=_env(marker))
    deadline = time.monotonic() + 240

    def both_under_way() -> bool:  # one episode finished, the other begun (its trace has a header)
        results, slow_traces = out / "results.jsonl", list((out / "traces").glob("*-slow/trace.jsonl"))
        return results.is_file() and bool(results.read_text().strip()) and bool(slow_traces) and \
            bool(slow_traces[0].read_text().strip())

    while time.monotonic() < deadline and not both_under_way():
        time.sleep(0.1)
    process.send_signal(signal.SIGINT)
    stopped = time.monotonic()
    output, _ = process.communicate(timeout=90)
    assert process.returncode == 1, output
    assert time.monotonic() - stopped < 60, "the two-minute wait was cut short"
    assert [r.task for r in finished_results(out)] == ["portal-iframe"], "the finished episode is kept"
    assert "1 not finished (run again to resume)" in output
    [stopped_trace] = (out / "traces").glob("*-slow")
    assert read_trace(stopped_trace).status == "interrupted"
    (suite / "slow.yaml").write_text(json.dumps({**slow, "goal": "wait 1, click 'Alpha', done"}))
    again = _eval(suite, out, marker, "--tasks", "portal-iframe,slow", executor=executor)
    assert again.returncode == 0, again.stdout + again.stderr
    assert sorted(r.task for r in finished_results(out)) == ["portal-iframe", "slow"], "only the slow one ran again"
