"""Real Chromium: where clicks land, tabs, dialogs, and where the agent may go."""

import io
import re

import numpy as np
import pytest
from PIL import Image

from molmo_agent import actions as A
from molmo_agent.browser import Browser, BrowserConfig
from molmo_agent.errors import BrowserError, NavigationBlockedError
from molmo_agent.redaction import Secrets
from molmo_agent.tasks import Task
from molmo_agent.trace import read_trace

from .conftest import run_task, settings

TARGETS = ["Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot"]


@pytest.mark.parametrize("scale", [1, 1.5, 2])
def test_clicks_land_inside_their_targets_at_every_scale(tmp_path, pages_url, ocr_pointer, scale):
    """The OCR pointer reads the HiDPI screenshot; every click must still land on its button."""
    plan = ", ".join(f'click "{t}"' for t in TARGETS)
    task = Task(id="clicks", goal=plan, url=pages_url + "clicks.html")
    config = settings(tmp_path, pointer="ocr", scale=scale)
    with Browser(config.browser) as probe:
        probe.goto(task.url)
        assert probe.observe().image_size == (int(1280 * scale), int(720 * scale))
    result = run_task(task, config, pointer=ocr_pointer)
    assert result.status == "success", result.end.reason
    trace = read_trace(result.run_dir)
    landed = []
    for step in trace.steps[: len(TARGETS)]:
        assert step.grounding[0].image_size is not None
        landed.append((step.intent.target, step.action.x, step.action.y))
    # Replay the recorded CSS points on a fresh page and ask the page what each one hit.
    with Browser(BrowserConfig(scale=scale)) as browser:
        browser.goto(task.url)
        for target, x, y in landed:
            browser.page.mouse.click(x, y)
        clicks = browser.evaluate("() => window.clicks")
    assert [c["id"] for c in clicks] == list("abcdef"), f"scale {scale}: clicks hit {clicks}"


def test_new_tab_is_followed_and_dialogs_are_recorded(tmp_path, pages_url):
    task = Task(id="popups", goal='click "Open help in a new tab", switch to tab 0, click "Delete all"',
                url=pages_url + "popups.html", checks=[{"text": "yes"}])
    result = run_task(task, settings(tmp_path))
    assert result.status == "success", result.end.reason
    steps = read_trace(result.run_dir).steps
    assert "tab" in steps[0].outcome.changed
    assert any("new tab" in e and "tab.html" in e for e in steps[0].outcome.events)
    assert steps[1].observation.title == "help tab"
    assert steps[2].outcome.events == ["confirm dialog accepted: Delete everything?"]


def test_dismissing_dialogs(tmp_path, pages_url):
    task = Task(id="popups", goal='click "Delete all"', url=pages_url + "popups.html",
                checks=[{"js": "document.getElementById('said').textContent === 'no'"}])
    result = run_task(task, settings(tmp_path, dialogs="dismiss"))
    assert result.status == "success", result.end.reason
    [step, _] = read_trace(result.run_dir).steps
    assert step.outcome.events == ["confirm dialog dismissed: Delete everything?"]


def test_allow_domain_blocks_leaving_the_site(tmp_path, pages_url):
    task = Task(id="leave", goal='click "Leave this site"', url=pages_url + "popups.html")
    result = run_task(task, settings(tmp_path, allow_domains=["127.0.0.1"]))
    assert result.status == "failed"
    step = read_trace(result.run_dir).steps[0]
    assert any("localhost is not in --allow-domain" in e for e in step.outcome.events)
    assert step.observation.url.startswith(pages_url)
    assert result.end.final_url.startswith(pages_url)


def test_start_url_outside_allowed_domains_is_refused(tmp_path, pages_url):
    task = Task(id="start", goal="done", url=pages_url.replace("127.0.0.1", "localhost"))
    result = run_task(task, settings(tmp_path, allow_domains=["example.org"]))
    assert result.status == "error" and "not in --allow-domain" in result.end.reason


def test_file_urls_need_allow_file(tmp_path):
    page = tmp_path / "local.html"
    page.write_text("<button>Local</button>")
    with Browser(BrowserConfig()) as browser:
        with pytest.raises(NavigationBlockedError, match="--allow-file"):
            browser.goto(page.as_uri())
    with Browser(BrowserConfig(allow_file=True)) as browser:
        browser.goto(page.as_uri())
        assert browser.observe(elements=True).elements[0].name == "Local"


# -- what a look shows ----------------------------------------------------------------------------
def _at(browser: Browser, selector: str) -> dict:
    """The centre of what `selector` names, as an action's x and y."""
    box = browser.page.locator(selector).bounding_box()
    return {"x": box["x"] + box["width"] / 2, "y": box["y"] + box["height"] / 2}


@pytest.mark.parametrize("scale", [1, 2])
def test_a_look_after_an_action_shows_the_pixels_playwright_shows_with_transitions_at_their_end(pages_url, scale):
    """The loop takes its screenshots over CDP, not with `page.screenshot()`: the pixels must be Playwright's
    all the same (caret hidden, finite animations at their end), at every scale and with the page scrolled."""
    with Browser(BrowserConfig(scale=scale)) as browser:
        browser.goto(pages_url + "settling.html")
        browser.execute(A.Scroll(direction="down", amount=300))
        browser.execute(A.Click(**_at(browser, "#open")))
        look = browser.observe()
        assert browser.evaluate("() => getComputedStyle(document.getElementById('panel')).opacity") == "1"
        ours = np.asarray(Image.open(io.BytesIO(look.screenshot)).convert("RGB"))
        theirs = np.asarray(Image.open(io.BytesIO(browser.page.screenshot(animations="disabled"))).convert("RGB"))
    assert ours.shape == (720 * scale, 1280 * scale, 3) and look.image_size == (1280 * scale, 720 * scale)
    assert np.array_equal(ours, theirs), f"{(ours != theirs).any(axis=2).sum()} pixels differ from Playwright's"
    panel = ours[(420 - 300 + 60) * scale, 190 * scale]
    assert tuple(panel) == (0x22, 0xaa, 0x66), f"the panel shows {tuple(panel)}, not its final colour"


def test_a_look_after_a_scroll_reads_the_page_where_it_scrolled_to(pages_url):
    """A page that glides to where the wheel sends it (as smooth-scrolling libraries do) is still moving when
    the wheel returns: the elements a look reads (the `dom` pointer's input) must stand where they came to rest,
    where the screenshot shows them, not where they were part way."""
    with Browser() as browser:
        browser.goto(pages_url + "smooth-scroll.html")
        browser.observe(elements=True)
        for _ in range(3):
            browser.execute(A.Scroll(direction="down", amount=300))
            look = browser.observe(elements=True)
            for item in look.elements[:3]:
                now = browser.page.get_by_role("button", name=item.name, exact=True).bounding_box()
                assert item.box.y == pytest.approx(now["y"], abs=1), f"{item.name} read at {item.box.y}, is at {now['y']}"
        assert browser.page.evaluate("scrollY") == 900


def test_the_dom_signature_follows_the_content_not_the_number_of_changes(pages_url):
    with Browser() as browser:
        browser.goto(pages_url + "settling.html")
        first = browser.observe().dom_signature
        assert browser.observe().dom_signature == first  # nothing changed
        browser.evaluate("() => document.getElementById('panel').setAttribute('title', 'x')")
        changed = browser.observe().dom_signature
        browser.evaluate("() => document.getElementById('panel').removeAttribute('title')")
        assert changed != first and browser.observe().dom_signature == first


def test_a_document_with_no_root_element_yet_is_looked_at_not_waited_on(pages_url):
    """Just after a navigation commits, a document can have no root element yet: the settle after an action
    must still answer (its promise once stayed pending and hung a CI run for an hour), and the look shows
    nothing to act on rather than failing."""
    with Browser(secrets=Secrets({"PIN": "4321"})) as browser:  # the secrets' marks walk the page too
        browser.goto(pages_url + "settling.html")
        assert browser.observe(elements=True).elements
        browser.evaluate("() => document.documentElement.remove()")
        browser.execute(A.Wait(seconds=0))
        look = browser.observe(elements=True)
    assert look.elements == [] and look.title == ""


def test_choosing_an_option_fires_the_events_a_person_would_and_names_what_went_wrong(pages_url):
    with Browser() as browser:
        browser.goto(pages_url + "settling.html")
        browser.execute(A.SelectOption(**_at(browser, "#cabin"), option="business"))
        assert browser.evaluate("() => [document.getElementById('cabin').value, window.heard]") == \
            ["biz", ["input:biz", "change:biz"]]
        for where, option, error in [("#cabin", "Premium", "select_option: the list has no option 'Premium'"),
                                     ("#seat", "Window", "select_option: the list is disabled"),
                                     ("#open", "Window", "select_option: no <select> at")]:
            with pytest.raises(BrowserError, match=re.escape(error)):
                browser.execute(A.SelectOption(**_at(browser, where), option=option))
        assert browser.evaluate("() => document.getElementById('seat').value") == "Aisle"


def test_a_look_whose_pixels_come_later_shows_the_page_before_the_next_action(pages_url):
    """The loop decides and grounds while a look's screenshot is under way (`pixels_later`): the pixels must
    still be those from before the action that follows, never a frame drawn after it."""
    with Browser() as browser:
        browser.goto(pages_url + "clicks.html")
        alpha = _at(browser, "#a")
        for _ in range(5):
            before = browser.observe().screenshot
            look = browser.observe(pixels_later=True)
            browser.execute(A.Click(**alpha))  # "Alpha" becomes "ALPHA"
            assert look.screenshot == before, "the look shows the page after the click"
            assert browser.observe().screenshot != before
            browser.evaluate("() => { document.getElementById('a').textContent = 'Alpha'; }")  # as it was
        before = browser.observe().screenshot
        after = browser.observe(pixels_later=True)
        browser.close()  # closing waits for the look under way
        assert after.screenshot == before


FILLED = """<style>* { position: absolute; left: 10px; width: 220px; height: 30px; margin: 0 }</style>
<input id="text" value="old words" style="top: 10px"><input id="email" type="email" value="old@x.org" style="top: 60px">
<input id="number" type="number" value="123" style="top: 110px"><textarea id="area" style="top: 160px">two
lines</textarea><div id="editable" contenteditable style="top: 210px">some <b>bold</b> text</div>
<input id="search" type="search" value="emptied" style="top: 260px">"""


def test_typing_into_a_filled_field_replaces_what_it_held(pages_url):
    """Typing selects what a field holds and types over it, as a person does after Ctrl+A: in text, email and
    number inputs, a text area and an editable element; typing nothing leaves the field empty."""
    with Browser() as browser:
        browser.page.set_content(FILLED)
        for field, text in [("#text", "new"), ("#email", "ada@example.com"), ("#number", "42"), ("#area", "one"),
                            ("#editable", "plain"), ("#search", ""), ("#text", "again")]:
            browser.observe()
            assert browser.execute(A.Type(**_at(browser, field), text=text)) is True, field
            held = browser.evaluate("(s) => { const el = document.querySelector(s); "
                                    "return el.isContentEditable ? el.innerText : el.value; }", field)
            assert held == text, f"{field} holds {held!r}"
        browser.execute(A.Type(**_at(browser, "#text"), text=" more", clear=False))
        assert browser.evaluate("() => document.getElementById('text').value") == "again more"
