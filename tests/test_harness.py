"""MolmoWeb's harness and ours, row by row (the README's harness table): each script below is what a
MolmoWeb checkpoint might answer, served by a stand-in MolmoWeb server on loopback; the page records what
happened. Under `--policy molmoweb` the run carries on where MolmoWeb's own harness does; with `--guards` our
guards end it."""

import json

import pytest

from molmo_agent.checks import Check
from molmo_agent.harness import MOLMOWEB
from molmo_agent.policies.molmoweb import MolmoWebPolicy
from molmo_agent.run import ModelSettings, run_policy
from molmo_agent.tasks import RunRules
from molmo_agent.trace import read_trace

from .conftest import cli, settings
from .molmoweb_server import molmoweb_server

EXIT = ("action", {"name": "send_msg_to_user", "msg": "[EXIT]"})
SHORT_FIELD = {"name": "click", "x": 19.53, "y": 15.97}       # maxlength 4
TARGET = {"name": "click", "x": 54.69, "y": 20.83}
FRAME_FIELD = {"name": "click", "x": 21.41, "y": 49.72}       # an input in a frame from another origin
SCROLL = {"name": "scroll", "delta_x": 0, "delta_y": 50}      # the page cannot scroll
LATER = {"name": "click", "x": 78.13, "y": 20.83}             # opens a tab 2.5 s after the click


def act(action: dict) -> tuple:
    return ("action", action)


def type_(text: str) -> tuple:
    return act({"name": "keyboard_type", "text": text})


def run(tmp_path, ocr_pointer, pages_url, script, *, guards=False, end_at_answer=False, max_steps=30, checks=()):
    """The run and its trace; `checks` (page scripts) are held when the run ends with success."""
    with molmoweb_server(ocr_pointer, script) as (base, model):
        endpoint = ModelSettings(endpoint=base, api="molmoweb", timeout_s=60).load(model_option="--model",
                                                                                   endpoint_option="--endpoint")
        policy = MolmoWebPolicy(endpoint, harness=MOLMOWEB.with_options(guards=guards, end_at_answer=end_at_answer))
        result = run_policy(policy, goal="Try the harness", name="harness", start_url=f"{pages_url}harness.html",
                            settings=settings(tmp_path),
                            rules=RunRules(max_steps=max_steps, checks=[Check(js=js) for js in checks]))
    return result, read_trace(result.run_dir), model


# (row, script, what MolmoWeb's harness leaves on the page, how our guards end it)
ROWS = [
    ("typing with nothing focused", [type_("lost"), EXIT], None, "nothing editable"),
    ("a field that keeps fewer characters", [act(SHORT_FIELD), type_("123456789"), EXIT],
     "document.getElementById('short').value === '1234'", "the field does not hold the typed text"),
    ("four scrolls on a page that cannot scroll", [act(SCROLL)] * 4 + [EXIT], None, "3 times on an unchanged page"),
    ("three unreadable answers in a row", [("raw", "Let me think."), ("raw", "```json\n{}\n```"), ("raw", "{oops"), EXIT],
     None, "3 answers in a row were infeasible"),
    ("an action that fails", [act({"name": "goto", "url": "file:///etc/hostname"}), EXIT], None, "pass --allow-file"),
    ("a right click", [act({**TARGET, "button": "right"}), EXIT],
     "log.length === 1 && log[0].type === 'click' && log[0].button === 0", None),
]


@pytest.mark.parametrize("row, script, page_shows, guard", ROWS, ids=[r[0] for r in ROWS])
def test_molmowebs_harness_carries_on_where_our_guards_end_the_run(tmp_path, ocr_pointer, pages_url, row, script,
                                                                   page_shows, guard):
    result, trace, _ = run(tmp_path / "theirs", ocr_pointer, pages_url, script, checks=[page_shows] if page_shows else [])
    assert result.status == "success", f"{row}: {result.end.reason}"
    assert len(trace.steps) == len(script) and trace.steps[-1].intent.text == "[EXIT]"

    right_click = ["log.length === 1 && log[0].type === 'contextmenu'"] if guard is None else []
    guarded, guarded_trace, _ = run(tmp_path / "ours", ocr_pointer, pages_url, script, guards=True, checks=right_click)
    if guard is None:  # a right click stays a right click
        assert guarded.status == "success", guarded.end.reason
    else:
        assert guarded.status == "failed" and guard in guarded.end.reason, guarded.end.reason
        assert len(guarded_trace.steps) < len(script)


def test_typing_reaches_a_field_in_a_frame_from_another_origin(tmp_path, ocr_pointer, pages_url):
    """The frame posts its field's value to the page (the page cannot read it): what was typed arrived."""
    script = [act(FRAME_FIELD), type_("hello"), EXIT]
    result, trace, _ = run(tmp_path, ocr_pointer, pages_url, script, checks=["window.frameValue === 'hello'"])
    assert result.status == "success", result.end.reason
    assert trace.steps[1].outcome.ok and trace.steps[1].outcome.field_value_ok is None, "no value check"
    guarded, _, _ = run(tmp_path / "ours", ocr_pointer, pages_url, script, guards=True)
    assert guarded.status == "failed" and "nothing editable" in guarded.end.reason, "ours cannot read the frame back"


def test_prose_around_the_json_is_their_infeasible_and_their_history(tmp_path, ocr_pointer, pages_url):
    prose = 'Sure! {"thought": "click it", "action": ' + json.dumps(TARGET) + "}"
    result, trace, model = run(tmp_path, ocr_pointer, pages_url, [("raw", prose), EXIT], checks=["log.length === 0"])
    assert result.status == "success", result.end.reason
    first = trace.steps[0]
    assert first.intent.name == "infeasible" and first.policy_raw == prose
    thought = "Could not parse predicted action: Expecting value: line 1 column 1 (char 0)"
    assert first.thought == thought
    assert (f"## Step 1\nTHOUGHT: {thought}\nACTION: {{'name': 'report_infeasible', 'infeasibility_reason': "
            f"'Unparseable model output: {prose}'}}\n") in model.seen[1].prompt
    assert model.seen[1].past_actions == [{"thought": thought, "action": {
        "name": "report_infeasible", "infeasibility_reason": f"Unparseable model output: {prose}"}}]


def test_an_answer_their_agent_cannot_convert_ends_the_run(tmp_path, ocr_pointer, pages_url):
    result, trace, _ = run(tmp_path, ocr_pointer, pages_url, [act({"name": "click", "x": "left", "y": 3}), EXIT])
    assert result.status == "failed" and result.end.reason.startswith("the answer cannot be carried out")
    assert len(trace.steps) == 1


def say(msg: str) -> tuple:
    return act({"name": "send_msg_to_user", "msg": msg})


@pytest.mark.parametrize("script, answer", [
    ([say("Looking"), say("[ANSWER] 42 flights"), say("[ANSWER] 7 flights"), EXIT], "7 flights"),
    ([say("Only this"), EXIT], "Only this"),
    ([act(TARGET), EXIT], "Step: send_msg_to_user"),  # no message at all: the last thought
], ids=["the last answer", "else the last message", "else the last thought"])
def test_the_final_answer_is_chosen_by_their_rule(tmp_path, ocr_pointer, pages_url, script, answer):
    result, _, _ = run(tmp_path, ocr_pointer, pages_url, script)
    assert result.status == "success" and result.end.answer == answer


def test_a_run_ends_at_the_answer_as_their_client_does_and_an_episode_at_exit(tmp_path, ocr_pointer, pages_url):
    script = [say("[ANSWER] 42")] + [say("Still here")] * 3
    client, trace, _ = run(tmp_path / "client", ocr_pointer, pages_url, script, end_at_answer=True)
    assert client.status == "success" and client.end.answer == "42" and len(trace.steps) == 1
    episode, trace, _ = run(tmp_path / "episode", ocr_pointer, pages_url, script, max_steps=3)
    assert episode.status == "failed" and "step budget" in episode.end.reason and len(trace.steps) == 3


def test_their_server_needs_no_model_name_and_cannot_be_asked_for_greedy_answers(tmp_path, ocr_pointer, pages_url):
    refused = cli("run", "click", "--url", f"{pages_url}harness.html", "--policy", "molmoweb", "--api", "molmoweb",
                  "--endpoint", "http://127.0.0.1:9", "--temperature", "0", "--out", str(tmp_path))
    assert refused.returncode == 2 and "MolmoWeb's server refuses it" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1 and not list(tmp_path.iterdir()), "before the run starts"
    with molmoweb_server(ocr_pointer, [say("[ANSWER] fine")]) as (base, _):
        done = cli("run", "Say fine", "--url", f"{pages_url}harness.html", "--policy", "molmoweb", "--api", "molmoweb",
                   "--endpoint", base, "--out", str(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "answer: fine" in done.stdout


def test_their_waits_after_each_action(tmp_path, ocr_pointer, pages_url):
    """Lower bounds only: a click waits 1 s inside a 2 s window for a tab it opens; Enter 1 s; every action then
    0.5 s, DOMContentLoaded of every tab and frame, 0.5 s (their `action_executor.py` and `browser_env.py`)."""
    script = [act(TARGET), act({"name": "keyboard_press", "key": "Enter"}), act(SCROLL), EXIT]
    result, trace, _ = run(tmp_path, ocr_pointer, pages_url, script)
    assert result.status == "success", result.end.reason
    click, enter, wheel = (s.timings["act"] for s in trace.steps[:3])
    assert click >= 2.95 and enter >= 1.95 and wheel >= 0.95, (click, enter, wheel)


def test_a_tab_that_opens_later_than_its_action_is_not_switched_to(tmp_path, ocr_pointer, pages_url):
    script = [act(LATER), act({"name": "noop", "noop_reason": "loading"}),
              act({"name": "browser_nav", "nav_type": "tab_focus", "index": 1}), EXIT]
    result, trace, _ = run(tmp_path, ocr_pointer, pages_url, script)
    assert result.status == "success", result.end.reason
    waited, focused, last = trace.steps[1:]
    assert len(focused.observation.tabs) == 2 and focused.observation.active_tab == 0, "opened, not switched to"
    assert last.observation.active_tab == 1 and last.observation.url.endswith("/frame-input.html"), "tab_focus 1"
