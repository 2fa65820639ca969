"""The model policies' formats: MolmoWeb's actions both ways, and the planner's prompt and answers."""

import pytest

from molmo_agent import actions as A
from molmo_agent.errors import PointParseError
from molmo_agent.policies.molmoweb import from_action, molmoweb_prompt, to_action
from molmo_agent.policies.planner import planner_prompt, previous_steps, read_step
from molmo_agent.trace.records import Outcome

VIEWPORT = (1280, 720)


@pytest.mark.parametrize("action", [
    A.Click(x=640, y=360), A.DoubleClick(x=128, y=72), A.Hover(x=12.8, y=7.2),
    A.Drag(x=128, y=72, to_x=640, to_y=360), A.Type(text="SFO", x=640, y=72), A.Press(key="Enter"),
    A.Scroll(direction="down"), A.Goto(url="http://127.0.0.1/"), A.Back(), A.Done(answer="$249"),
    A.SelectOption(option="Business", x=640, y=360), A.Wait(seconds=1),
])
def test_round_trip(action):
    molmoweb = from_action(action, VIEWPORT)
    back = to_action(molmoweb, VIEWPORT, "")
    assert back.name == action.name
    for key in ("x", "y", "to_x", "to_y", "text", "key", "url", "option", "answer"):
        if getattr(action, key, None) is not None:
            assert getattr(back, key) == pytest.approx(getattr(action, key), abs=1)


def test_bad_or_unknown_actions_are_parse_errors():
    with pytest.raises(PointParseError, match="unknown MolmoWeb action 'fly'"):
        to_action({"name": "fly"}, VIEWPORT, "")
    with pytest.raises(PointParseError, match="missing or has a bad field"):
        to_action({"name": "keyboard_press"}, VIEWPORT, "")


def test_prompt_sections():
    prompt = molmoweb_prompt("Book a flight", ['{"name": "click", "x": 1, "y": 2}'], "SkyHop", "http://x/")
    assert prompt.index("GOAL: Book a flight") < prompt.index("PREVIOUS STEPS:\n1. {") \
        < prompt.index("CURRENTLY ACTIVE PAGE: SkyHop (http://x/)") < prompt.index("NEXT STEP:")


@pytest.mark.parametrize("answer, action, thought", [
    ('click "Search flights"', A.Click(target="Search flights"), ""),
    ('The form is filled in.\nNext step: click "Search flights"', A.Click(target="Search flights"),
     "The form is filled in."),
    ('```\ntype "SFO" into "From"\n```', A.Type(text="SFO", target="From"), ""),
    ("- done", A.Done(), ""),
])
def test_the_planner_answer_is_its_last_step_line(answer, action, thought):
    assert read_step(answer) == (action, thought)


def test_a_planner_answer_without_a_step_is_a_parse_error_holding_the_text():
    with pytest.raises(PointParseError, match="holds no step") as caught:
        read_step("I would book the cheapest flight.")
    assert caught.value.text == "I would book the cheapest flight."


class _Step:
    def __init__(self, intent, ok=True, error=None):
        self.intent, self.outcome = intent, Outcome(ok=ok, error=error)


def test_planner_prompt_says_what_was_done_and_what_failed():
    previous = previous_steps([_Step(A.Type(text="{{PIN}}", target="PIN")),
                               _Step(A.Click(target="Go"), ok=False, error="no 'Go' on the page")])
    prompt = planner_prompt("Log in", previous, "Bank", "http://x/")
    assert '1. type "{{PIN}}" into "PIN"\n2. click "Go" (failed: no \'Go\' on the page)' in prompt
    assert prompt.index("GOAL: Log in") < prompt.index("PREVIOUS STEPS:") < prompt.index("CURRENT PAGE: Bank") \
        < prompt.index("NEXT STEP:")
