"""The `http` pointer and the planner policy against a real OpenAI-compatible server on loopback."""

import base64
import json
from pathlib import Path

import pytest

from molmo_agent.pointers.http import HttpPointer
from molmo_agent.pointers.prompts import model_family
from molmo_agent.tasks import Task
from molmo_agent.trace import read_trace

from .conftest import cli, run_task, settings
from .openai_server import fake_molmo_server

PLAN = 'click "Accept all", click "Round trip", type "SFO" into "From", type "JFK" into "To", click "Search flights"'


@pytest.fixture
def molmo(ocr_pointer):
    with fake_molmo_server(ocr_pointer) as served:
        yield served


def _run(tmp_path, demo_url, endpoint, plan=PLAN, scale=1.0):
    # A long timeout: the stand-in reads the screenshot with OCR, and a loaded machine must not turn a slow
    # answer into a retry (the tests count requests).
    pointer = HttpPointer(endpoint, "allenai/Molmo-7B-D-0924", timeout_s=120, retries=3)
    return run_task(Task(id="http", goal=plan, url=demo_url), settings(tmp_path, scale=scale), pointer=pointer)


def test_http_pointer_runs_a_task_at_scale_2(tmp_path, demo_url, molmo):
    endpoint, model = molmo
    result = _run(tmp_path, demo_url, endpoint, scale=2)
    assert result.status == "success", result.end.reason
    assert "from=SFO&to=JFK" in result.end.final_url
    assert len(model.requests) == 5
    first = model.requests[0]
    assert first["model"] == "allenai/Molmo-7B-D-0924"
    assert first["messages"][0]["content"][0]["image_url"]["url"].startswith("data:image/png;base64,")
    grounding = read_trace(result.run_dir).steps[2].grounding[0]
    assert grounding.raw.startswith("<point x=") and grounding.points[0].space == "percent"
    assert grounding.image_size == (1280, 720)  # the HiDPI screenshot is sent at CSS size


@pytest.mark.parametrize("faults", [["drop", "drop"], ["500"], ["drop", "500", "500"]])
def test_dropped_connections_and_5xx_are_retried(tmp_path, demo_url, molmo, faults):
    endpoint, model = molmo
    model.faults = list(faults)
    result = _run(tmp_path, demo_url, endpoint, plan='click "Accept all"')
    assert result.status == "success", result.end.reason
    assert len(model.requests) == len(faults) + 1


def test_a_400_is_not_retried(tmp_path, demo_url, molmo):
    endpoint, model = molmo
    model.faults = ["400"]
    result = _run(tmp_path, demo_url, endpoint, plan='click "Accept all"')
    assert result.status == "failed" and "HTTP 400" in result.end.reason
    assert len(model.requests) == 1


def test_garbage_model_text_is_a_recorded_parse_failure(tmp_path, demo_url, molmo):
    endpoint, model = molmo
    model.faults = ["garbage"]
    result = _run(tmp_path, demo_url, endpoint, plan='click "Accept all"')
    assert result.status == "failed"
    step = read_trace(result.run_dir).steps[0]
    assert not step.outcome.ok and "no point in model text" in step.outcome.error
    assert step.grounding[0].raw == "I am not sure what you mean."
    assert step.action is None


def test_unreachable_endpoint_fails_the_step_after_retries(tmp_path, demo_url):
    result = _run(tmp_path, demo_url, "http://127.0.0.1:9/v1", plan='click "Accept all"')
    assert result.status == "failed" and "cannot reach http://127.0.0.1:9/v1" in result.end.reason


def test_model_family_picks_the_prompt():
    assert model_family("allenai/Molmo-7B-D-0924") == "molmo"
    assert model_family("allenai/MolmoWeb-8B") == "molmoweb"
    assert model_family("allenai/Molmo2-8B") == model_family("/models/molmo2-demo/") == "molmo2"
    assert model_family("Qwen/Qwen2.5-VL-7B") == "generic"


def test_the_planner_sees_the_page_but_never_a_secret(tmp_path, demo_url, molmo, ocr_pointer):
    endpoint, model = molmo
    model.faults = ['say:click "Accept all"', 'say:Typing the name.\ntype "{{NAME}}" into "From"',
                    'say:type "{{NAME}}" into "To"', "say:done"]
    done = cli("run", "Fill the airports with my name", "--url", demo_url, "--policy", "planner",
               "--planner", endpoint, "--planner-model", "planner-7b", "--pointer", "dom",
               "--secret", "NAME=Zebediah", "--out", str(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(model.requests) == 4 and "Zebediah" not in json.dumps(model.requests)
    prompt = model.requests[2]["messages"][0]["content"][1]["text"]
    assert prompt.startswith("You operate a web browser") and "GOAL: Fill the airports with my name" in prompt
    assert '2. type "{{NAME}}" into "From"' in prompt
    image = model.requests[2]["messages"][0]["content"][0]["image_url"]["url"]
    png = base64.b64decode(image.split(",", 1)[1])
    lines = ocr_pointer.parse(png, (1280, 720)).lines
    assert lines and not any("zebediah" in line.text.lower() for line in lines), "the typed secret is masked"
    [run_dir] = tmp_path.iterdir()
    trace = read_trace(run_dir)
    assert trace.steps[1].thought == "Typing the name." and trace.steps[1].action.text == "{{NAME}}"


def test_a_planner_answer_without_a_step_fails_the_run_with_the_answer_recorded(tmp_path, demo_url, molmo):
    endpoint, model = molmo
    model.faults = ["garbage"]
    done = cli("run", "Book a flight", "--url", demo_url, "--policy", "planner", "--planner", endpoint,
               "--planner-model", "planner-7b", "--pointer", "dom", "--out", str(tmp_path))
    assert done.returncode == 1 and "holds no step" in done.stdout
    [run_dir] = tmp_path.iterdir()
    assert read_trace(run_dir).steps[0].policy_raw == "I am not sure what you mean."


@pytest.mark.parametrize("args, message", [
    (["--policy", "planner"], "--planner-model is missing"),
    (["--policy", "planner", "--planner", "gpu:8001", "--planner-model", "m"], "--planner 'gpu:8001' must be an http"),
    (["--planner-model", "m"], "--planner and --planner-model are for --policy planner"),
    (["--policy", "dreamer"], "--policy 'dreamer' is not one of steps, planner, molmoweb"),
    ([], "free-form goal needs a model policy: --policy planner"),
])
def test_model_policy_options_are_checked_before_a_browser_starts(tmp_path, args, message):
    done = cli("run", "Book a flight", "--url", "http://127.0.0.1:9/", *args, "--out", str(tmp_path))
    assert done.returncode == 2 and message in done.stderr, done.stderr


def test_eval_checks_the_planner_options_before_any_episode(tmp_path):
    suite = str(Path(__file__).parents[1] / "tasks" / "suite")
    done = cli("eval", suite, "--policy", "planner", "--planner", "http://127.0.0.1:9/v1", "--out", str(tmp_path))
    assert done.returncode == 2 and "--planner-model is missing" in done.stderr, done.stderr
    assert not any(tmp_path.iterdir()), "nothing ran"
