import pytest

from molmo_agent import actions as A
from molmo_agent.errors import StepSyntaxError
from molmo_agent.policies.steps import parse_plan


def test_the_issue_example_reads_as_steps():
    plan = parse_plan('click "Round trip", type "SFO" into "From", type "JFK" into "To", click "Search flights"')
    assert plan == [A.Click(target="Round trip"), A.Type(text="SFO", target="From"),
                    A.Type(text="JFK", target="To"), A.Click(target="Search flights")]


def test_every_step_form():
    plan = parse_plan("""
        1. select "Business" in "Cabin"
        2. press Enter
        then scroll down 300
        drag "Card A" to "Done"
        goto "https://example.com/?a=1,2"
        go back
        switch to tab 1
        wait 500ms; wait 2s
        double click "Row"; hover over "Menu"; right click "File"
        type "{{PIN}}" into "PIN, please"
        type "hello"
        done "42"
    """)
    assert plan == [
        A.SelectOption(option="Business", target="Cabin"), A.Press(key="Enter"),
        A.Scroll(direction="down", amount=300), A.Drag(target="Card A", to_target="Done"),
        A.Goto(url="https://example.com/?a=1,2"), A.Back(), A.SwitchTab(index=1),
        A.Wait(seconds=0.5), A.Wait(seconds=2), A.DoubleClick(target="Row"), A.Hover(target="Menu"),
        A.Click(target="File", button="right"), A.Type(text="{{PIN}}", target="PIN, please"),
        A.Type(text="hello"), A.Done(answer="42"),
    ]


def test_free_form_goal_is_refused_with_what_to_do():
    with pytest.raises(StepSyntaxError, match="free-form goal.*model policy"):
        parse_plan("book a flight from SFO to JFK")


def test_unknown_step_names_the_step():
    with pytest.raises(StepSyntaxError, match="cannot read step 'teleport \"home\"'"):
        parse_plan('click "A", teleport "home"')
