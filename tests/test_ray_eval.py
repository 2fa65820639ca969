"""`eval --executor ray` on a local Ray cluster started and stopped by the tool: episodes, resume, a hung
episode cancelled from the driver, a worker killed mid-episode and retried, nothing left running."""

import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from molmo_agent.evaluate import finished_results

from .conftest import CLI

SUITE = Path(__file__).resolve().parents[1] / "tasks" / "suite"


def _parent(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("PPid:")))


def _ours(pid: int) -> bool:
    """Started by this pytest process (its own browsers for other tests), not left behind by the CLI."""
    while pid > 1:
        pid = _parent(pid)
        if pid == os.getpid():
            return True
    return False


def _processes(*names: str, ours: bool = False) -> list[tuple[int, str]]:
    """Processes whose command line holds one of `names`: outside this test session (what the CLI left
    behind once it exited), or with `ours` inside it too (a worker of the CLI that is running)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if any(name in command for name in names) and (ours or not _ours(int(pid))):
            found.append((int(pid), command))
    return found


LEFTOVERS = ("raylet", "gcs_server", "ray::", "default_worker.py", "chromium", "chrome-linux", "headless_shell")


@pytest.fixture
def nothing_left():
    """After the test, no Ray or Chromium process that was not there before it (some of Chromium's helpers
    leave their parent, so ancestry alone cannot tell whose they are)."""
    before = {pid for pid, _ in _processes(*LEFTOVERS)}
    yield
    time.sleep(2)
    assert [p for p in _processes(*LEFTOVERS) if p[0] not in before] == [], "Ray and Chromium processes are gone"


def _eval(suite: Path, out: Path, *args: str, timeout: float = 300):
    return subprocess.run([*CLI, "eval", str(suite), "--pointer", "dom", "--executor", "ray", "--out", str(out), *args],
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def suite(tmp_path, pages_url):
    folder = tmp_path / "suite"
    folder.mkdir()
    for name in ("portal-iframe", "portal-long-page"):
        (folder / f"{name}.yaml").write_text((SUITE / f"{name}.yaml").read_text().replace("../sites", str(SUITE.parent / "sites")))
    return folder


def test_episodes_run_on_ray_and_resume_and_nothing_is_left(tmp_path, suite, nothing_left):
    assert not _processes("raylet", "gcs_server"), "a Ray cluster was already running"
    done = _eval(suite, tmp_path / "out")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 of 2 episodes succeeded" in done.stdout
    results = finished_results(tmp_path / "out")
    assert {r.task for r in results} == {"portal-iframe", "portal-long-page"} and all(r.success for r in results)
    assert all((tmp_path / "out" / r.trace / "trace.jsonl").is_file() for r in results)
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["executor"] == "ray"
    again = _eval(suite, tmp_path / "out")
    assert again.returncode == 0 and len(finished_results(tmp_path / "out")) == 2, "nothing ran twice"


def test_a_hung_episode_is_cancelled_from_the_driver(tmp_path, suite, pages_url, nothing_left):
    (suite / "hang.yaml").write_text(json.dumps({"id": "hang", "goal": "click 'Alpha'", "url": f"{pages_url}/clicks.html",
                                                 "setup": "while (true) {}"}))
    started = time.monotonic()
    done = _eval(suite, tmp_path / "out", "--time-limit", "8", "--tasks", "hang,portal-iframe")
    assert done.returncode == 1, done.stdout + done.stderr
    results = {r.task: r for r in finished_results(tmp_path / "out")}
    assert "over its time limit" in results["hang"].reason and "cancelled by the driver" in results["hang"].reason
    assert not results["hang"].retried, "a time limit is the episode's own failure"
    assert 8 <= results["hang"].seconds < 30 and time.monotonic() - started < 90
    assert results["portal-iframe"].success


def test_an_episode_whose_worker_is_killed_runs_again_marked_retried(tmp_path, pages_url, nothing_left):
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "slow.yaml").write_text(json.dumps({"id": "slow", "goal": "wait 6, click 'Alpha', done",
                                                 "url": f"{pages_url}/clicks.html"}))
    killed = []

    def kill_the_worker() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if list((tmp_path / "out" / "traces").glob("*-slow/trace.jsonl")):  # the episode has begun
                for pid, _ in _processes("ray::_run_one", ours=True):
                    if _children(pid):  # the one driving a browser
                        os.kill(pid, signal.SIGKILL)
                        killed.append(pid)
                        return
            time.sleep(0.2)

    killer = threading.Thread(target=kill_the_worker)
    killer.start()
    done = _eval(suite, tmp_path / "out")
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


def test_ctrl_c_keeps_finished_results_and_a_second_run_resumes(tmp_path, suite, pages_url, nothing_left):
    (suite / "slow.yaml").write_text(json.dumps({"id": "slow", "goal": "wait 8, click 'Alpha', done",
                                                 "url": f"{pages_url}/clicks.html"}))
    out = tmp_path / "out"
    command = [*CLI, "eval", str(suite), "--tasks", "portal-iframe,slow", "--pointer", "dom", "--executor", "ray",
               "--out", str(out)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (out / "results.jsonl").is_file():
        time.sleep(0.1)
    while time.monotonic() < deadline and not (out / "results.jsonl").read_text().strip():
        time.sleep(0.1)
    process.send_signal(signal.SIGINT)
    stopped = time.monotonic()
    output, _ = process.communicate(timeout=60)
    assert time.monotonic() - stopped < 30 and process.returncode == 1, output
    assert [r.task for r in finished_results(out)] == ["portal-iframe"], "the finished episode is kept"
    assert "1 not finished (run again to resume)" in output
    again = _eval(suite, out, "--tasks", "portal-iframe,slow")
    assert again.returncode == 0, again.stdout + again.stderr
    assert sorted(r.task for r in finished_results(out)) == ["portal-iframe", "slow"], "only the slow one ran again"
