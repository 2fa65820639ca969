"""The planner's prompt and answers (MolmoWeb's protocol: test_molmoweb.py)."""

import pytest

from molmo_agent import actions as A
from molmo_agent.errors import PointParseError
from molmo_agent.policies.planner import planner_prompt, previous_steps, read_step
from molmo_agent.trace.records import Outcome

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
