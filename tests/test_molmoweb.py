"""MolmoWeb as its authors ship it: the prompt byte for byte, every action both ways, how an episode ends,
and runs against a stand-in MolmoWeb server on loopback through both of its APIs."""

import io
import json

import pytest
from PIL import Image

from molmo_agent import actions as A
from molmo_agent.checks import Check
from molmo_agent.protocols import molmoweb as mw
from molmo_agent.run import ModelSettings, run_policy
from molmo_agent.sites import DEMO_SITE
from molmo_agent.tasks import RunRules
from molmo_agent.trace import read_trace

from .conftest import cli, settings
from .molmoweb_server import molmoweb_server

SIZE = (1280, 720)
CLICK = {"name": "click", "x": 47.03, "y": 26.36}


# -- the prompt, written by hand from the published template -----------------------------------------
def test_prompt_with_no_earlier_step():
    text = mw.prompt("Book a flight", [], page_index=0, title="SkyHop", url="http://127.0.0.1:8000/")
    assert text == ("molmo_web_think: \n# GOAL\nBook a flight\n\n# PREVIOUS STEPS\n\n# CURRENTLY ACTIVE PAGE\n"
                    "Page 0: SkyHop | http://127.0.0.1:8000/\n\n# NEXT STEP\n")


def test_prompt_with_one_earlier_step_prints_the_action_as_python_prints_a_dict():
    step = mw.ModelStep(thought="I accept the cookies.", action=CLICK)
    text = mw.prompt("Book a flight", [step], page_index=0, title="SkyHop", url="http://127.0.0.1:8000/")
    assert text == ("molmo_web_think: \n# GOAL\nBook a flight\n\n# PREVIOUS STEPS\n## Step 1\n"
                    "THOUGHT: I accept the cookies.\nACTION: {'name': 'click', 'x': 47.03, 'y': 26.36}\n\n"
                    "# CURRENTLY ACTIVE PAGE\nPage 0: SkyHop | http://127.0.0.1:8000/\n\n# NEXT STEP\n")


def test_prompt_keeps_the_last_ten_of_twelve_steps_with_their_numbers_and_cuts_long_titles():
    steps = [mw.ModelStep(thought=f"thought {i}", action={"name": "noop", "noop_reason": "loading"})
             for i in range(1, 13)]
    title, url = "T" * 150, "http://example.com/" + "a" * 200
    text = mw.prompt("G", steps, page_index=1, title=title, url=url)
    blocks = "".join(f"## Step {i}\nTHOUGHT: thought {i}\nACTION: {{'name': 'noop', 'noop_reason': 'loading'}}\n"
                     for i in (3, 4, 5, 6, 7, 8, 9, 10, 11, 12))
    cut_title = "T" * 85 + "... (truncated)"
    cut_url = "http://example.com/" + "a" * 66 + "... (truncated)"
    assert len(cut_title) == len(cut_url) == 100
    assert text == (f"molmo_web_think: \n# GOAL\nG\n\n# PREVIOUS STEPS\n{blocks}\n# CURRENTLY ACTIVE PAGE\n"
                    f"Page 1: {cut_title} | {cut_url}\n\n# NEXT STEP\n")
    assert "## Step 2\n" not in text
    assert mw.prompt("G", steps, page_index=0, title="t", url="u", keep=3).count("## Step") == 3
    every = mw.prompt("G", steps, page_index=0, title="t", url="u", keep=0)
    assert every.count("## Step") == 12 and "## Step 1\n" in every, "0 shows all, as their past_actions[-0:]"


def test_grounding_prompt_is_molmowebs_own_mode_as_their_trainer_renders_it():
    """Their rule (shared/facts/molmoweb-protocol.md): the style and a colon, joined with one space to the
    jinja2-rendered template, which drops the template's final newline."""
    import jinja2

    rendered = jinja2.Template("\n# GOAL\n{{ question }}\n\n# ACTION\n\n").render(question='Click "Search flights".')
    assert mw.grounding_prompt("Search flights") == " ".join(["web_grounding:", rendered])
    assert mw.grounding_prompt("Search flights") == 'web_grounding: \n# GOAL\nClick "Search flights".\n\n# ACTION\n'


# -- every action kind both ways, whole models compared, values off their defaults -------------------
BOTH_WAYS = [
    ({"name": "click", "x": 50.0, "y": 25.0, "button": "right", "click_type": "single"},
     A.Click(x=640.0, y=180.0, button="right")),
    ({"name": "dblclick", "x": 10.0, "y": 90.0, "button": "middle"}, A.DoubleClick(x=128.0, y=648.0, button="middle")),
    ({"name": "hover_at", "x": 10.0, "y": 10.0, "duration": 2.5}, A.Hover(x=128.0, y=72.0, duration=2.5)),
    ({"name": "mouse_drag_and_drop", "from_x": 10.0, "from_y": 20.0, "to_x": 30.0, "to_y": 40.0},
     A.Drag(x=128.0, y=144.0, to_x=384.0, to_y=288.0)),
    ({"name": "scroll", "delta_x": 5.0, "delta_y": -25.0}, A.Wheel(delta_x=64.0, delta_y=-180.0)),
    ({"name": "scroll_at", "x": 50.0, "y": 50.0, "delta_x": 10.0, "delta_y": 0.0},
     A.Wheel(delta_x=128.0, delta_y=0.0, x=640.0, y=360.0)),
    ({"name": "keyboard_type", "text": "Ada Lovelace"}, A.Type(text="Ada Lovelace", clear=False)),
    ({"name": "keyboard_press", "key": "ControlOrMeta+a"}, A.Press(key="ControlOrMeta+a")),
    ({"name": "goto", "url": "https://example.com/a?b=1"}, A.Goto(url="https://example.com/a?b=1")),
    ({"name": "browser_nav", "nav_type": "go_back"}, A.Back()),
    ({"name": "browser_nav", "nav_type": "new_tab"}, A.NewTab()),
    ({"name": "browser_nav", "nav_type": "tab_focus", "index": 2}, A.SwitchTab(index=2)),
    ({"name": "noop", "noop_reason": "captcha"}, A.Wait(seconds=5.0, reason="captcha")),
    ({"name": "send_msg_to_user", "msg": "[ANSWER] 42"}, A.Message(text="[ANSWER] 42")),
    ({"name": "report_infeasible", "infeasibility_reason": "login wall"}, A.Infeasible(reason="login wall")),
    ({"name": "select_option", "x": 50.0, "y": 50.0, "option": "Business"},
     A.SelectOption(x=640.0, y=360.0, option="Business")),
]


@pytest.mark.parametrize("theirs, ours", BOTH_WAYS, ids=[t["name"] + str(i) for i, (t, _) in enumerate(BOTH_WAYS)])
def test_every_action_kind_both_ways(theirs, ours):
    assert mw.to_action(theirs, SIZE) == ours
    [back] = mw.from_action(ours, SIZE)
    assert back == theirs and list(back) == list(theirs), "same fields, same order"


def test_coordinates_are_clamped_inside_the_screenshot_and_keys_matched_without_case():
    assert mw.to_action({"name": "click", "x": 0, "y": 100}, SIZE) == A.Click(x=1.0, y=718.0)
    assert mw.to_action({"name": "click", "x": 150, "y": -3}, SIZE) == A.Click(x=1278.0, y=1.0)
    assert mw.to_action({"name": "click", "x": 33.333, "y": 50}, (1000, 500)) == A.Click(x=333.3, y=250.0)
    assert mw.to_action({"name": "keyboard_press", "key": "eScApE"}, SIZE) == A.Press(key="Escape")
    assert mw.to_action({"name": "scroll", "delta_y": 150}, SIZE) == A.Wheel(delta_y=1080.0), "deltas are not clamped"


@pytest.mark.parametrize("theirs, why", [
    ({"name": "keyboard_press", "key": "PageDown"}, "Unsupported keypress"),
    ({"name": "keyboard_press"}, "Unsupported keypress"),
    ({"name": "fly", "to": "moon"}, "Unsupported action type: fly"),
    ({"thought": "no name here"}, "Unsupported action type: None"),
])
def test_what_molmoweb_would_not_carry_out_is_infeasible(theirs, why):
    action = mw.to_action(theirs, SIZE)
    assert isinstance(action, A.Infeasible) and action.reason.startswith(why)


@pytest.mark.parametrize("theirs", [
    {"name": "click", "x": "left", "y": 3},
    {"name": "click", "x": float("nan"), "y": 3},
    {"name": "click", "x": 1, "y": 3, "button": "fourth"},
    {"name": "browser_nav", "nav_type": "reload"},
    {"name": "browser_nav", "nav_type": "tab_focus", "index": "second"},
    {"name": "select_option", "x": 1, "y": 1},
])
def test_what_molmoweb_cannot_convert_at_all_ends_the_episode(theirs):
    """Their ACTION_PREDICTION_ERROR: the conversion raises and their Episode stops there."""
    with pytest.raises(mw.AnswerError):
        mw.to_action(theirs, SIZE)


def test_tab_focus_reads_their_index_as_their_pydantic_does():
    assert mw.to_action({"name": "browser_nav", "nav_type": "tab_focus", "index": "1"}, SIZE) == A.SwitchTab(index=1)
    assert mw.to_action({"name": "browser_nav", "nav_type": "tab_focus"}, SIZE) == A.SwitchTab(index=-1), "a no-op"


def test_answers_are_read_as_molmoweb_reads_them():
    assert mw.read_answer(json.dumps({"thought": "t", "action": CLICK})) == mw.ModelStep(thought="t", action=CLICK)
    assert mw.read_answer(json.dumps(CLICK)) == mw.ModelStep(thought="", action=CLICK), "a bare action"
    unreadable = mw.read_answer("I think I should click the button")
    assert unreadable == mw.ModelStep(
        thought="Could not parse predicted action: Expecting value: line 1 column 1 (char 0)",
        action={"name": "report_infeasible", "infeasibility_reason": "Unparseable model output: I think I should click the button"})
    long = mw.read_answer(json.dumps({"action": {"name": "send_msg_to_user", "msg": "x" * 2000}}))
    assert len(long.action["msg"]) == 1000 and long.action["msg"].endswith("... (truncated)")
    # the whole text is JSON or nothing: prose around it, or a code fence, is their infeasible
    prose = mw.read_answer('Sure! {"thought": "t", "action": {"name": "click", "x": 1, "y": 2}}')
    assert prose.thought == "Could not parse predicted action: Expecting value: line 1 column 1 (char 0)"
    trailing = mw.read_answer('{"thought": "t", "action": {"name": "noop"}} done')
    assert trailing.thought.startswith("Could not parse predicted action: Extra data: line 1 column")
    assert mw.read_answer('{"thought": "t"}').thought == ("Could not parse predicted action: Expected 'action' or "
                                                          "'name' key in parsed JSON but didnt get it.")
    nameless = mw.read_answer('{"thought": "look", "action": {"x": 3}}')
    assert nameless == mw.ModelStep(thought="look", action={"x": 3}), "kept as the model gave it"
    with pytest.raises(mw.AnswerError):
        mw.read_answer('{"thought": ["not", "text"], "action": {"name": "noop"}}')
    with pytest.raises(mw.AnswerError):
        mw.read_answer('{"thought": "t", "action": "click"}')


def test_our_steps_are_written_as_the_answers_the_model_would_have_given():
    assert mw.from_action(A.Type(text="SFO", target="From", x=640, y=72), SIZE) == [
        {"name": "click", "x": 50.0, "y": 10.0, "button": "left", "click_type": "single"},
        {"name": "keyboard_type", "text": "SFO"}]
    assert mw.from_action(A.Click(x=123.456, y=-4), SIZE) == [
        {"name": "click", "x": 9.6, "y": 0.0, "button": "left", "click_type": "single"}], "one decimal, clipped"
    assert mw.from_action(A.Done(answer="$249"), SIZE) == [
        {"name": "send_msg_to_user", "msg": "[ANSWER] $249"}, {"name": "send_msg_to_user", "msg": "[EXIT]"}]
    assert mw.from_action(A.Press(key="ctrl+a"), SIZE) == [{"name": "keyboard_press", "key": "ControlOrMeta+a"}]
    assert mw.from_action(A.Press(key="enter"), SIZE) == [{"name": "keyboard_press", "key": "Enter"}]
    assert mw.from_action(A.Scroll(direction="down"), SIZE) == [{"name": "scroll", "delta_x": 0.0, "delta_y": 80.0}]
    assert mw.from_action(A.Click(target="Go"), SIZE) == [], "never found, never carried out"


# -- runs against a stand-in MolmoWeb server -------------------------------------------------------------
BOOKING = [
    ("click", "Accept all"), ("click", "Round trip"),
    ("field", "From"), ("action", {"name": "keyboard_type", "text": "SFO"}),
    ("field", "To"), ("action", {"name": "keyboard_type", "text": "JFK"}),
    # a date field takes keystrokes segment by segment from its first one (month/day/year here), as for a person
    ("field", "Depart", -175), ("action", {"name": "keyboard_type", "text": "12242026"}),
    ("select", "Cabin", "Business"), ("click", "Search flights"),
    ("action", {"name": "scroll", "delta_x": 0, "delta_y": 60}), ("click", "Book MA 417"),
    ("field", "First name"), ("action", {"name": "keyboard_type", "text": "Ada"}),
    ("field", "Last name"), ("action", {"name": "keyboard_type", "text": "Lovelace"}),
    ("field", "Email"), ("action", {"name": "keyboard_type", "text": "ada@example.com"}),
    ("click", "Confirm booking"),
    ("action", {"name": "send_msg_to_user", "msg": "[ANSWER] Booked MA 417 for Ada Lovelace"}),
    ("action", {"name": "send_msg_to_user", "msg": "[EXIT]"}),
]


@pytest.mark.parametrize("api", ["molmoweb", "openai"])
def test_a_molmoweb_server_books_the_demo_end_to_end(tmp_path, ocr_pointer, api):
    with molmoweb_server(ocr_pointer, BOOKING) as (base, model):
        model.faults.append("predictor-error" if api == "molmoweb" else "500")  # retried like a dropped line
        endpoint = base if api == "molmoweb" else f"{base}/v1"
        named = ["--model", "allenai/MolmoWeb-8B"] if api == "openai" else []  # their /predict names no model
        # The /predict run keeps MolmoWeb's fixed waits; this one, about the other API, runs them at a tenth.
        quick = ["--wait-scale", "0.1"] if api == "openai" else []
        done = cli("run", "--task", str(DEMO_SITE.parent / "task.yaml"), "--policy", "molmoweb", "--endpoint", endpoint,
                   *named, *quick, "--api", api, "--timeout", "120", "--out", str(tmp_path), timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "answer: Booked MA 417 for Ada Lovelace" in done.stdout
    [run_dir] = tmp_path.iterdir()
    trace = read_trace(run_dir)
    assert trace.end.status == "success" and trace.end.answer == "Booked MA 417 for Ada Lovelace"
    assert trace.header.policy_model["api"] == api
    assert trace.header.harness == {"name": "molmoweb", "guards": False, "end_at_answer": True,
                                    "wait_scale": 0.1 if quick else 1.0}, "a sped-up run says so"
    assert trace.steps[-1].intent.text.startswith("[ANSWER]"), "a run ends at [ANSWER], as their client's does"

    seen = model.seen[1:]  # the first answer was the scripted fault
    assert len(seen) == len(BOOKING) - 1 == len(trace.steps), "[EXIT] was never asked for"
    assert all(s.image.size == (1280, 720) and s.image.format == "PNG" and s.image.mode == "RGB" for s in seen)
    assert all(s.sampling["temperature"] == 0.7 and s.sampling["top_p"] == 0.8 for s in seen)
    title, url = trace.steps[0].observation.title, trace.steps[0].observation.url
    assert seen[0].prompt == (f"molmo_web_think: \n# GOAL\n{trace.header.goal}\n\n# PREVIOUS STEPS\n\n"
                              f"# CURRENTLY ACTIVE PAGE\nPage 0: {title} | {url}\n\n# NEXT STEP\n")
    first = json.loads(trace.steps[0].policy_raw)
    assert (f"## Step 1\nTHOUGHT: Step: Accept all\nACTION: {first['action']}\n## Step 2\n"
            f"THOUGHT: Step: Round trip\n") in seen[2].prompt
    assert "## Step 4\n" in seen[13].prompt and "## Step 3\n" not in seen[13].prompt, "the last 10 of 13"
    if api == "molmoweb":
        assert seen[13].past_actions == [{"thought": json.loads(s.policy_raw)["thought"],
                                          "action": json.loads(s.policy_raw)["action"]} for s in trace.steps[3:13]]
    else:
        assert seen[0].sampling["max_tokens"] == 1024


def _policy(base: str, **options):
    from molmo_agent.policies.molmoweb import MolmoWebPolicy

    model = ModelSettings(model="molmoweb", endpoint=base, api="molmoweb", timeout_s=120).load(model_option="--model",
                                                                                 endpoint_option="--endpoint")
    return MolmoWebPolicy(model, **options)


def test_infeasible_and_unreadable_answers_are_recorded_and_the_run_goes_on(tmp_path, ocr_pointer, pages_url):
    script = [("raw", "I am not sure."),
              ("action", {"name": "report_infeasible", "infeasibility_reason": "captcha"}),
              ("action", {"name": "send_msg_to_user", "msg": "Still looking."}),
              ("raw", "{broken json"),
              ("action", {"name": "report_infeasible", "infeasibility_reason": "login wall"}),
              ("action", {"name": "keyboard_press", "key": "PageDown"}),
              ("action", {"name": "send_msg_to_user", "msg": "[EXIT]"})]
    with molmoweb_server(ocr_pointer, script) as (base, model):
        result = run_policy(_policy(base), goal="Read the page", name="infeasible", start_url=f"{pages_url}actions.html",
                            settings=settings(tmp_path))
    trace = read_trace(result.run_dir)
    assert [s.intent.name for s in trace.steps] == ["infeasible", "infeasible", "message", "infeasible",
                                                    "infeasible", "infeasible", "message"]
    assert result.status == "success" and trace.steps[5].intent.reason.startswith("Unsupported keypress")
    assert trace.steps[0].thought.startswith("Could not parse predicted action")
    assert trace.steps[0].policy_raw == "I am not sure.", "the raw answer is kept"
    assert ("THOUGHT: Could not parse predicted action: Expecting value: line 1 column 1 (char 0)\nACTION: "
            "{'name': 'report_infeasible', 'infeasibility_reason': 'Unparseable model output: I am not sure.'}\n"
            ) in model.seen[1].prompt


def test_each_action_kind_is_carried_out_on_the_page(tmp_path, ocr_pointer, pages_url):
    """x, y below are percent of 1280x720 at the centres of the test page's boxes."""
    script = [("action", a) for a in [
        {"name": "click", "x": 54.69, "y": 20.83, "button": "right"},
        {"name": "dblclick", "x": 54.69, "y": 20.83},
        {"name": "hover_at", "x": 78.13, "y": 20.83, "duration": 0.6},
        {"name": "mouse_drag_and_drop", "from_x": 50.0, "from_y": 50.0, "to_x": 80.0, "to_y": 70.0},
        {"name": "scroll_at", "x": 23.44, "y": 55.56, "delta_x": 0.0, "delta_y": 25.0},
        {"name": "click", "x": 19.53, "y": 15.97},
        {"name": "keyboard_type", "text": "hello"},
        {"name": "keyboard_press", "key": "enter"},
        {"name": "browser_nav", "nav_type": "new_tab"},
        {"name": "browser_nav", "nav_type": "tab_focus", "index": 0},
        {"name": "send_msg_to_user", "msg": "[EXIT]"},
    ]]
    checks = [Check(js="!window.log.some(e => e.type === 'contextmenu')"),  # their executor clicks left, always
              Check(js="window.log.some(e => e.type === 'dblclick' && e.button === 0)"),
              Check(js="window.log.some(e => e.type === 'hovered' && e.ms >= 550)"),
              Check(js="window.log.some(e => e.type === 'down' && Math.abs(e.x - 640) <= 1 && Math.abs(e.y - 360) <= 1)"),
              Check(js="window.log.some(e => e.type === 'up' && Math.abs(e.x - 1024) <= 1 && Math.abs(e.y - 504) <= 1)"),
              Check(js="window.scrolled && window.scrolled[0] === 0 && window.scrolled[1] === 180"),
              Check(js="document.getElementById('field').value === 'hello'"),
              Check(js="window.log.some(e => e.type === 'enter')")]
    with molmoweb_server(ocr_pointer, script) as (base, _):
        result = run_policy(_policy(base), goal="Try every action", name="actions",
                            start_url=f"{pages_url}actions.html", settings=settings(tmp_path),
                            rules=RunRules(checks=checks))
    assert result.status == "success", result.end.reason
    trace = read_trace(result.run_dir)
    assert [s.intent.name for s in trace.steps] == ["click", "double_click", "hover", "drag", "wheel", "click",
                                                    "type", "press", "new_tab", "switch_tab", "message"]
    assert "tab" in trace.steps[8].outcome.changed and len(trace.steps[9].observation.tabs) == 2
    assert trace.steps[9].observation.active_tab == 1 and trace.steps[10].observation.active_tab == 0


def test_policy_prompt_names_the_active_tab(tmp_path):
    from molmo_agent.observation import Observation, Tab
    from molmo_agent.policies.molmoweb import MolmoWebPolicy

    png = io.BytesIO()
    Image.new("RGB", SIZE).save(png, format="PNG")
    observation = Observation(screenshot=png.getvalue(), image_size=SIZE, viewport=SIZE, scale=1, url="http://b/",
                              title="B", tabs=[Tab(title="A", url="http://a/"), Tab(title="B", url="http://b/")],
                              active_tab=1, dom_signature="")
    policy = MolmoWebPolicy(model=None)
    policy.start("Compare")
    assert policy.prompt(observation, []).endswith("# CURRENTLY ACTIVE PAGE\nPage 1: B | http://b/\n\n# NEXT STEP\n")


@pytest.mark.parametrize("api", ["openai", "molmoweb"])
def test_a_molmoweb_checkpoint_points_in_its_own_grounding_mode(tmp_path, ocr_pointer, pages_url, api):
    from molmo_agent.pointers.http import HttpPointer
    from molmo_agent.tasks import Task

    from .conftest import run_task

    with molmoweb_server(ocr_pointer, [("click", "Charlie"), ("click", "Echo")]) as (base, model):
        pointer = HttpPointer(base if api == "molmoweb" else f"{base}/v1", "allenai/MolmoWeb-4B", api=api, timeout_s=120)
        task = Task(id="ground", goal='click "Charlie", click "Echo"', url=f"{pages_url}clicks.html",
                    checks=[{"js": "window.clicks.map(c => c.id).join() === 'c,e'"}])
        result = run_task(task, settings(tmp_path), pointer=pointer)
    assert result.status == "success", result.end.reason
    assert pointer.family == "molmoweb"
    assert [s.prompt for s in model.seen] == [mw.grounding_prompt("Charlie"), mw.grounding_prompt("Echo")]
    assert read_trace(result.run_dir).header.pointer["family"] == "molmoweb"


def test_molmo2s_there_are_none_is_a_clean_not_found(tmp_path, ocr_pointer, pages_url):
    from molmo_agent.pointers.http import HttpPointer
    from molmo_agent.tasks import Task

    from .conftest import run_task

    with molmoweb_server(ocr_pointer, [("raw", "There are none.")]) as (base, model):
        pointer = HttpPointer(f"{base}/v1", "allenai/Molmo2-8B", timeout_s=120)
        result = run_task(Task(id="none", goal='click "Zulu"', url=f"{pages_url}clicks.html"), settings(tmp_path),
                          pointer=pointer)
    assert result.status == "failed" and result.end.reason == "step 1: 'Zulu' not found (the model says: There are none.)"
    assert model.seen[0].prompt == "Point to the Zulu\nPlease say 'There are none.' if it is not in the image."
    assert read_trace(result.run_dir).steps[0].grounding[0].raw == "There are none."
