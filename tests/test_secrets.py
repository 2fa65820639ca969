"""Secrets reach the page and nothing else: not the trace, the screenshots, the log or a model."""

from molmo_agent.observation import Observation
from molmo_agent.trace import read_trace

from .conftest import cli

PIN = "8841-secret-PIN"
NAME = "Zebediah"


def test_secrets_appear_in_no_file_and_no_output(tmp_path, demo_url, ocr_pointer):
    plan = ('click "Accept all", click "Round trip", type "SFO" into "From", type "JFK" into "To", '
            'click "Search flights", scroll down, click "Book MA 417", type "{{FIRST}}" into "First name", '
            'type "Lovelace" into "Last name", type "{{PIN}}" into "Frequent flyer PIN", click "Confirm booking"')
    done = cli("run", plan, "--url", demo_url, "--pointer", "dom", "--out", str(tmp_path),
               "--secret", f"PIN={PIN}", "--secret", f"FIRST={NAME}")
    assert done.returncode == 0, done.stdout + done.stderr
    [run_dir] = tmp_path.iterdir()
    for path in run_dir.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert PIN.encode() not in data and NAME.encode() not in data, path
    assert PIN not in done.stdout + done.stderr and NAME not in done.stdout + done.stderr
    trace = read_trace(run_dir)
    typed = [s for s in trace.steps if s.action.name == "type"]
    assert {s.action.text for s in typed} >= {"{{FIRST}}", "{{PIN}}"}
    assert all(s.outcome.field_value_ok for s in typed)
    # A secret in a plain text field, or shown by the page (the confirmation repeats the name), is masked.
    for step in trace.steps[typed[0].index:]:
        png = trace.screenshot_path(step.observation.screenshot).read_bytes()
        observation = Observation(screenshot=png, image_size=(1280, 720), viewport=(1280, 720), scale=1,
                                  url="", title="", tabs=[], active_tab=0, dom_signature="")
        _, lines = ocr_pointer.read(observation)
        assert not any(NAME.lower() in text.lower() for _, text, _ in lines), step.index


def test_secrets_inside_shadow_roots_and_frames_are_masked_too(tmp_path, pages_url, ocr_pointer):
    secret = "ZEBRA4417"
    plan = 'type "{{CODE}}" into "Shadow code", type "{{CODE}}" into "Framed code"'
    done = cli("run", plan, "--url", pages_url + "hidden-places.html", "--pointer", "dom", "--out", str(tmp_path),
               "--secret", f"CODE={secret}")
    assert done.returncode == 0, done.stdout + done.stderr
    [run_dir] = tmp_path.iterdir()
    trace = read_trace(run_dir)
    assert all(step.outcome.field_value_ok for step in trace.steps if step.action.name == "type"), \
        "both fields hold the secret (and echo it beside them)"
    shots = [trace.screenshot_path(s.observation.screenshot) for s in trace.steps[1:]]
    shots.append(run_dir / trace.end.final_screenshot)
    for path in shots:
        observation = Observation(screenshot=path.read_bytes(), image_size=(1280, 720), viewport=(1280, 720),
                                  scale=1, url="", title="", tabs=[], active_tab=0, dom_signature="")
        _, lines = ocr_pointer.read(observation)
        texts = [text for _, text, _ in lines]
        assert any("framed code" in t.lower() for t in texts), f"the page and its frame are on screen: {texts}"
        assert not any("zebra" in t.lower() or "4417" in t for t in texts), (path.name, texts)
