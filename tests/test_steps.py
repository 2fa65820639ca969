import pytest
from hypothesis import given, strategies as st

from molmo_agent import actions as A
from molmo_agent.errors import StepSyntaxError
from molmo_agent.language import parse_plan, parse_step, to_step


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
    with pytest.raises(StepSyntaxError, match="free-form goal.*--policy planner"):
        parse_plan("book a flight from SFO to JFK")


def test_unknown_step_names_the_step():
    with pytest.raises(StepSyntaxError, match="cannot read step 'teleport \"home\"'"):
        parse_plan('click "A", teleport "home"')


@pytest.mark.parametrize("action", [
    A.Click(target="Search flights"), A.Click(target="File", button="right"), A.DoubleClick(target="Row"),
    A.Hover(target="Menu"), A.Type(text="{{PIN}}", target="PIN, please"), A.Type(text="hello"),
    A.SelectOption(option="Business", target="Cabin"), A.Drag(target="Card A", to_target="Done"),
    A.Press(key="Enter"), A.Scroll(direction="up"), A.Scroll(direction="down", amount=300),
    A.Goto(url="https://example.com/?a=1,2"), A.Back(), A.SwitchTab(index=1), A.Wait(seconds=0.5),
    A.Done(), A.Done(answer="$249"), A.Fail(reason="sold out"),
])
def test_an_action_said_as_a_step_reads_back_as_itself(action):
    assert parse_step(to_step(action)) == action


@given(st.text(st.characters(blacklist_categories=["Cs"]), min_size=1),
       st.text(st.characters(blacklist_categories=["Cs"]), min_size=1))
def test_any_words_quotes_and_backslashes_included_survive_the_round_trip(text, target):
    for action in (A.Type(text=text, target=target), A.SelectOption(option=text, target=target),
                   A.Done(answer=text), A.Click(target=target)):
        assert parse_step(to_step(action)) == action


QUOTED = [
    ("type \"30\" into \"What's your age?\"", A.Type(text="30", target="What's your age?")),
    ("click 'Say \"hi\"'", A.Click(target='Say "hi"')),
    ("click \u201cBob's \"best\" page\u201d", A.Click(target="Bob's \"best\" page")),
    ("type \"a \\\"b\\\" c\\\\\" into \"Notes\"", A.Type(text="a \"b\" c\\", target="Notes")),
    ("select 'it\\'s' in \"Answer\"", A.SelectOption(option="it's", target="Answer")),
]


@pytest.mark.parametrize("step, action", QUOTED)
def test_quotes_inside_quotes(step, action):
    assert parse_step(step) == action
    assert parse_plan(f"{step}, done") == [action, A.Done()], "a comma inside quotes is not a break"


def test_only_actions_named_by_coordinates_have_no_step():
    assert to_step(A.Click(x=10, y=20)) is None
    assert to_step(A.Type(text='say "hi"', target="Message")) == 'type "say \\"hi\\"" into "Message"'
    assert to_step(A.Click(target="Bob's page")) == "click \"Bob's page\""
