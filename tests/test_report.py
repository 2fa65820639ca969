"""The HTML report and the GIF, looked at in a real browser."""

import contextlib

from PIL import Image

from molmo_agent.browser import Browser, BrowserConfig
from molmo_agent.report import write_report
from molmo_agent.sites import DEMO_SITE
from molmo_agent.tasks import load_task

from .conftest import cli, run_task, settings


@contextlib.contextmanager
def opened(path):
    """The file in headless Chromium with every network request refused: the report must be self-contained."""
    with Browser(BrowserConfig(allow_file=True)) as browser:
        browser.context.route("http*://**/*", lambda route: route.abort())
        browser.goto(path.as_uri())
        yield browser.page


def test_report_opens_offline_with_timeline_and_points(tmp_path):
    result = run_task(load_task(DEMO_SITE.parent / "task.yaml"), settings(tmp_path, pointer="dom"))
    report = write_report(result.run_dir, gif=True)
    html = report.read_text()
    assert "http://" not in html.split("</style>")[0] and "<script" not in html, "no CDN, no scripts"
    with opened(report) as page:
        assert page.locator(".timeline a").count() == 14
        assert page.locator("section.step").count() == 15  # 14 steps and the final page
        assert page.locator(".model-point").count() == 12  # one per grounded target
        assert page.locator(".click").count() == 12
        assert page.evaluate("Array.from(document.images).every(i => i.complete && i.naturalWidth === 1280)")
        point = page.locator("#step-3 .model-point")
        assert (float(point.get_attribute("cx")), float(point.get_attribute("cy"))) == (429.0, 232.0)
    assert "dom: &lt;input&gt; &quot;From&quot;" in html
    gif = Image.open(result.run_dir / "run.gif")
    assert gif.n_frames == 14 and gif.size[0] == 640


def test_report_of_a_folder_of_runs_links_each(tmp_path):
    for _ in range(2):
        run_task(load_task(DEMO_SITE.parent / "task.yaml"), settings(tmp_path, pointer="dom"))
    done = cli("report", str(tmp_path))
    assert done.returncode == 0, done.stderr
    with opened(tmp_path / "index.html") as page:
        assert page.locator("table a").count() == 2
        assert "2 of 2 runs succeeded" in page.inner_text("header")
        page.locator("table a").first.click()
        assert page.locator(".timeline a").count() == 14


def test_playwright_trace_is_saved_beside_the_run(tmp_path, demo_url):
    done = cli("run", 'click "Accept all"', "--url", demo_url, "--pointer", "dom", "--out", str(tmp_path),
               "--playwright-trace")
    assert done.returncode == 0, done.stderr
    [archive] = tmp_path.glob("*/playwright-trace.zip")
    assert archive.stat().st_size > 1000
    refused = cli("run", 'click "Accept all"', "--url", demo_url, "--secret", "A=b", "--playwright-trace",
                  "--out", str(tmp_path))
    assert refused.returncode == 2 and "cannot be combined with --secret" in refused.stderr


def test_report_of_nothing_is_a_clear_error(tmp_path):
    done = cli("report", str(tmp_path))
    assert done.returncode == 1
    assert "neither a run directory nor a folder of runs" in done.stderr
