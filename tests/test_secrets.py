"""Secrets reach the page and nothing else: not the trace, the screenshots, the report, the log or a model."""

import base64
import io
import re

import pytest
from PIL import Image

from benchmarks.hostile_pages import LEGIT, ROUTES, SECRET, World, attempt
from molmo_agent.browser.egress import site_of, within
from molmo_agent.browser.session import Chromium
from molmo_agent.redaction import Secrets
from molmo_agent.tasks import Task
from molmo_agent.trace import read_trace

from .conftest import cli, run_task, settings

PIN = "8841-secret-PIN"
NAME = "Zebediah"


def _read(ocr_pointer, image: Image.Image) -> str:
    """The text OCR reads in an image, lower case, at CSS size (a GIF frame is scaled back up)."""
    image = image.convert("RGB").resize((1280, 720), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return " ".join(line.text for line in ocr_pointer.parse(buffer.getvalue(), (1280, 720)).lines).lower()


def test_secrets_appear_in_no_file_and_no_output(tmp_path, demo_url, ocr_pointer):
    plan = ('click "Accept all", click "Round trip", type "SFO" into "From", type "JFK" into "To", '
            'click "Search flights", scroll down, click "Book MA 417", type "{{FIRST}}" into "First name", '
            'type "Lovelace" into "Last name", type "{{PIN}}" into "Frequent flyer PIN", click "Confirm booking"')
    done = cli("run", plan, "--url", demo_url, "--pointer", "dom", "--out", str(tmp_path),
               "--secret", f"PIN={PIN}", "--secret", f"FIRST={NAME}")
    assert done.returncode == 0, done.stdout + done.stderr
    [run_dir] = tmp_path.iterdir()
    reported = cli("report", str(run_dir), "--gif")
    assert reported.returncode == 0, reported.stderr
    images = []
    for path in run_dir.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert PIN.encode() not in data and NAME.encode() not in data, path
            if path.suffix in (".png", ".gif"):
                images.append(Image.open(path))
    html = (run_dir / "report.html").read_text()
    inline = [Image.open(io.BytesIO(base64.b64decode(b))) for b in re.findall(r"data:image/\w+;base64,([^\"']+)", html)]
    assert len(inline) >= len(read_trace(run_dir).steps), "every step's screen is inline in the report"
    for image in images + inline:  # text chunks and comments of PNGs and GIFs
        meta = " ".join(str(v) for v in image.info.values()) + " ".join(getattr(image, "text", {}).values())
        assert PIN not in meta and NAME not in meta
    assert PIN not in done.stdout + done.stderr and NAME not in done.stdout + done.stderr
    # The last inline image and the last GIF frame show the confirmation: the line with the name is masked,
    # the rest is read.
    gif = Image.open(run_dir / "run.gif")
    gif.seek(gif.n_frames - 1)
    for image in (inline[-1], gif):
        seen = _read(ocr_pointer, image)
        squeezed = seen.replace(" ", "")  # a GIF frame is half size: OCR runs its words together
        assert "bookingconfirmed" in squeezed and NAME.lower() not in squeezed, seen
    trace = read_trace(run_dir)
    typed = [s for s in trace.steps if s.action.name == "type"]
    assert {s.action.text for s in typed} >= {"{{FIRST}}", "{{PIN}}"}
    assert all(s.outcome.field_value_ok for s in typed)
    # A secret in a plain text field, or shown by the page (the confirmation repeats the name), is masked.
    # OCR reads the page's other text on the same screenshots: a blank screenshot would not pass.
    for step in trace.steps[typed[0].index:]:
        seen = _read(ocr_pointer, Image.open(trace.screenshot_path(step.observation.screenshot)))
        assert len(seen.replace(" ", "")) >= 30, (step.index, seen)
        assert NAME.lower() not in seen, step.index


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
        texts = [line.text.lower().replace(" ", "") for line in ocr_pointer.parse(path.read_bytes(), (1280, 720)).lines]
        assert any("framedcode" in t for t in texts), f"the page and its frame are on screen: {texts}"
        assert not any("zebra" in t.lower() or "4417" in t for t in texts), (path.name, texts)


@pytest.fixture(scope="module")
def world():
    """The site (127.0.0.1), the outside (`localhost`, logging everything it gets) and a CDN (127.0.0.2)."""
    world = World()
    yield world
    world.close()


@pytest.fixture(scope="module")
def chromium():
    with Chromium() as chromium:
        yield chromium


def _refused_outside(row: dict) -> list[str]:
    return [e for e in row["refused"] if e.startswith("refused") and "localhost:" in e.split(", so")[0]]


@pytest.mark.parametrize("route", list(ROUTES))
def test_a_typed_secret_reaches_no_other_host(route, world, chromium, tmp_path):
    """Without --allow-domain: the site the secret was typed on is the whole list."""
    row = attempt(world, route, out=tmp_path, allow=[], chromium=chromium)
    assert not row["secret found in"], row
    assert not row["requests outside"] or route in ("WebSocket", "iframe by postMessage"), row  # opened before typing
    if route == "service worker":  # no refusal to name: the page cannot register one, so it never asks for it
        assert "site:/sw.js" not in row["arrived"], row
    else:
        assert _refused_outside(row), row["refused"]
        assert all("pass --allow-domain" in e for e in _refused_outside(row))


@pytest.mark.parametrize("route", ["redirect 307 (POST body)", "WebSocket", "iframe by postMessage", "CSS url()"])
def test_with_an_allow_list_the_secret_stays_in_too(route, world, chromium, tmp_path):
    row = attempt(world, route, out=tmp_path, allow=["127.0.0.1"], chromium=chromium)
    assert not row["secret found in"], row
    assert row["refused"], row


@pytest.mark.parametrize("name", list(LEGIT))
def test_pages_keep_their_own_cross_host_requests(name, world, chromium, tmp_path):
    """A CDN's script and image load; after the secret, its own site and the --allow-domain hosts answer."""
    row = attempt(world, name, out=tmp_path, allow=list(LEGIT[name].allow), chromium=chromium)
    assert row["works"] and not row["refused"] and row["status"] == "success", row


def test_after_a_secret_going_to_another_site_is_refused_with_what_to_do(world, chromium, tmp_path):
    task = Task(id="goto", goal="go elsewhere", url=f"{world.site.url}header.html",
                steps=['type "{{PIN}}" into "PIN"', f'goto "{world.outside.url}/next"'])
    config = settings(tmp_path)
    config.secrets = Secrets({"PIN": SECRET})
    result = run_task(task, config, chromium=chromium)
    step = read_trace(result.run_dir).steps[-1]
    assert not step.outcome.ok and "pass --allow-domain localhost" in step.outcome.error, step.outcome
    assert step.outcome.error.startswith("refused going to localhost: a secret was typed on 127.0.0.1")


def test_after_a_secret_the_site_shown_at_site_url_still_answers(chromium, tmp_path):
    """Sealed requests are sent one hop at a time through the same mapping the page's address goes through."""
    from molmo_agent.sites import DEMO_SITE
    from molmo_agent.tasks import load_task

    task = load_task(DEMO_SITE.parent / "task.yaml")
    task = task.model_copy(update={"steps": [s.replace('"Ada" into', '"{{FIRST}}" into') for s in task.steps]})
    config = settings(tmp_path, site_url="http://demo.test/")
    config.secrets = Secrets({"FIRST": "Ada"})
    result = run_task(task, config, chromium=chromium)
    trace = read_trace(result.run_dir)
    assert result.status == "success", result.end.reason
    assert trace.end.final_url.startswith("http://demo.test/") and not any(
        e.startswith("refused") for s in trace.steps for e in s.outcome.events)


def test_a_login_keeps_its_post_redirect_and_session_cookie_under_the_seal(chromium, tmp_path):
    """The flow secrets are for: the password is posted, the site answers 303 with a session cookie, and the
    account page sees it (and the cookie the page set by script before)."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from .conftest import running

    form = (b"<!doctype html><title>Login</title><form method=post action=/login><label>Password <input "
            b"type=password name=pw></label><button>Log in</button></form><script>document.cookie = 'pref=dark'"
            b"</script>")

    class Site(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _send(self, status: int, body: bytes = b"", **headers) -> None:
            self.send_response(status)
            for name, value in {"Content-Type": "text/html", "Content-Length": str(len(body)), **headers}.items():
                self.send_header(name.replace("_", "-"), value)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            cookies = self.headers.get("Cookie", "")
            seen = b"welcome back" if "sid=s3ss10n" in cookies and "pref=dark" in cookies else b"no session"
            self._send(200, b"<title>Account</title><p>" + seen if self.path == "/account" else form)

        def do_POST(self):
            posted = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self._send(303, Location="/account" if posted == b"pw=" + SECRET.encode() else "/?wrong",
                       Set_Cookie="sid=s3ss10n; HttpOnly; Path=/")

    with running(ThreadingHTTPServer(("127.0.0.1", 0), Site)) as site:
        task = Task(id="login", goal="log in", url=site + "/", steps=['type "{{PIN}}" into "Password"',
                                                                       'click "Log in"', "done"],
                    checks=[{"text": "welcome back"}])
        config = settings(tmp_path)
        config.secrets = Secrets({"PIN": SECRET})
        result = run_task(task, config, chromium=chromium)
    assert result.status == "success", result.end.reason
    assert result.end.final_url == site + "/account", "the address is where the redirect landed"


def test_registrable_domains():
    assert site_of("login.shop.example.co.uk") == "example.co.uk"
    assert site_of("a.b.github.io") == "b.github.io"  # a private suffix: one user's pages are not another's
    assert [site_of(h) for h in ("127.0.0.1", "[::1]", "localhost", "EXAMPLE.com.")] == [
        "127.0.0.1", "::1", "localhost", "example.com"]
    assert within("cdn.example.com", ["example.com"]) and not within("badexample.com", ["example.com"])
