"""`ui`: the web app over trace folders, on loopback, driven by a real Chromium (pytest-playwright's `page`)."""

import html
import subprocess
import time

import httpx
import pytest
from playwright.sync_api import expect

from molmo_agent.replay import replay
from molmo_agent.sites import DEMO_SITE, serve_site
from molmo_agent.tasks import Task
from molmo_agent.trace import read_trace
from molmo_agent.trace.writer import TraceWriter
from molmo_agent.ui import UiServer

from .conftest import CLI, run_task, settings

PLAN = 'click "Accept all", click "Round trip", type "SFO" into "From", type "JFK" into "To", click "Search flights"'
HOSTILE = "<script>window.pwned = 1</script><img src=x onerror='window.pwned = 2'>"


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """Runs made here: the demo on layout a, its reground replay on layout b (the page moved), a run whose goal
    is markup."""
    out = tmp_path_factory.mktemp("ui-runs")
    with serve_site(DEMO_SITE) as base:
        recorded = run_task(Task(id="demo", goal=PLAN, url=base, steps=PLAN.split(", ")), settings(out / "runs")).run_dir
        replayed, _ = replay(recorded, settings(out / "runs"), mode="reground", url=base + "index.html?variant=b")
    site = out / "hostile-site"  # a page whose title is markup
    site.mkdir()
    (site / "index.html").write_text(f"<!doctype html><title>{html.escape(HOSTILE)}</title><button>Go</button>")
    hostile = run_task(Task(id="hostile", goal=HOSTILE, site=site, steps=['click "Go"']), settings(out / "runs")).run_dir
    return {"root": out, "recorded": recorded, "replayed": replayed.run_dir, "hostile": hostile}


@pytest.fixture(scope="module")
def app(folder):
    server = UiServer([folder["root"]], port=0)
    yield server.start()
    server.stop()


def _ref(path, root) -> str:
    return "0/" + path.relative_to(root.resolve()).as_posix()


def test_the_list_shows_the_runs_made_here_and_filters_them(page, app, folder):
    page.goto(app)
    rows = page.locator("tr.run")
    expect(rows).to_have_count(3)
    expect(page.locator("tr.run", has_text="Accept all").first).to_contain_text("success")
    page.fill("input[name=q]", "Round trip")
    page.click("text=filter")
    expect(rows).to_have_count(2)  # the recording and its replay (same goal)
    page.goto(app + "/?status=failed")
    expect(rows).to_have_count(0)


def test_a_run_shows_its_steps_and_the_arrow_keys_move_between_them(page, app, folder):
    trace = read_trace(folder["recorded"])
    page.goto(f"{app}/run/{_ref(folder['recorded'], folder['root'])}")
    expect(page.locator(".steps-list a")).to_have_count(len(trace.steps))
    shown = page.locator(".ui-step.current")
    expect(shown).to_have_attribute("data-index", "1")
    expect(shown.locator("img")).to_have_js_property("complete", True)
    assert shown.locator("img").evaluate("i => i.naturalWidth") == 1280, "the screenshot itself, served"
    expect(shown.locator("svg circle.model-point")).to_have_count(1)  # where the pointer pointed
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    expect(shown).to_have_attribute("data-index", "3")
    expect(shown).to_contain_text('type "SFO" into "From"')
    page.keyboard.press("ArrowLeft")
    expect(shown).to_have_attribute("data-index", "2")


def test_a_trace_being_written_appears_step_by_step_without_a_reload(page, app, folder):
    source = read_trace(folder["recorded"])
    live = folder["root"] / "runs" / "being-written"
    writer = TraceWriter(live)
    writer.write(source.header)
    page.goto(f"{app}/run/{_ref(live, folder['root'])}")
    expect(page.locator("#status")).to_contain_text("running")
    page.evaluate("window.sameDocument = true")
    for n, step in enumerate(source.steps[:3], 1):
        shot = writer.screenshot(f"{n:04d}", source.screenshot_path(step.observation.screenshot).read_bytes())
        writer.write(step.model_copy(update={"observation": step.observation.model_copy(update={"screenshot": shot})}))
        expect(page.locator(".steps-list a")).to_have_count(n, timeout=2000)
        expect(page.locator(".ui-step.current")).to_have_attribute("data-index", str(step.index), timeout=2000)
    writer.write(source.end.model_copy(update={"status": "failed", "reason": "stopped by the test", "steps": 3}))
    expect(page.locator("#status")).to_contain_text("stopped by the test", timeout=2000)
    assert page.evaluate("window.sameDocument") is True, "no reload"


def test_compare_marks_where_a_replay_on_a_moved_page_parts_from_its_recording(page, app, folder):
    recorded, replayed = read_trace(folder["recorded"]), read_trace(folder["replayed"])
    moved = next(i for i, (a, b) in enumerate(zip(recorded.steps, replayed.steps), 1)
                 if abs(a.action.x - b.action.x) + abs(a.action.y - b.action.y) > 16)
    page.goto(f"{app}/compare?a={_ref(folder['recorded'], folder['root'])}&b={_ref(folder['replayed'], folder['root'])}")
    expect(page.locator("tr.first-divergence")).to_have_attribute("data-step", str(moved))
    expect(page.locator("#first-divergence")).to_contain_text(f"step {moved}: pointed")
    pair = page.locator(".pair .shot")
    expect(pair).to_have_count(2)
    for shot in pair.all():  # both screenshots, each with both points
        expect(shot.locator("circle.point-a")).to_have_count(1)
        expect(shot.locator("circle.point-b")).to_have_count(1)
    expect(page.locator("tr.diverged").first).to_have_attribute("data-step", str(moved))


def test_an_eval_in_progress_shows_its_progress_as_episodes_finish(page, app, folder):
    out = folder["root"] / "eval-suite"
    running = subprocess.Popen([*CLI, "eval", "tasks/suite", "--tasks", "flight-booking,shop-answer",
                                "--pointer", "dom", "--out", str(out)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not (out / "planned.json").is_file() and time.monotonic() < deadline:
            time.sleep(0.1)
        page.goto(f"{app}/eval/0/eval-suite")
        expect(page.locator("#live .progress")).to_contain_text("of 2 episodes done")
        page.evaluate("window.sameDocument = true")
        expect(page.locator("#live .progress")).to_contain_text("2 of 2 episodes done, 2 passed (100%)", timeout=60_000)
        assert page.evaluate("window.sameDocument") is True
        expect(page.locator("#live a", has_text="steps")).to_have_count(2)
    finally:
        assert running.wait(timeout=60) == 0
    page.goto(app)
    expect(page.locator("tr.eval")).to_contain_text("2 of 2 episodes done, 2 passed")


def test_paths_outside_the_folders_are_refused(app, folder, tmp_path):
    outside = tmp_path / "secret.png"
    outside.write_bytes(b"\x89PNG not yours")
    (folder["root"] / "link.png").symlink_to(outside)
    for path in ("/file/0/../../../../etc/passwd", "/file/0/%2e%2e/%2e%2e/etc/passwd", f"/file/0/{outside}",
                 "/file/0//etc/passwd", f"/file/1/{outside.name}", "/file/0/link.png", "/run/0/..%2f..%2f",
                 f"/compare?a=0/{'../' * 8}etc"):
        response = httpx.get(app + path)
        assert response.status_code == 404 and b"not yours" not in response.content, (path, response.text)
    assert httpx.get(f"{app}/file/0/runs").status_code == 404, "screenshots only"
    trace = read_trace(folder["recorded"])
    shot = httpx.get(f"{app}/file/{_ref(trace.screenshot_path(trace.steps[0].observation.screenshot), folder['root'])}")
    assert shot.status_code == 200 and shot.headers["content-type"] == "image/png"


def test_page_and_model_strings_show_as_text_and_run_nothing(page, app, folder):
    assert read_trace(folder["hostile"]).steps[0].observation.title == HOSTILE, "the page's own title"
    for url in (app, f"{app}/run/{_ref(folder['hostile'], folder['root'])}"):
        page.goto(url)
        expect(page.get_by_text("<script>window.pwned = 1</script>", exact=False).first).to_be_visible()
        page.wait_for_timeout(200)
        assert page.evaluate("window.pwned") is None


def test_beyond_loopback_it_wants_a_token_and_checks_the_host(folder):
    with pytest.raises(Exception, match="without --token"):
        UiServer([folder["root"]], host="0.0.0.0", port=0)
    server = UiServer([folder["root"]], port=0, token="s3cret")
    url = server.start()
    try:
        assert httpx.get(url).status_code == 401
        opened = httpx.get(url + "/?token=s3cret")
        assert opened.status_code == 200 and "molmo_ui" in opened.headers["set-cookie"]
        assert httpx.get(url, cookies={"molmo_ui": "s3cret"}).status_code == 200
        rebound = httpx.get(url + "/?token=s3cret", headers={"Host": "attacker.example"})
        assert rebound.status_code == 421
    finally:
        server.stop()


def test_the_command_line(folder, tmp_path):
    done = subprocess.run([*CLI, "ui", str(tmp_path / "nowhere")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "is not a folder" in done.stderr and "Traceback" not in done.stderr
