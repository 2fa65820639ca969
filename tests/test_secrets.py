"""Secrets reach the page and nothing else: not the trace, the screenshots, the report, the log or a model."""

import base64
import io
import re
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from PIL import Image

from molmo_agent.trace import read_trace

from .conftest import cli, running

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


def test_with_an_allow_list_no_request_carries_a_secret_to_another_host(tmp_path, pages_url):
    reached = []

    class Outside(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            reached.append(f"{self.command} {self.path} {body.decode()}")
            self.send_response(204)
            self.end_headers()

        do_POST = do_GET

    with running(ThreadingHTTPServer(("127.0.0.1", 0), Outside)) as outside:
        to = outside.replace("127.0.0.1", "localhost")  # another host as far as the allow-list is concerned
        done = cli("run", 'type "{{PIN}}" into "PIN", click "Continue", wait 1, done', "--url",
                   f"{pages_url}/exfiltrate.html?to={to}", "--pointer", "dom", "--secret", f"PIN={PIN}",
                   "--allow-domain", "127.0.0.1", "--out", str(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert [r.split()[1] for r in reached] == ["/harmless"], "only the request without the secret went out"
    [run_dir] = tmp_path.iterdir()
    events = [e for s in read_trace(run_dir).steps for e in s.outcome.events]
    assert sum(e == "blocked a request carrying a secret to localhost" for e in events) == 3, events
