"""Strings a page or a model controls reach the reports as text, never as markup that runs."""

import json

import pytest

from molmo_agent.browser import Browser, BrowserConfig

from .conftest import cli
from .openai_server import fake_molmo_server

MARKUP = "<img src=x onerror=window.pwned=1>"
ANSWER = f'<script>window.pwned=1</script>\nclick "{MARKUP}"'


def _assert_inert(report):
    """Open the report with JavaScript on: nothing ran, no element came from the strings, the text is shown."""
    with Browser(BrowserConfig(allow_file=True)) as browser:
        browser.context.route("http*://**/*", lambda route: route.abort())
        browser.goto(report.as_uri())
        page = browser.page
        assert page.evaluate("window.pwned") is None
        assert page.evaluate("document.scripts.length") == 0
        handlers = page.evaluate("""Array.from(document.querySelectorAll('*')).flatMap(el =>
            Array.from(el.attributes).filter(a => a.name.startsWith('on')).map(a => el.tagName + ' ' + a.name))""")
        assert handlers == []
        assert page.evaluate("Array.from(document.images).every(i => i.src.startsWith('data:image/'))")
        return page.inner_text("body")


@pytest.fixture
def hostile_planner(ocr_pointer):
    with fake_molmo_server(ocr_pointer) as (endpoint, model):
        model.faults = [f"say:{ANSWER}", "garbage"]
        yield endpoint


def test_a_run_report_shows_hostile_titles_urls_labels_and_answers_as_text(tmp_path, pages_url, hostile_planner):
    url = f'{pages_url}/hostile.html?from="><script>window.pwned=1</script>'
    done = cli("run", f"<b onmouseover=window.pwned=1>{MARKUP}</b>", "--url", url, "--policy", "planner",
               "--planner", hostile_planner, "--planner-model", "m", "--pointer", "dom", "--out", str(tmp_path))
    assert done.returncode == 1, done.stdout + done.stderr
    [run_dir] = tmp_path.iterdir()
    assert cli("report", str(run_dir)).returncode == 0
    text = _assert_inert(run_dir / "report.html")
    assert MARKUP in text, "the label the pointer was asked for and the click on it"
    assert "<script>window.pwned=1</script>" in text, "the model's answer and the URL"
    assert f"<b onmouseover=window.pwned=1>{MARKUP}</b>" in text, "the goal"


def test_an_eval_report_shows_hostile_goals_and_reasons_as_text(tmp_path, pages_url):
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "hostile.yaml").write_text(json.dumps({
        "id": "hostile", "goal": "<script>window.pwned=1</script>", "url": f"{pages_url}/hostile.html",
        "steps": [f'click "{MARKUP}"', 'click "</td><script>window.pwned=1</script>"'], "max_steps": 4}))
    done = cli("eval", str(suite), "--pointer", "dom", "--out", str(tmp_path / "out"))
    assert done.returncode == 1, done.stdout + done.stderr
    text = _assert_inert(tmp_path / "out" / "report.html")
    assert "</td><script>window.pwned=1</script>" in text, "the failure reason names the target as text"
    [trace] = (tmp_path / "out").glob("**/trace.jsonl")
    _assert_inert(trace.parent / "report.html")
