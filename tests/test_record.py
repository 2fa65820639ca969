"""record: a person, played by Playwright's mouse and keyboard (real input events) on the page being recorded,
books the demo flight; the recording is a normal trace that validates, replays exactly and re-grounded after the
layout moves, gives steps `run` follows and a pytest test, and never holds the password typed."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from molmo_agent.browser import BrowserConfig
from molmo_agent.record import Recorder, pytest_text, steps_text
from molmo_agent.replay import replay
from molmo_agent.trace import read_trace

from molmo_agent.redaction import Secrets

from .conftest import cli, requires_ml, settings

pytest_plugins = ["pytester"]
PIN = "8841"
EXPECTED = [
    'click "Accept all"', 'click "Round trip"', 'type "SFO" into "From"', 'type "JFK" into "To"',
    'type "2026-12-24" into "Depart"', 'select "Business" in "Cabin"', 'click "Search flights"',
    "scroll down {scrolled}px", 'click "Book MA 417"', 'type "Ada" into "First name"', 'type "Lovelace" into "Last name"',
    'type "ada@example.com" into "Email"', 'type "{{PIN}}" into "Frequent flyer PIN"', 'click "Confirm booking"',
    'done "Booked"',
]


class Person:
    """Acts on the page as a person does: the mouse to a place, a click, keys one by one; the recorder hears."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder, self.page = recorder, recorder.page

    def click(self, selector: str) -> None:
        box = self.page.locator(selector).bounding_box()
        self.page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        self.recorder.pump(0.6)
        self.page = self.recorder.page

    def type(self, selector: str, keys: str) -> None:
        self.click(selector)
        self.page.keyboard.type(keys, delay=20)
        self.recorder.pump(0.2)

    def choose(self, selector: str, down: int) -> None:
        self.click(selector)  # the pop-up opens; arrows move through it, Enter chooses and closes it
        for _ in range(down):
            self.page.keyboard.press("ArrowDown")
        self.page.keyboard.press("Enter")
        self.recorder.pump(0.6)

    def scroll(self, dy: int) -> int:
        self.page.mouse.wheel(0, dy)
        self.recorder.pump(1.0)
        return self.page.evaluate("scrollY")  # as far as the page goes


def book(recorder: Recorder) -> None:
    person = Person(recorder)
    person.click("#accept-cookies")
    person.click("text=Round trip")
    person.type("#from", "SFO")
    person.type("#to", "JFK")
    person.type("#depart", "12242026")
    person.choose("#cabin", 2)  # Economy, Premium economy, Business
    person.click("#search")
    recorder.scrolled = person.scroll(400)
    person.click("text=Book MA 417")
    person.type("#first", "Ada")
    person.type("#last", "Lovelace")
    person.type("#email", "ada@example.com")
    person.type("#pin", PIN)
    person.click("text=Confirm booking")
    person.page.keyboard.press("Control+Shift+Enter")
    recorder.pump(0.3)
    assert recorder.ended


@pytest.fixture(scope="module")
def recording(tmp_path_factory, demo_url):
    out = tmp_path_factory.mktemp("recordings")
    with Recorder(demo_url, goal="Book a round trip from SFO to JFK", out=out, config=BrowserConfig(),
                  secret_names=["PIN"]) as recorder:
        book(recorder)
        trace = recorder.finish(answer="Booked")
    EXPECTED[7] = EXPECTED[7].format(scrolled=recorder.scrolled)
    return trace


def test_a_person_booking_the_demo_becomes_the_steps_a_person_would_write(recording):
    assert [s.thought for s in recording.steps] == EXPECTED
    assert steps_text(recording).splitlines() == EXPECTED
    search = recording.steps[6]
    assert search.element.role == "button" and search.element.name == "Search flights"
    assert search.grounding[0].box.contains(search.action.x, search.action.y), "the point is on the button"
    typed = recording.steps[2]
    assert (typed.action.x, typed.action.y) == (recording.steps[2].grounding[0].css[0]), "typed where clicked"
    assert typed.observation.screenshot != recording.steps[3].observation.screenshot
    assert recording.end.status == "success" and recording.end.answer == "Booked"
    import jsonschema  # the published trace schema, line by line, as for a run's trace

    schema = json.loads((Path(__file__).parents[1] / "traces" / "schema.json").read_text())
    for line in (recording.dir / "trace.jsonl").read_text().splitlines():
        jsonschema.validate(json.loads(line), schema)
    assert "passenger" in recording.steps[-2].observation.url and "confirm" in recording.end.final_url


def test_the_password_is_never_written_and_is_masked(recording):
    for path in recording.dir.rglob("*"):
        if path.is_file():
            assert PIN.encode() not in path.read_bytes(), path
    confirm = recording.steps[-2]
    shot = np.asarray(Image.open(recording.screenshot_path(confirm.observation.screenshot)).convert("RGB"))
    field = next(s for s in recording.steps if s.element and s.element.name == "Frequent flyer PIN").grounding[0].box
    inside = shot[int(field.y) + 2:int(field.y + field.height) - 2, int(field.x) + 2:int(field.x + field.width) - 2]
    assert (inside.reshape(-1, 3).std(axis=0) < 1).all(), "the field is one flat masked box"


@pytest.mark.parametrize("mode, variant", [("exact", ""), ("reground", "index.html?variant=b")])
def test_the_recording_replays_exactly_and_heals_when_the_layout_moves(recording, tmp_path, demo_url, mode, variant):
    run_settings = settings(tmp_path, pointer="dom")
    run_settings.secrets = Secrets({"PIN": PIN})
    result, divergences = replay(recording.dir, run_settings, mode=mode, url=demo_url + variant)
    assert result.status == "success", (result.end.reason, divergences)
    replayed = read_trace(result.run_dir)
    assert "Booking confirmed" in replayed.end.final_url or "confirm" in replayed.end.final_url
    if variant:
        assert any(s.replay and s.replay.healed for s in replayed.steps), "the moved layout was re-grounded"


def test_the_steps_run_and_the_pytest_file_passes_then_heals(recording, tmp_path, demo_url, pytester, monkeypatch):
    steps = tmp_path / "steps.txt"
    steps.write_text(steps_text(recording))
    done = cli("run", steps.read_text(), "--url", demo_url, "--pointer", "dom", "--secret", f"PIN={PIN}",
               "--out", str(tmp_path / "runs"))
    assert done.returncode == 0, done.stdout + done.stderr
    source = pytest_text(recording)
    assert "def test_book_a_round_trip_from_sfo_to_jfk(page, agent):" in source and PIN not in source
    monkeypatch.setenv("PIN", PIN)
    monkeypatch.delenv("CI", raising=False)  # the point cache learns (read-write), as on a developer's machine
    for start in (demo_url, demo_url + "index.html?variant=b"):  # then the form moves: the test heals
        pytester.makepyfile(test_recorded=source.replace(json.dumps(recording.header.start_url), json.dumps(start)))
        ran = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--agent-pointer", "dom", "--agent-cache",
                                            str(tmp_path / "cache"), "--output", str(tmp_path / "o"))
        ran.assert_outcomes(passed=1)
    [said] = [line for line in ran.outlines if "point cache (rw):" in line]
    assert " 0 hits" not in said and " 0 pointer calls" not in said, \
        f"the unmoved pages came from the cache, the moved form from the pointer: {said}"


@pytest.mark.parametrize("fmt", ["molmo2", "molmoweb", "planner", "molmowebmix"])
def test_the_recording_exports_in_every_format(recording, tmp_path, fmt):
    requires_ml()
    done = cli("export", str(recording.dir), "--format", fmt, "--out", str(tmp_path / fmt), "--test-fraction", "0")
    assert done.returncode == 0, done.stderr
    counts = int(done.stdout.split()[0])
    assert counts >= {"molmo2": 12, "molmoweb": 14, "planner": 14, "molmowebmix": 1}[fmt], done.stdout
    assert all(PIN.encode() not in p.read_bytes() for p in (tmp_path / fmt).rglob("*") if p.is_file())


def test_record_without_a_display_says_so_in_one_line(tmp_path, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    done = cli("record", "http://127.0.0.1:9/", "--out", str(tmp_path))
    assert done.returncode == 2 and "no display" in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_done_typed_in_the_terminal_ends_the_recording_with_the_answer(tmp_path, pages_url):
    import subprocess

    from .conftest import CLI

    done = subprocess.run([*CLI, "record", pages_url + "popups.html", "--headless", "--out", str(tmp_path)],
                          input='what now\ndone "all read"\n', capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert 'type done, or done "answer"' in done.stdout, "a line that is not done says how to end"
    [run_dir] = tmp_path.iterdir()
    trace = read_trace(run_dir)
    assert trace.status == "success" and trace.end.answer == "all read"
    assert trace.steps[-1].intent.name == "done"


def test_a_new_tab_the_address_bar_and_back_are_recorded_as_a_person_did_them(tmp_path, pages_url):
    """A link opening a tab is one click (the tab is the next page looked at); a URL typed in the address bar
    is `goto`, the Back button `back`: navigations no action in the page explains."""
    import time

    with Recorder(pages_url + "popups.html", goal="help", out=tmp_path, config=BrowserConfig()) as recorder:
        person = Person(recorder)
        person.click("text=Open help in a new tab")
        assert recorder.page.url.endswith("/tab.html"), "the new tab is where the person now is"
        time.sleep(1.6)  # a person reaching for the address bar
        recorder.page.goto(pages_url + "clicks.html")
        recorder.pump(1.0)
        time.sleep(1.6)
        recorder.page.go_back()
        recorder.pump(1.0)
        trace = recorder.finish()
    assert [s.thought for s in trace.steps] == ['click "Open help in a new tab"', f"goto {pages_url}clicks.html", "back",
                                                "done"]
    assert [s.observation.url.rsplit("/", 1)[1] for s in trace.steps[:3]] == ["popups.html", "tab.html", "clicks.html"]
    assert len(trace.steps[1].observation.tabs) == 2 and trace.steps[1].observation.active_tab == 1


def test_a_tiny_model_trained_on_a_recording_alone_books_the_demo(tmp_path, demo_url):
    """The data half of the loop from a person: the demo recorded at its fixed address, exported in MolmoWeb's
    protocol, a tiny Molmo2 trained from random weights on those rows alone until it answers each as recorded,
    then the molmoweb policy with that model books the demo (as tests/test_model_loop.py does from runs)."""
    requires_ml()
    from molmo_agent.models.random import build_tiny_molmo2
    from molmo_agent.sft.export import export
    from molmo_agent.sites import DEMO_SITE
    from molmo_agent.tasks import load_task

    from .conftest import DEMO_ADDRESS, train_until_reproduced

    task_file = DEMO_SITE.parent / "task.yaml"
    config = BrowserConfig(url_map=[(DEMO_ADDRESS, demo_url)])  # the address a run with --site-url shows
    with Recorder(DEMO_ADDRESS, goal=load_task(task_file).goal, out=tmp_path / "recorded", config=config,
                  secret_names=["PIN"]) as recorder:
        book(recorder)
        recording = recorder.finish(answer="Booked")
    export([recording.dir], tmp_path / "web", format="molmoweb", test_fraction=0, history=3)
    tiny = build_tiny_molmo2(tmp_path / "molmo2-tiny")
    model, _, _ = train_until_reproduced(tiny, [tmp_path / "web"], tmp_path / "trained", 200)
    done = cli("run", "--task", str(task_file), "--policy", "molmoweb", "--model", str(model), "--site-url",
               DEMO_ADDRESS, "--temperature", "0", "--history", "3", "--guards", "--wait-scale", "0.1",
               "--secret", f"PIN={PIN}", "--out", str(tmp_path / "runs"), timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "success after 22 steps" in done.stdout, "15 steps, seven of them typing: a click, then keyboard_type"
