"""The bundled demo task, end to end, through the library and the command line."""

import json

import pytest

from molmo_agent.trace import read_trace

from .conftest import cli, run_task, settings


@pytest.mark.parametrize("pointer", ["ocr", "dom"])
def test_demo_task_succeeds(tmp_path, demo_task, ocr_pointer, pointer):
    result = run_task(demo_task, settings(tmp_path, pointer=pointer),
                      pointer=ocr_pointer if pointer == "ocr" else None)
    assert result.status == "success", result.end.reason
    trace = read_trace(result.run_dir)
    assert trace.status == "success" and trace.header.pointer["name"] == pointer
    assert result.end.final_url.endswith("confirm.html")
    typed = [s for s in trace.steps if s.action.name == "type"]
    assert typed and all(s.outcome.field_value_ok for s in typed)
    assert all((result.run_dir / s.observation.screenshot).stat().st_size > 1000 for s in trace.steps)
    dialog = [e for s in trace.steps for e in s.outcome.events if "dialog" in e]
    assert dialog == ["confirm dialog accepted: Book MA 417 for Ada Lovelace?"]


def test_demo_command(tmp_path):
    done = cli("demo", "--pointer", "dom", "--out", str(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "success after 14 steps" in done.stdout
    [run_dir] = tmp_path.iterdir()
    assert f"trace: {run_dir}" in done.stdout


def test_run_command_with_the_issue_example(tmp_path, demo_url):
    goal = ('click "Accept all", click "Round trip", type "SFO" into "From", type "JFK" into "To", '
            'click "Search flights"')
    done = cli("run", goal, "--url", demo_url, "--pointer", "dom", "--out", str(tmp_path), "--scale", "2")
    assert done.returncode == 0, done.stdout + done.stderr
    [run_dir] = tmp_path.iterdir()
    trace = read_trace(run_dir)
    assert "from=SFO&to=JFK" in trace.end.final_url and "Round+trip" in trace.end.final_url
    assert trace.header.scale == 2 and trace.steps[0].observation.image_size == (2560, 1440)


def test_failed_task_exits_1_with_the_reason(tmp_path, demo_url):
    done = cli("run", 'click "Accept all", click "Fly to the moon"', "--url", demo_url, "--pointer", "dom",
               "--out", str(tmp_path))
    assert done.returncode == 1
    assert "step 2: no visible element is named 'Fly to the moon'" in done.stdout


@pytest.mark.parametrize("args, message", [
    (["run", "book a flight from SFO to JFK", "--url", "http://127.0.0.1:9/"], "free-form goal"),
    (["run", 'click "x"', "--pointer", "telepathy"], "--pointer 'telepathy' is not one of"),
    (["run", 'click "x"', "--viewport", "wide"], "is not WIDTHxHEIGHT"),
    (["run", 'click "x"', "--secret", "nope"], "--secret expects NAME=value"),
    (["run", 'click "x"', "--wait-scale", "0.1"], "--wait-scale is for --policy molmoweb"),
    (["run", 'click "x"', "--pointer", "http"], "--pointer http needs --endpoint"),
    (["run", "--task", "missing.yaml"], "cannot read task file missing.yaml"),
    (["run", 'click "x"', "--browser", "/no/such/chrome"], "--browser points to '/no/such/chrome'"),
    (["run", 'click "x"', "--site-url", "http://demo.test/flights"], "--site-url 'http://demo.test/flights' must be "
                                                                     "an origin"),
])
def test_bad_usage_exits_2_with_one_line(tmp_path, args, message):
    done = cli(*args, "--out", str(tmp_path))
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], done.stderr
    assert not list(tmp_path.iterdir()), "nothing is recorded for a run that never started"


def test_schema_command_prints_the_published_schema():
    from pathlib import Path

    done = cli("schema")
    published = Path(__file__).parents[1] / "traces" / "schema.json"
    assert json.loads(done.stdout) == json.loads(published.read_text())


def test_task_schema_is_published():
    from pathlib import Path

    done = cli("schema", "--task")
    published = Path(__file__).parents[1] / "tasks" / "schema.json"
    assert json.loads(done.stdout) == json.loads(published.read_text())
