"""Every parser of model output and of files a user hands us reads its input or refuses it with our own
error; none crashes, and what it reads is usable (points inside the image, steps that say themselves back).

CI runs a short budget per parser; `benchmarks/fuzz.py` runs the same targets at 10,000 examples each.
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from molmo_agent import actions as A
from molmo_agent.errors import ConfigError, PointParseError, StepSyntaxError, TraceError
from molmo_agent.points import Point, parse_points, to_css
from molmo_agent.policies.planner import read_step
from molmo_agent.language import parse_plan, parse_step, to_step
from molmo_agent.protocols import molmoweb
from molmo_agent.tasks import Task, load_task
from molmo_agent.trace import read_trace

SIZE = (1280, 720)
TRACE = (Path(__file__).parent / "data" / "trace.jsonl").read_bytes()  # a real demo run, cut to 3 steps
TARGETS: dict[str, tuple] = {}


def target(name: str, strategy, *examples):
    def register(check):
        for value in reversed(examples):
            check = example(value)(check)
        TARGETS[name] = (strategy, check)
        return check
    return register


def joined(*fragments: str):
    """Text made of fragments of the format, so that examples come near to parsing."""
    return st.one_of(st.text(), st.lists(st.one_of(st.sampled_from(fragments), st.text(max_size=4))).map("".join))


def _inside_image(action: A.Action) -> None:
    for x, y in ((getattr(action, "x", None), getattr(action, "y", None)),
                 (getattr(action, "to_x", None), getattr(action, "to_y", None))):
        if x is not None:
            assert 0 <= x < SIZE[0] and 0 <= y < SIZE[1], action


NUMBERS = st.one_of(st.floats(-10, 1100).map(lambda v: f"{v:.1f}"), st.integers(-5, 1001).map(str),
                    st.sampled_from(["nan", "inf", "-0", "1e9", "", "12.5.3", "9" * 400]))
POINT_TEXT = st.one_of(
    joined('<point x="', '" y="', '">', "</point>", '<points coords="', "1 1 ", "999", 'x1="', "Click(", ",", ")",
           '{"action": {"x": ', "}", "nan", "-", ".", "e9", "There are none.", "[" * 5000),
    st.builds('<point x="{}" y="{}" alt="a">a</point>'.format, NUMBERS, NUMBERS),
    st.builds('<points coords="1 {} {} {}{}">b</points>'.format, NUMBERS, NUMBERS, NUMBERS,
              st.sampled_from(["", ";1 1 500 500", " 2", ","])),
    st.builds("Click({}, {})".format, NUMBERS, NUMBERS),
)


@target("points", POINT_TEXT)
def points(text: str) -> str:
    try:
        found = parse_points(text)
    except PointParseError:
        return "refused"
    assert found and all(isinstance(p, Point) for p in found)
    for p in found:
        x, y = to_css(p, image_size=SIZE, viewport=SIZE)
        assert 0 <= x < SIZE[0] and 0 <= y < SIZE[1]
    return "read"


VALUES = st.one_of(st.floats(), st.integers(), st.integers(min_value=10**300, max_value=10**400), st.text(max_size=8),
                   st.booleans(), st.none(), st.lists(st.integers(), max_size=2))
ACTIONS = st.fixed_dictionaries(
    {"name": st.one_of(st.sampled_from(["click", "mouse_click", "dblclick", "hover_at", "mouse_drag_and_drop",
                                        "scroll", "scroll_at", "keyboard_type", "keyboard_press", "goto",
                                        "browser_nav", "noop", "send_msg_to_user", "report_infeasible",
                                        "select_option"]), st.text(max_size=6))},
    optional={k: VALUES for k in ("x", "y", "from_x", "from_y", "to_x", "to_y", "delta_x", "delta_y", "button",
                                  "duration", "text", "key", "url", "nav_type", "index", "msg", "option")}
    | {"nav_type": st.sampled_from(["go_back", "new_tab", "tab_focus"]), "key": st.sampled_from(["Enter", "ctrl+a"])})
ANSWERS = st.one_of(
    st.builds(lambda thought, action: json.dumps({"thought": thought, "action": action}), st.text(), ACTIONS),
    ACTIONS.map(json.dumps),
    joined('{"thought": "', '", "action": ', '{"name": "click", "x": ', '"y": ', "1e999", "9" * 400, "[" * 5000, "}", ",",
           "[ANSWER]", "[EXIT]", "```json\n"),
)


@target("molmoweb answers", ANSWERS, '{"action": {"name": "click", "x": ' + "9" * 400 + ', "y": 1}}')
def molmoweb_answers(text: str) -> str:
    try:  # unreadable answers become report_infeasible; what cannot be converted at all ends their episode
        step = molmoweb.read_answer(text)
        action = molmoweb.to_action(step.action, SIZE)
    except molmoweb.AnswerError:
        return "refused"
    assert isinstance(action, A._Action)
    _inside_image(action)
    said = molmoweb.from_action(action, SIZE)  # what we executed, said back as the model's answers
    assert all(isinstance(a, dict) and a.get("name") for a in said)
    return "infeasible" if isinstance(action, A.Infeasible) else "read"


STEP_FRAGMENTS = ('click "', 'type "', '" into "', 'select "', '" in "', "press ", "Enter", "scroll down",
                  "goto ", "https://", "back", "done", 'done "', 'fail "', '"', "'", "“", "”", ", ", " then ",
                  "\n", "1. ", "Step: ", "```", "tab ", "wait ", "0.5")


WORDS = st.text(max_size=10)
STEPS = st.one_of(joined(*STEP_FRAGMENTS), st.lists(st.one_of(
    st.builds('click "{}"'.format, WORDS), st.builds('type "{}" into "{}"'.format, WORDS, WORDS),
    st.builds("select '{}' in '{}'".format, WORDS, WORDS), st.builds("goto {}".format, WORDS),
    st.builds("press {}".format, WORDS), st.builds('done "{}"'.format, WORDS), st.builds("wait {}".format, WORDS),
), min_size=1, max_size=4).map(", ".join))


@target("planner answers", STEPS)
def planner_answers(text: str) -> str:
    try:
        action, thought = read_step(text)
    except PointParseError:
        return "refused"
    assert isinstance(action, A._Action) and isinstance(thought, str)
    return "read"


@target("step language", STEPS)
def step_language(text: str) -> str:
    try:
        plan = parse_plan(text)
    except StepSyntaxError:
        return "refused"
    for action in plan:  # a step said back reads as the same action
        said = to_step(action)
        assert said is None or parse_step(said) == action, (action, said)
    return "read"


LINE_ENDS = [i for i, byte in enumerate(TRACE) if byte == ord("\n")]  # header, 3 steps, end


@st.composite
def damaged_traces(draw) -> tuple[bytes, int | None]:
    """The trace cut at any byte, then maybe bytes overwritten and junk appended; the cut when that is all."""
    cut = draw(st.integers(0, len(TRACE)))
    data = bytearray(TRACE[:cut])
    flips = draw(st.lists(st.tuples(st.integers(0, max(cut - 1, 0)), st.integers(0, 255)), max_size=3))
    for at, byte in flips:
        if data:
            data[at] = byte
    extra = draw(st.one_of(st.just(b""), st.binary(max_size=20), st.sampled_from([b"[" * 5000, b"{}\n", b"null\n"])))
    return bytes(data) + extra, (cut if not flips and not extra else None)


@target("trace reader", damaged_traces())
def trace_reader(damaged: tuple[bytes, int | None]) -> str:
    data, cut = damaged
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "trace.jsonl").write_bytes(data)
        try:
            trace = read_trace(folder)
        except TraceError:
            assert cut is None or cut < LINE_ENDS[0], "a killed run whose header was written must read"
            return "refused"
    if cut is not None:  # a run killed mid-write: every step whose line was written whole is there
        assert len(trace.steps) == sum(end <= cut for end in LINE_ENDS[1:4])
    return "read"


TASK_FRAGMENTS = ("id: ", "goal: ", "url: ", "site: ", "steps:", "\n", "  - ", 'click "A"', "max_steps: ",
                  "30", "-1", "checks:", "  - url_contains: x", "time_limit_s: ", "tags: [a]", "{", "}", "[",
                  ": ", "'", '"', "&a", "*a", "!!python/object:os.system", "nope: 1")


FIELDS = st.one_of(st.text(max_size=12), st.integers(-3, 600), st.floats(allow_nan=True), st.none(), st.booleans(),
                   st.lists(st.text(max_size=12), max_size=3), st.dictionaries(st.text(max_size=6), st.text(max_size=6), max_size=2))
TASKS = st.fixed_dictionaries(
    {"id": st.one_of(st.text(max_size=12), FIELDS), "goal": st.one_of(st.text(max_size=20), FIELDS)},
    optional={"url": st.one_of(st.sampled_from(["https://example.org/a", "file:///etc/passwd", ""]), FIELDS),
              "site": FIELDS, "path": FIELDS, "steps": st.one_of(st.lists(st.sampled_from(
                  ['click "A"', "done", 'type "x" into "B"', "teleport"]), max_size=3), FIELDS),
              "max_steps": FIELDS, "time_limit_s": FIELDS, "checks": st.one_of(st.just([{"url_contains": "x"}]), FIELDS),
              "tags": FIELDS, "unknown": FIELDS},
)


@target("task files", st.one_of(joined(*TASK_FRAGMENTS), TASKS.map(lambda task: yaml.safe_dump(task, allow_unicode=True))),
        "id: t\ngoal: g\nurl: https://example.org\nsteps: [done]\n")
def task_files(text: str) -> str:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "task.yaml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            task = load_task(path)
        except ConfigError as exc:
            assert "\n" not in str(exc).strip(), "one-line errors"
            return "refused"
    assert isinstance(task, Task)
    return "read"


def fuzz(name: str, examples: int, seen: Counter | None = None, *, derandomize: bool = False) -> Counter:
    """Run one target for `examples` examples; returns how each example ended. `derandomize`: the same
    examples on every run (the tests); without it, new ones each time (`benchmarks/fuzz.py`)."""
    strategy, check = TARGETS[name]
    seen = Counter() if seen is None else seen

    @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck),
              derandomize=derandomize)
    @given(strategy)
    def run(value):
        seen[check(value)] += 1

    run()
    return seen


# The share of generated inputs each parser must read, about half of what it reads of the fixed examples: a
# parser that refuses everything (or a strategy that no longer comes near the format) fails.
READ_AT_LEAST = {"points": 0.1, "molmoweb answers": 0.06, "planner answers": 0.04, "step language": 0.12,
                 "trace reader": 0.06, "task files": 0.01}


@pytest.mark.parametrize("name", list(TARGETS))
def test_parser_reads_or_refuses_anything(name):
    seen = fuzz(name, examples=300, derandomize=True)  # the same 300 on every run; benchmarks/fuzz.py explores
    total = sum(seen.values())
    assert total >= 300
    assert seen["read"] >= READ_AT_LEAST[name] * total, f"{name}: only {seen['read']} of {total} inputs read"
