"""The pixel pointer on forms styled by the CSS frameworks people use (tasks/frameworks: Bootstrap 5, Bulma, Pico,
Tailwind with its forms plugin, Foundation), their stylesheets installed from npm at test time, never copied."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from molmo_agent.browser import Browser, BrowserConfig
from molmo_agent.evaluate import evaluate, load_suite
from molmo_agent.pointers.ocr import field_next_to
from molmo_agent.sites import serve_site

from .conftest import PAGES, settings

SUITE = Path(__file__).parents[1] / "tasks" / "frameworks"
SITE = SUITE / "site"
FRAMEWORKS = {"bootstrap", "bulma", "pico", "tailwind", "foundation"}


@pytest.fixture(scope="module")
def styled():
    """The framework pages with their stylesheets: `npm ci` in the site folder (it also builds Tailwind's)."""
    if not (SITE / "node_modules" / ".package-lock.json").is_file() or not (SITE / "build" / "tailwind.css").is_file():
        if shutil.which("npm") is None:
            pytest.fail("npm is not installed: the framework pages' stylesheets come from npm (install Node.js)")
        done = subprocess.run(["npm", "ci"], cwd=SITE, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"npm ci in {SITE} failed:\n{done.stderr[-2000:]}"
    for page in SITE.glob("*.html"):  # every page is styled: a missing stylesheet would test plain HTML
        for href in re.findall(r'<link rel="stylesheet" href="([^"]+)"', page.read_text()):
            assert (SITE / href).is_file(), f"{page.name}: {href} is not installed"
    return SUITE


@pytest.fixture(scope="module")
def episodes(styled, tmp_path_factory):
    """The framework tasks, each checked with the `dom` pointer first: its steps and checks are right."""
    episodes = load_suite(styled)
    assert len(episodes) >= 7 and FRAMEWORKS <= {tag for e in episodes for tag in e.task.tags}
    out = tmp_path_factory.mktemp("dom")
    dom = evaluate(episodes, settings(out, pointer="dom"), out, workers=2)
    assert {r.task: r.reason for r in dom if not r.success} == {}
    return episodes


@pytest.mark.parametrize("scale", [1.0, 2.0])
def test_the_pixel_pointer_fills_in_every_framework_form_the_dom_pointer_does(episodes, tmp_path, scale):
    ocr = evaluate(episodes, settings(tmp_path, pointer="ocr", scale=scale), tmp_path, workers=2)
    assert len(ocr) == len(episodes)
    assert {r.task: r.reason for r in ocr if not r.success} == {}


@pytest.fixture(scope="module")
def looked(styled, ocr_pointer):
    """A page parsed by the ocr pointer, with the boxes (CSS px) of the elements a test names by selector."""

    def look(folder: Path, page: str, selectors: dict[str, str], scale: float = 1.0):
        with serve_site(folder) as base, Browser(BrowserConfig(scale=scale)) as browser:
            browser.goto(base + page)
            observation = browser.observe()
            boxes = {name: browser.evaluate("(s) => { const r = document.querySelector(s).getBoundingClientRect();"
                                            " return [r.left, r.top, r.right, r.bottom]; }", selector)
                     for name, selector in selectors.items()}
        return ocr_pointer.parse(observation.screenshot, tuple(observation.viewport)), boxes

    return look


def inside(point, box) -> bool:
    return box[0] <= point[0] <= box[2] and box[1] <= point[1] <= box[3]


@pytest.mark.parametrize("scale", [1.0, 2.0])
def test_an_input_groups_label_leads_to_its_input_never_to_an_add_on(looked, ocr_pointer, scale):
    """'@' before the field, '@example.com' after it, '$' and '.00' on both sides, a URL prefix: each label's
    point lands in the input, and the shaded add-ons are seen as add-ons, not as fields."""
    inputs = {"Username": "#user", "Work email": "#mail", "Monthly budget": "#amount", "Profile address": "#page"}
    screen, boxes = looked(SITE, "bootstrap-groups.html", inputs, scale)
    for label, box in boxes.items():
        found = ocr_pointer.ground(label, screen, field=True)
        assert inside(found.point, box), f"{label!r} led to {found.point} ({found.how}), not its input {box}"
    addons = [c.box for c in screen.controls if c.kind == "addon"]
    assert len(addons) == 2 and all(not inside(c.center, boxes["Work email"]) for c in screen.controls
                                    if c.kind == "addon"), addons


def test_the_gap_between_two_rows_of_fields_is_not_a_field(looked, ocr_pointer):
    """Below 'Monthly budget' the edge finder sees two long lines, the email row's bottom and the budget row's top:
    they are the borders of fields already seen, so no field stands between them."""
    screen, boxes = looked(SITE, "bootstrap-groups.html", {"email": "#mail", "budget": "#amount"})
    label = next(t.box for t in screen.lines if t.text == "Monthly budget")
    found = field_next_to(screen.grey, label, screen.controls)
    assert found is None or inside(((found[0] + found[2]) / 2, (found[1] + found[3]) / 2), boxes["budget"]), found


@pytest.mark.parametrize("scale", [1.0, 2.0])
def test_fields_drawn_as_an_underline_and_a_narrow_select(looked, ocr_pointer, scale):
    """Tailwind's underline-only fields, whose labels are not tied to them (a click on the label does nothing),
    and Bulma's select no wider than its choice."""
    screen, boxes = looked(SITE, "tailwind.html", {"City": "#city", "Postal code": "#postcode"}, scale)
    for label, box in boxes.items():
        found = ocr_pointer.ground(label, screen, field=True)
        assert found.how == "field by layout" and inside(found.point, box), (label, found.point, box)
    screen, boxes = looked(SITE, "bulma.html", {"Party size": "#people"}, scale)
    assert inside(ocr_pointer.ground("Party size", screen, field=True).point, boxes["Party size"])


def test_a_short_label_misread_small_is_read_again_enlarged(looked, ocr_pointer):
    """Read with the page at one image pixel per CSS pixel, the 10 px 'CVV' comes out as 'cvw'; the words that
    nearly match a short target are read again at four."""
    screen, boxes = looked(PAGES, "short-labels.html", {"CVV": "input[name='CVV-10']"})
    assert not any(t.text.upper() == "CVV" for t in screen.lines), "the first reading misreads it (else no test)"
    found = ocr_pointer.ground("CVV", screen, field=True)
    assert found.text.upper() == "CVV" and inside(found.point, boxes["CVV"])


def test_after_a_step_only_the_places_that_changed_are_read_again(styled):
    """Typing into one field changes a few places (the text, the focus ring, the caret): only those are read again,
    and every label leads where it does on a whole new reading. Another page, or another device scale, is read whole."""
    from molmo_agent.pointers.ocr import OcrPointer

    pointer, fresh = OcrPointer(), OcrPointer()
    regions = []
    read_region = pointer._read_region
    pointer._read_region = lambda device, size, region, scale: regions.append(region) or read_region(
        device, size, region, scale)
    with serve_site(SITE) as base, Browser(BrowserConfig()) as browser:
        browser.goto(base + "bootstrap-layout.html")
        first = browser.observe()
        pointer.parse(first.screenshot, tuple(first.viewport))
        browser.page.fill("#street", "1 Navy Way")
        browser.page.focus("#street")
        typed = browser.observe()
        regions.clear()
        screen = pointer.parse(typed.screenshot, tuple(typed.viewport))
        area = sum((r[2] - r[0]) * (r[3] - r[1]) for r in regions)
        assert regions and area < 0.1 * 1280 * 720, f"read {len(regions)} places, {area:.0f} px² in all"
        whole = fresh.parse(typed.screenshot, tuple(typed.viewport))
        assert "1 Navy Way" in [t.text for t in screen.lines]
        for label in ("First name", "Last name", "Street", "Phone", "City", "State", "Zip", "Delivery notes"):
            assert pointer.ground(label, screen, field=True).control == fresh.ground(label, whole, field=True).control
        browser.goto(base + "foundation.html")
        other = browser.observe()
    with serve_site(SITE) as base, Browser(BrowserConfig(scale=2)) as browser:
        browser.goto(base + "foundation.html")
        hidpi = browser.observe()
    for shot in (other, hidpi):  # another page; the same page at another device scale
        regions.clear()
        pointer.parse(shot.screenshot, tuple(shot.viewport))
        (x0, y0, x1, y1), *_ = regions
        assert (x1 - x0) * (y1 - y0) > 0.3 * 1280 * 720


def test_a_checkbox_or_radio_whose_words_are_not_tied_to_it_is_clicked_itself(looked, ocr_pointer):
    """Words beside a box that no <label> ties to it: a click on them does nothing, so the point is on the box."""
    boxes = {"Send me the newsletter": "#news", "Text me about my order": "#sms", "Home": "#home",
             "Pick-up point": "#shop", "Keep me signed in": "#keep"}
    screen, rects = looked(PAGES, "untied-boxes.html", boxes)
    for words, rect in rects.items():
        found = ocr_pointer.ground(words, screen)
        assert inside(found.point, rect), f"{words!r}: {found.how} at {found.point}, the box is {rect}"
