"""MolmoWeb's action format, both ways."""

import pytest

from molmo_agent import actions as A
from molmo_agent.errors import PointParseError
from molmo_agent.policies.molmoweb import from_action, molmoweb_prompt, to_action

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
