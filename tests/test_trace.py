"""The trace on disk: readable after kill -9 and Ctrl-C, and refused when malformed."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from molmo_agent.browser import Browser
from molmo_agent.errors import TraceError
from molmo_agent.tasks import Task
from molmo_agent.trace import read_trace

from .conftest import CLI, run_task, settings

# Three quick steps, then one long wait: the tests act while it runs, however loaded the machine.
SLOW_PLAN = 'click "Accept all", wait 0.2s, click "Round trip", wait 120s'


def _start(tmp_path, demo_url, **popen):
    return subprocess.Popen([*CLI, "run", SLOW_PLAN, "--url", demo_url, "--pointer", "dom", "--out", str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, **popen)


def _as_a_background_job():
    """What a non-interactive shell does to a command started with `&`: SIGINT ignored, inherited."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _wait_for_steps(tmp_path, count, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        files = list(tmp_path.glob("*/trace.jsonl"))
        if files and files[0].read_text().count('"type":"step"') >= count:
            return files[0].parent
        time.sleep(0.05)
    raise AssertionError(f"no {count} steps recorded within {timeout}s")


def test_sigkill_leaves_a_readable_trace(tmp_path, demo_url):
    process = _start(tmp_path, demo_url)
    run_dir = _wait_for_steps(tmp_path, 3)
    os.killpg(process.pid, signal.SIGKILL)  # the agent, its driver and the browser, all at once
    process.wait(10)
    trace = read_trace(run_dir)
    assert trace.end is None and trace.status == "incomplete"
    assert len(trace.steps) >= 3
    assert [s.index for s in trace.steps] == list(range(1, len(trace.steps) + 1))
    assert all(trace.screenshot_path(s.observation.screenshot).is_file() for s in trace.steps)


@pytest.mark.parametrize("to", ["the process", "its group, as a terminal sends it"])
def test_ctrl_c_stops_a_long_wait_at_once_and_ends_the_trace_as_interrupted(tmp_path, demo_url, to):
    """SIGINT during the plan's `wait 120s`: to the process alone (`kill -INT`), or to the whole group, so that
    Playwright's driver and Chromium get it too. Started as a background job (SIGINT inherited ignored)."""
    process = _start(tmp_path, demo_url, preexec_fn=_as_a_background_job)
    run_dir = _wait_for_steps(tmp_path, 3)
    sent = time.monotonic()
    (os.kill if to == "the process" else os.killpg)(process.pid, signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    said = (stdout + stderr).decode()
    assert process.returncode == 1, said
    assert time.monotonic() - sent < 30, "the 120 s wait was cut short"
    trace = read_trace(run_dir)
    assert trace.status == "interrupted", trace.end
    assert trace.end.reason == "stopped by the user" and trace.end.steps == len(trace.steps) >= 3, said
    assert f"interrupted after {trace.end.steps} steps" in said and "Traceback" not in said
    assert "Future exception was never retrieved" not in said, "the driver's dying calls are not the user's business"


HELD = """
import os, signal
from molmo_agent import stopping

stopping.listen()
with stopping.held():
    os.kill(os.getpid(), signal.SIGINT)
    for _ in range(10**6):  # the handler runs in here, at once
        pass
    print("the block ran to its end", flush=True)
print("after the block", flush=True)
"""


def test_a_ctrl_c_while_a_record_is_written_lands_after_it():
    """The writer holds Ctrl-C while it writes and counts a record (a SIGINT inside its fsync once left a step
    on disk that the end record did not count): the block finishes, and the stop comes right after it."""
    done = subprocess.run([sys.executable, "-c", HELD], capture_output=True, text=True, timeout=60)
    assert done.stdout == "the block ran to its end\n", done.stdout + done.stderr
    assert "KeyboardInterrupt" in done.stderr and done.returncode != 0


def test_a_line_cut_short_is_dropped_but_the_rest_reads(tmp_path, demo_url):
    process = _start(tmp_path, demo_url)
    run_dir = _wait_for_steps(tmp_path, 2)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(10)
    file = run_dir / "trace.jsonl"
    whole = read_trace(run_dir)
    file.write_text(file.read_text() + '{"type": "step", "index": 9, "observ')
    assert len(read_trace(run_dir).steps) == len(whole.steps)


def test_recorded_traces_and_task_files_match_the_published_schemas(demo_traces, tmp_path):
    import jsonschema
    import yaml

    root = Path(__file__).parents[1]
    trace_schema = json.loads((root / "traces" / "schema.json").read_text())
    lines = (demo_traces["a2"] / "trace.jsonl").read_text().splitlines()
    assert [json.loads(line)["type"] for line in (lines[0], lines[-1])] == ["header", "end"]
    for line in lines:
        jsonschema.validate(json.loads(line), trace_schema)
    task_schema = json.loads((root / "tasks" / "schema.json").read_text())
    task_files = sorted((root / "tasks").rglob("*.yaml"))
    assert len(task_files) >= 17
    for path in task_files:
        jsonschema.validate(yaml.safe_load(path.read_text()), task_schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**json.loads(lines[1]), "intent": {"name": "teleport"}}, trace_schema)


def _minimal_trace(tmp_path, step_changes):
    header = {"type": "header", "run_id": "r", "created_at": "now", "goal": "g", "start_url": None,
              "policy": "steps", "pointer": {"name": "dom"}, "viewport": [1280, 720], "scale": 1.0,
              "max_steps": 5, "versions": {}}
    step = {"type": "step", "index": 1, "observation": {
        "url": "http://x/", "title": "", "screenshot": "screens/0001.png", "image_size": [1280, 720],
        "tabs": [], "active_tab": 0, "dom_signature": ""}, "intent": {"name": "click", "target": "A"},
        "outcome": {"ok": True}}
    step.update(step_changes)
    (tmp_path / "trace.jsonl").write_text(json.dumps(header) + "\n" + json.dumps(step) + "\n")
    return tmp_path


@pytest.mark.parametrize("changes, message", [
    ({"intent": {"name": "teleport"}}, "intent"),
    ({"observation": {"url": "x", "title": "", "screenshot": "../../etc/passwd", "image_size": [1, 1],
                      "tabs": [], "active_tab": 0, "dom_signature": ""}}, "outside its run directory"),
    ({"unexpected": 1}, "unexpected"),
])
def test_malformed_or_hostile_traces_are_refused(tmp_path, changes, message):
    with pytest.raises(TraceError, match=message):
        read_trace(_minimal_trace(tmp_path, changes))


def test_a_valid_minimal_trace_reads(tmp_path):
    trace = read_trace(_minimal_trace(tmp_path, {}))
    assert trace.steps[0].intent.target == "A" and trace.status == "incomplete"


def test_not_a_trace(tmp_path):
    with pytest.raises(TraceError, match="holds no trace.jsonl"):
        read_trace(tmp_path)


def test_bad_json_in_the_middle_is_refused(tmp_path):
    run = _minimal_trace(tmp_path, {})
    lines = (run / "trace.jsonl").read_text().splitlines()
    (run / "trace.jsonl").write_text(lines[0] + "\n{not json\n" + lines[1] + "\n")
    with pytest.raises(TraceError, match="trace.jsonl:2: not a valid trace record"):
        read_trace(run)


def test_each_step_is_on_disk_before_the_next_action_with_what_it_changed(tmp_path, pages_url, monkeypatch):
    """The screenshot after an action arrives while the loop decides and grounds the next step; the step's
    record, which says whether the pixels changed, waits for it, and is still in the file before anything
    else is done to the page (a kill loses no finished step)."""
    on_disk, execute = [], Browser.execute

    def counting(browser, action, *args, **kwargs):
        files = list(tmp_path.glob("*/trace.jsonl"))
        on_disk.append(files[0].read_text().count('"type":"step"') if files else 0)
        return execute(browser, action, *args, **kwargs)

    monkeypatch.setattr(Browser, "execute", counting)
    task = Task(id="clicks", goal='click "Alpha", wait 0.1s, click "Bravo", click "Charlie"', url=pages_url + "clicks.html")
    result = run_task(task, settings(tmp_path))
    assert result.status == "success", result.end.reason
    assert on_disk == [0, 1, 2, 3]
    steps = read_trace(result.run_dir).steps
    assert [s.outcome.changed for s in steps] == [["dom", "pixels"], [], ["dom", "pixels"], ["dom", "pixels"], []]
    assert all("pixels" in s.timings for s in steps[:4])
